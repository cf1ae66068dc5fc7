"""Every name the target writes is safe, decodable and distinct: invariants over any text.

Pure functions only (naming.py, layouts/endor.py, the member names of encoding.py, containers.py's
guard), so hypothesis runs thousands of names in well under a second.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tap_endorlabs.streams import STREAM_TYPES
from target_s3_endor import naming
from target_s3_endor.formats.containers import check_member_name, open_member
from target_s3_endor.formats.encoding import ObjectFormat
from target_s3_endor.layouts import endor
from target_s3_endor.probe import probe_keys
from target_s3_endor.settings.model import TargetSettings

# Any text without lone surrogates: ASCII, controls, unicode, emoji.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
# Few characters, several of which sanitising folds together: pairs that fold
# alike are common, which is what injectivity has to survive.
FOLDING_TEXT = st.text(st.sampled_from("ab./:-_ %~é\x00\n🚀"), max_size=12)
# Long names (up to ~10 kB) built by repeating a piece.
LONG_TEXT = st.builds(
    lambda piece, times: piece * times, ANY_TEXT.filter(bool), st.integers(1, 600)
)
NAMES = st.one_of(ANY_TEXT, FOLDING_TEXT, LONG_TEXT)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = ["../../x", "..", ".", "/", "a/../../b", "C:\\evil", "x\x00y\n", "名前-🚀", "%2e%2e", "~"]
ROOT = "endor/0b5e2f6a-1b3c-5d7e-8f90-a1b2c3d4e5f6-prod"


def assert_safe_ascii_segment(segment: str, limit: int = naming.MAX_SEGMENT_LENGTH) -> None:
    assert segment, "empty segment"
    assert len(segment) <= limit, (len(segment), segment)
    assert segment.isascii() and segment.isprintable(), repr(segment)
    assert "/" not in segment and "\\" not in segment
    assert segment not in {".", ".."}


def decodes(segment: str) -> str:
    """The segment url-decoded, failing on a broken escape or a split UTF-8 character."""
    return unquote_to_bytes(segment).decode("utf-8")  # raises on a character cut in half


@FAST
@given(NAMES)
@example("_unpartitioned")
@example("x" * 88 + "--0123456789")
def test_segments_are_safe_short_and_ascii(name: str) -> None:
    segment = naming.safe_segment(name)
    assert_safe_ascii_segment(segment)
    assert ".." not in segment and "%" not in segment
    assert decodes(segment) == segment


@FAST
@given(NAMES)
def test_safe_names_are_kept_as_they_are(name: str) -> None:
    if naming.is_kept_as_is(name):
        assert naming.safe_segment(name) == name
    else:
        assert naming.safe_segment(name).endswith(naming.short_hash(name))


@FAST
@given(NAMES, NAMES)
@example("acme/repo", "acme:repo")
@example("x" * 300 + "a", "x" * 300 + "b")
@example("acme-repo", "acme/repo")
def test_distinct_names_get_distinct_segments(one: str, two: str) -> None:
    if one != two:
        assert naming.safe_segment(one) != naming.safe_segment(two)
        assert naming.ref_segment(one) != naming.ref_segment(two) or {one, two} <= {"", "_none"}
        assert naming.member_file_name(one, ".json") != naming.member_file_name(two, ".json")


@FAST
@given(NAMES)
@example("a" * 99 + "é")  # the escape of é straddled the old cut
@example("漢" * 40)
@example("../..")
def test_refs_decode_to_whole_characters_and_round_trip_when_short(ref: str) -> None:
    segment = naming.ref_segment(ref)
    assert_safe_ascii_segment(segment)
    assert ".." not in segment
    decoded = decodes(segment)
    if len(naming.percent_encode(ref or "_none")) <= naming.MAX_SEGMENT_LENGTH and not (
        segment.endswith(naming.short_hash(ref or "_none"))
    ):
        assert decoded == (ref or "_none")
    else:
        stem, _, digest = decoded.rpartition(naming.HASH_MARK)
        assert digest == naming.short_hash(ref or "_none")
        assert (ref or "_none").startswith("" if stem == "_" else stem)


@FAST
@given(
    st.lists(NAMES, min_size=5, max_size=5),
    st.sampled_from(["audit_logs", "findings", "../x", "users"]),
)
def test_whole_keys_fit_s3_and_decode(names: list[str], stream: str) -> None:
    namespace, project_uuid, project_name, ref, scan_uuid = names
    record = {
        "scan_context": {
            "scan_uuid": scan_uuid or "s",
            "scan_time": "2025-01-02T03:04:05Z",
            "scan_type": "schedule",
            "ref": ref or "r",
            "project_uuid": project_uuid or "p",
            "project_name": project_name,
            "namespace": namespace or "n",
        }
    }
    root = "r" * (endor.MAX_ROOT_BYTES - 1) if len(names[0]) % 2 else ROOT
    place = endor.scan_place(record, root)
    assert place is not None
    batch_id = f"{'f' * 16}-{10**15 - 1}"  # a run id, the longest sequence planned for
    assert len(batch_id) == endor.MAX_BATCH_ID_LENGTH
    longest = endor.continuation_stem(place.key_stem, batch_id) + ".sarif.gz"
    assert len(longest.encode()) <= endor.MAX_KEY_BYTES
    *folders, file_name = longest[len(root) + 1 :].split("/")
    for segment in folders:
        assert_safe_ascii_segment(segment)
        decodes(segment)
    assert_safe_ascii_segment(
        file_name, limit=17 + 80 + 1 + endor.MAX_BATCH_ID_LENGTH + endor.MAX_EXTENSION_LENGTH
    )
    folder = endor.day_folder(root, namespace or None, stream, (2025, 1, 2))
    assert len(folder.encode()) + 60 <= endor.MAX_KEY_BYTES


def test_project_uuids_keep_projects_apart_and_endor_layout_stays_exact() -> None:
    assert endor.project_segment("6efgh", "pythonrepo") == "6efgh-pythonrepo"
    assert endor.project_segment("proj-1", "https://github.com/acme/python-repo.git") == (
        "proj-1-github.com-acme-python-repo"
    )
    long = endor.project_segment("a" * 36, "https://github.com/" + "x" * 200)
    assert len(long) == naming.MAX_SEGMENT_LENGTH


# Endor Labs' project uuids are 24 hex digits; canonical uuids have a fixed shape.
# Within one shape the uuid ends where the name starts, so distinct uuids keep
# projects apart; uuids of free shape with dashes could meet (the README says so).
HEX_UUID = st.text("0123456789abcdef", min_size=1, max_size=30)
UUID_PAIRS = st.one_of(st.tuples(HEX_UUID, HEX_UUID), st.tuples(st.uuids(), st.uuids()))


@FAST
@given(UUID_PAIRS, NAMES, NAMES)
def test_distinct_project_uuids_get_distinct_project_segments(
    uuids: tuple[object, object], name_one: str, name_two: str
) -> None:
    uuid_one, uuid_two = (str(u) for u in uuids)
    one = endor.project_segment(uuid_one, name_one)
    assert_safe_ascii_segment(one)
    if uuid_one != uuid_two:
        assert one != endor.project_segment(uuid_two, name_two)


@FAST
@given(FOLDING_TEXT, FOLDING_TEXT)
def test_folders_the_target_names_itself_are_never_shared(namespace: str, stream: str) -> None:
    assert endor.namespace_segment(namespace) not in endor.RESERVED_NAMESPACES
    if stream not in naming.STREAM_FOLDERS:
        assert naming.stream_folder(stream) not in naming.RESERVED_STREAM_FOLDERS
    for folder in (endor.UNPARTITIONED, naming.MANIFEST_FOLDER, naming.PROOF_FOLDER):
        assert endor.namespace_segment(folder) != folder
    assert naming.stream_folder("audit-logs") != naming.stream_folder("audit_logs")


def test_the_probe_writes_in_the_folder_namespaces_cannot_take() -> None:
    settings = TargetSettings.from_config({"bucket": "b"})
    [key] = probe_keys(settings, datetime(2025, 1, 1, tzinfo=UTC))
    assert key.startswith(endor.exporter_root(settings) + "/")
    assert f"/{naming.CONNECTION_TEST_FOLDER}/" in key


def _zip_with_member(name: str) -> bytes:
    out = io.BytesIO()
    member = open_member(out, "zip", name, datetime(2025, 1, 2, tzinfo=UTC), 1)
    member.write(b"[]")
    member.close()
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(stream=NAMES, fmt=st.sampled_from(["json", "jsonl"]))
def test_member_names_extract_inside_the_folder(
    stream: str, fmt: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    name = ObjectFormat(fmt, "zip").member_name(stream)
    assert check_member_name(name) == name and name.isascii()
    folder = tmp_path_factory.mktemp("unzip")
    with zipfile.ZipFile(io.BytesIO(_zip_with_member(name))) as archive:
        archive.extractall(folder)
    [written] = [p for p in folder.rglob("*") if p.is_file()]
    assert written.parent == folder and written.read_bytes() == b"[]"
    gz = io.BytesIO()
    open_member(gz, "gzip", name + ".gz", datetime(2025, 1, 2, tzinfo=UTC), 1).close()
    header_name = gz.getvalue()[10:].split(b"\0", 1)[0].decode("latin-1")
    assert header_name == name


@pytest.mark.parametrize("stream", HOSTILE)
def test_unzip_and_gunzip_restore_hostile_streams_inside_the_folder(
    stream: str, tmp_path: Path
) -> None:
    name = ObjectFormat("json", "zip").member_name(stream)
    (tmp_path / "a.zip").write_bytes(_zip_with_member(name))
    subprocess.run(["unzip", "-q", "a.zip", "-d", "out"], cwd=tmp_path, check=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [name]
    gz = io.BytesIO()
    member = open_member(gz, "gzip", name + ".gz", datetime(2025, 1, 2, tzinfo=UTC), 1)
    member.write(b"[]")
    member.close()
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "object.gz").write_bytes(gz.getvalue())
    subprocess.run(["gzip", "-d", "-N", "object.gz"], cwd=tmp_path / "g", check=True)
    assert [p.name for p in (tmp_path / "g").iterdir()] == [name]
    assert gzip.decompress(gz.getvalue()) == b"[]"


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "C:x", "a\\b", "x\n", ""])
def test_containers_refuse_unsafe_member_names(name: str) -> None:
    with pytest.raises(ValueError, match="unsafe member name"):
        open_member(io.BytesIO(), "zip", name, datetime(2025, 1, 2, tzinfo=UTC), 1)
    with pytest.raises(ValueError, match="unsafe member name"):
        open_member(io.BytesIO(), "gzip", name, datetime(2025, 1, 2, tzinfo=UTC), 1)


def test_every_stream_of_the_tap_has_its_api_resource_as_folder_and_member() -> None:
    """One spelling: the folder (and member) of each tap stream is the API path's resource."""
    for stream in STREAM_TYPES:
        resource = stream.path.rsplit("/", 1)[1]
        assert naming.stream_folder(stream.name) == resource, stream.name
        assert ObjectFormat("jsonl", "zip").member_name(stream.name) == f"{resource}.jsonl"
        assert "_" not in resource


OUR_NAMES = st.sampled_from([*naming.STREAM_FOLDERS, *naming.STREAM_FOLDERS.values()])


@FAST
@given(st.one_of(NAMES, OUR_NAMES), st.one_of(NAMES, OUR_NAMES))
@example("finding_logs", "finding-logs")
@example("scan_results", "scan-results")
def test_no_two_streams_share_a_folder(one: str, two: str) -> None:
    if one != two:
        assert naming.stream_folder(one) != naming.stream_folder(two)
