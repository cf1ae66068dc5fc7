"""A first run from 1970 jumps each stream's empty decades; ``--verify`` still sees no hole.

The stretch the tap jumped (``tap_endorlabs/empty_prefix.py``) is a window the API
counted empty, proven like any other: the bucket's proof tiles each stream's time
line from 1970 on, and ``target-s3-endor --verify`` reports it complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import tap_config, target_config
from tests.test_pipeline.test_proof_pipeline import proofs, run_pipe, verify


def test_a_run_without_start_date_proves_its_jumped_stretch(
    tmp_path: Path, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    config = {**tap_config(pipeline_emulator), "start_date": None}
    (tmp_path / "tap.json").write_text(json.dumps(config))
    (tmp_path / "target.json").write_text(json.dumps(target_config(s3_endpoint, bucket)))
    run_pipe(tmp_path)
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for window in sorted(proofs(s3_client, bucket), key=lambda w: w["window_start"] or ""):
        if window["window_start"] is not None:
            first.setdefault((window["stream"], window["namespace"]), window)
    jumped = [w for w in first.values() if w["window_start"] == "1970-01-01T00:00:00Z"]
    assert len(jumped) == len(first) >= 5 * 3  # every walked stream, in each of 3 namespaces
    assert all(w["api_count"] == 0 and w["window_end"] > "2000" for w in jumped)
    passed = verify(tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr[-2000:]
    assert "HOLE" not in passed.stdout
    assert "verify: complete" in passed.stdout
