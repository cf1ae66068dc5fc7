"""An error line is one line, and shows the value the user gave as it was given.

The fold that keeps an error on one line collapsed every run of whitespace, so
``bucket: "a  b"`` was reported as ``'a b'``, a value nobody wrote.  Now only
line breaks and tabs fold; a value is quoted with ``repr``, so a line break or
tab inside it shows as ``\\n`` / ``\\t``.  Every place that folds is checked:
``connector_common.lines.one_line`` (both plugins' command lines, the tap's API
error text) and the three folds that were written out by hand (the tap's retry
description, the target's S3 error text and its stop-by-signal line now call it).
In-process: no subprocess, no server.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from connector_common.lines import LINE_BREAKS, one_line
from connector_common.settings_hints import warning_text
from tap_endorlabs.api import Subject, _client_error_text
from tap_endorlabs.retry import describe
from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.storage.transport import _short
from target_s3_endor.target import TargetS3Endor
from tests.support.in_process_cli import run_cli_in_process

# Every kind of whitespace, and text around it.
TEXT = st.text(alphabet=st.sampled_from([*" \t\n\r\x0b\x0c\x1c\x85\u2028\u00a0", "a", "'"]))


@given(before=TEXT, value=st.text(), after=TEXT)
def test_a_quoted_value_comes_through_the_fold_unchanged(
    before: str, value: str, after: str
) -> None:
    line = one_line(f"{before}bucket {value!r} is not a bucket{after}")
    assert f"bucket {value!r} is not a bucket" in line
    assert not set(line) & set(LINE_BREAKS)
    assert len(line.splitlines()) <= 1


@given(TEXT)
def test_only_line_breaks_and_tabs_fold(text: str) -> None:
    line = one_line(text)
    assert not set(line) & set(LINE_BREAKS)
    if not set(text) & set(LINE_BREAKS):
        assert line == text.strip()  # spaces (and no-break spaces) between words are kept


def test_the_folds_written_by_hand_now_keep_spaces_too() -> None:
    error = ValueError("bucket 'a  b'\n  is wrong")
    assert describe(error) == "ValueError: bucket 'a  b' is wrong"  # the tap's retry text
    assert _short(error) == "bucket 'a  b' is wrong"  # the target's S3 error text


def test_tap_values_in_error_lines_are_quoted_as_given() -> None:
    text = _client_error_text(Subject("audit_logs", "acme\tplatform  x"), 404, "not found")
    assert "Namespace 'acme\\tplatform  x' was not found" in one_line(text)
    assert "Unknown setting 'namspace\\n' is ignored" in warning_text("namspace\n", "namespace")


def _error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if "ERROR" in line or "error:" in line]


def test_the_targets_error_line_shows_the_bucket_as_given(tmp_path: Path) -> None:
    for bucket, shown in (("a  b", "'a  b'"), ("a\tb\n", "'a\\tb\\n'")):
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"bucket": bucket}))
        run = run_cli_in_process(TargetS3Endor, ["--config", str(config)], b"")
        assert run.returncode == 1
        [line] = _error_lines(run.stderr)
        assert f"bucket {shown} is not an S3 bucket name" in line


def test_the_taps_error_line_shows_the_start_date_as_given(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    settings = {"namespace": "acme", "token": "t", "start_date": "2025-01-01  00:00\t"}
    config.write_text(json.dumps(settings))
    run = run_cli_in_process(TapEndorLabs, ["--config", str(config)], b"")
    assert run.returncode == 1
    [line] = _error_lines(run.stderr)
    assert "start_date '2025-01-01  00:00\\t' is not a date" in line
