"""Feed a generated Scenario to the real target and check issue 11's invariants.

The driver writes one input line at a time and waits until the target has
handled it and blocks reading the next (``TargetProcess.wait_idle``).  A STATE
line the target printed meanwhile is then read from its stdout pipe (the bytes
are already there: the SDK flushes each state) and S3 is listed at once: the
target is idle, so the bucket is as it was when the state was printed.  The
wait is on the target's own condition (its input pipe empty, its main thread in
the kernel's pipe read), not on time, so the same scenario gives the same
observations however loaded the machine is.

Each invariant is its own function with its own ``assert`` lines, so hypothesis
tells the faults apart (it groups failures by where they are raised).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import io
import itertools
import json
import os
import re
import termios
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.s3_listing import decode_object
from tests.test_reliability.singer_lines import TargetProcess
from tests.test_target.conftest import as_exported, bytes_stdout, invoke_in_process
from tests.test_target.singer_streams import FINDINGS, Scenario, Step, canonical

BATCH_FILE_RECORDS = 2
# A key segment whose every ``%`` starts a whole escape.
WHOLE_ESCAPES = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")


@dataclass(frozen=True)
class StatePrint:
    """A state line the target printed, and what S3 held at that moment."""

    consumed: int  # input lines handled when it was printed
    text: str
    stored: frozenset[str]  # canonical records in S3 at that moment


@dataclass
class Bucket:
    """Decoded objects of one bucket, each version fetched once (by its ETag)."""

    client: Any
    name: str
    cache: dict[tuple[str, str], tuple[bytes, list[dict[str, Any]]]] = field(default_factory=dict)

    def fetch(self, key: str, etag: str, version_id: str | None = None) -> list[dict[str, Any]]:
        """The records of one object version."""
        if (key, etag) not in self.cache:
            extra = {"VersionId": version_id} if version_id else {}
            body = self.client.get_object(Bucket=self.name, Key=key, **extra)["Body"].read()
            self.cache[key, etag] = (body, decode_object(key, body))
        return self.cache[key, etag][1]

    def body(self, key: str, etag: str) -> bytes:
        """The raw bytes of a version already fetched."""
        return self.cache[key, etag][0]

    def latest(self) -> dict[str, tuple[str, list[dict[str, Any]]]]:
        """Every key's current ETag and records."""
        out = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name):
            for entry in page.get("Contents", []):
                out[entry["Key"]] = (entry["ETag"], self.fetch(entry["Key"], entry["ETag"]))
        return out

    def history(self) -> tuple[dict[str, str], dict[str, list[list[dict[str, Any]]]]]:
        """Every key's latest ETag, and its versions' records, oldest first (S3 lists a
        key's newest version first): one listing for both at the end of a run."""
        latest: dict[str, str] = {}
        out: dict[str, list[list[dict[str, Any]]]] = {}
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.name):
            for entry in page.get("Versions", []):
                records = self.fetch(entry["Key"], entry["ETag"], entry["VersionId"])
                out.setdefault(entry["Key"], []).insert(0, records)
                if entry["IsLatest"]:
                    latest[entry["Key"]] = entry["ETag"]
        return latest, out

    def finished(self, returncode: int, stderr: str, prints: list[StatePrint]) -> Run:
        """What a run left in the bucket: its latest objects and every version."""
        latest, history = self.history()
        return Run(
            returncode=returncode,
            stderr=stderr,
            prints=prints,
            objects={key: self.cache[key, etag][1] for key, etag in latest.items()},
            bodies={key: self.body(key, etag) for key, etag in latest.items()},
            history=history,
        )

    def stored(self) -> frozenset[str]:
        """Every record in the bucket now, canonically encoded."""
        return frozenset(
            canonical(record) for _, records in self.latest().values() for record in records
        )


@dataclass
class Run:
    """What the target did with one scenario."""

    returncode: int
    stderr: str
    prints: list[StatePrint]
    objects: dict[str, list[dict[str, Any]]]  # key -> records, latest versions
    bodies: dict[str, bytes]
    history: dict[str, list[list[dict[str, Any]]]]


def input_line(step: Step, index: int, workdir: Path) -> bytes:
    """The Singer line of a step; a BATCH step's file is written here first."""
    message = step.message
    if step.batch_records is not None:
        gzipped = step.batch_compression == "gzip"
        manifest = []
        # Files of up to BATCH_FILE_RECORDS records: a manifest may list several.
        for start in range(0, len(step.batch_records), BATCH_FILE_RECORDS):
            chunk = step.batch_records[start : start + BATCH_FILE_RECORDS]
            path = workdir / f"batch-{index}-{start}.json{'.gz' if gzipped else ''}"
            text = "".join(json.dumps(record) + "\n" for record in chunk).encode()
            path.write_bytes(gzip.compress(text) if gzipped else text)
            manifest.append(path.as_uri())
        message = {
            **message,
            "encoding": {"format": "jsonl", "compression": step.batch_compression},
            "manifest": manifest,
        }
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"


def _available(fd: int) -> bytes:
    """What is in a pipe right now, without blocking."""
    pending = int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")
    return os.read(fd, pending) if pending else b""


class SteppedInput(io.RawIOBase):
    """The target's stdin in this process: one line at a time, like the pipe ``drive_process``
    writes.  When the target asks for a line after the last one it was given, it has handled
    that one and would block reading a pipe: ``idle(consumed)`` observes it then."""

    def __init__(self, lines: list[bytes], idle: Callable[[int], None]) -> None:
        super().__init__()
        self.lines = lines
        self.idle = idle
        self.consumed = 0  # lines handed over whole
        self.rest = b""  # of the line being read

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> bytes:
        if not self.rest:
            if self.consumed:
                self.idle(self.consumed)
            if self.consumed == len(self.lines):
                return b""
            self.rest = self.lines[self.consumed]
            self.consumed += 1
        size = len(self.rest) if size is None or size < 0 else size
        data, self.rest = self.rest[:size], self.rest[size:]
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.readline(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def drive(scenario: Scenario, config: dict[str, Any], bucket: Bucket, workdir: Path) -> Run:
    """Run the target's command line in this process on the scenario, line by line,
    recording each state it prints and what S3 held then (``SteppedInput``).

    The same observations as ``drive_process`` for about a fifth of its CPU (no start-up):
    the target reads the next line exactly when a process would block on its pipe.
    """
    lines = [input_line(step, index, workdir) for index, step in enumerate(scenario.steps)]
    config_path = workdir / "target.json"
    config_path.write_text(json.dumps({**config, **scenario.config}))
    stdout = bytes_stdout()
    printed = stdout.buffer
    assert isinstance(printed, io.BytesIO)
    prints: list[StatePrint] = []
    pending = b""
    read = 0

    def collect(consumed: int) -> None:
        nonlocal pending, read
        data = printed.getvalue()
        pending += data[read:]
        read = len(data)
        *complete, pending = pending.split(b"\n")
        stored = bucket.stored() if any(line.strip() for line in complete) else frozenset()
        prints.extend(
            StatePrint(consumed, line.decode(), stored) for line in complete if line.strip()
        )

    stdin = io.TextIOWrapper(
        io.BufferedReader(SteppedInput(lines, collect)),
        encoding="utf-8",
    )
    code, stderr = invoke_in_process(["--config", str(config_path)], stdin, stdout)
    collect(len(lines))
    return bucket.finished(code, stderr, prints)


def drive_process(scenario: Scenario, config: dict[str, Any], bucket: Bucket, workdir: Path) -> Run:
    """Run the target as a process on the scenario, fed line by line through a pipe,
    recording each state it prints (what ``drive`` does in this process)."""
    lines = [input_line(step, index, workdir) for index, step in enumerate(scenario.steps)]
    target = TargetProcess({**config, **scenario.config}, workdir)
    assert target.process.stdout is not None
    out_fd = target.process.stdout.fileno()
    prints: list[StatePrint] = []
    pending = b""

    def collect(consumed: int, data: bytes) -> None:
        nonlocal pending
        pending += data
        *complete, pending = pending.split(b"\n")
        stored = bucket.stored() if any(line.strip() for line in complete) else frozenset()
        prints.extend(
            StatePrint(consumed, line.decode(), stored) for line in complete if line.strip()
        )

    for consumed, line in enumerate(lines, start=1):
        try:
            target.send(line)
        except BrokenPipeError:
            break  # the target stopped: its exit code and stderr say why
        target.wait_idle()
        collect(consumed, _available(out_fd))
        if target.process.poll() is not None:
            break
    assert target.process.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        target.process.stdin.close()
    rest = target.process.stdout.read()
    code = target.process.wait(timeout=120)
    collect(len(lines), rest)
    return bucket.finished(code, target.stderr(), prints)


# The invariants.


def _shown(record: dict[str, Any]) -> str:
    """A record for an error message: its id, else its start."""
    for name in ("uuid", "id"):
        if name in record:
            return f"{name}={record[name]!r}"
    return json.dumps(record)[:200]


def check_clean_exit(run: Run) -> None:
    """No traceback on stderr, exit code 0."""
    tail = "\n".join(run.stderr.splitlines()[-3:])
    assert "Traceback" not in run.stderr, f"traceback on stderr, ending: {tail}"
    assert run.returncode == 0, f"exit code {run.returncode}, stderr ending: {tail}"


def check_every_record_stored(scenario: Scenario, run: Run) -> None:
    """Every record received is in S3 exactly as sent (at least once), less the tap's signal.

    ``scan_context.last`` is the tap's signal to the target, never exported.

    Only for a run that ended well: one that stopped is ``check_clean_exit``'s
    failure, and what it had not written is covered by no state (``check_states``).
    """
    if run.returncode != 0:
        return
    stored = Counter(canonical(record) for records in run.objects.values() for record in records)
    for step in scenario.steps:
        for record in step.records:
            assert stored[canonical(as_exported(record))] >= 1, (
                f"a record of stream {step.message['stream']!r} sent in a "
                f"{step.message['type']} message is not in S3 as sent: {_shown(record)}"
            )


def check_scans_whole(scenario: Scenario, run: Run) -> None:
    """One object per scan, holding every finding of that scan sent (runs that ended well)."""
    if run.returncode != 0:
        return
    for scan_uuid, findings in scenario.scans.items():
        uuids = {finding["uuid"] for finding in findings}
        keys = [
            key
            for key, records in run.objects.items()
            if any(record.get("uuid") in uuids for record in records)
        ]
        if not keys:
            continue  # lost altogether: check_every_record_stored says so
        assert len(keys) == 1, f"scan {scan_uuid}'s findings are in {len(keys)} objects: {keys}"
        held = {canonical(record) for record in run.objects[keys[0]]}
        missing = [f["uuid"] for f in findings if canonical(as_exported(f)) not in held]
        assert not missing, (
            f"scan {scan_uuid}'s object {keys[0]} lacks {len(missing)} of its "
            f"{len(findings)} findings: {missing}"
        )
        assert scan_uuid in keys[0].rsplit("/", 1)[-1], keys[0]


def check_states(scenario: Scenario, run: Run) -> None:
    """Each state printed is one received, printed once its records were in S3."""
    sent = [
        (index, canonical(step.message["value"]))
        for index, step in enumerate(scenario.steps)
        if step.message["type"] == "STATE"
    ]
    for printed in run.prints:
        value = canonical(json.loads(printed.text))
        received = [index for index, text in sent if text == value and index < printed.consumed]
        assert received, (
            f"printed state {printed.text[:200]} equals no STATE received before it: "
            f"{[text[:100] for _, text in sent]}"
        )
        missing = [
            f"{step.message['type']} {_shown(record)}"
            for step in scenario.steps[: received[0]]
            for record in step.records
            if canonical(as_exported(record)) not in printed.stored
        ]
        assert not missing, (
            f"state {printed.text[:200]} was printed before {len(missing)} records received "
            f"before it were in S3: {missing[:3]}"
        )


def check_last_state(scenario: Scenario, run: Run) -> None:
    """A run that ends well prints, last, the last STATE it received (any JSON value)."""
    sent = [step.message["value"] for step in scenario.steps if step.message["type"] == "STATE"]
    if not sent or run.returncode != 0:
        return
    last = run.prints[-1].text if run.prints else None
    expected = json.dumps(sent[-1])
    assert last is not None, f"no state printed; the last received was {expected}"
    assert canonical(json.loads(last)) == canonical(sent[-1]), f"printed {last}, not {expected}"


def check_no_key_shrinks(run: Run) -> None:
    """A key is never overwritten with fewer records, or without ones it held."""
    for key, versions in run.history.items():
        for older, newer in itertools.pairwise(versions):
            assert len(newer) >= len(older), (
                f"{key} went from {len(older)} to {len(newer)} records: {len(versions)} versions"
            )
            kept = Counter(canonical(record) for record in newer)
            lost = [_shown(r) for r in older if not kept[canonical(r)]]
            assert not lost, f"{key} was overwritten without {len(lost)} records: {lost[:2]}"


def _inner_names(key: str, body: bytes) -> list[str]:
    """The names written inside an object: zip members, the gzip header's file name."""
    if key.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return archive.namelist()
    if key.endswith(".gz") and body[3] & 0x08:  # FNAME flag
        end = body.index(b"\0", 10)
        return [body[10:end].decode("latin-1")]
    return []


def check_names_safe(run: Run) -> None:
    """Every key segment and inner name is safe and decodes (percent-escapes whole)."""
    for key, body in run.bodies.items():
        for segment in key.split("/"):
            assert segment not in {"", ".", ".."}, key
            assert segment.isprintable(), repr(key)
            assert len(segment) <= 200, key
            assert WHOLE_ESCAPES.fullmatch(segment), f"a cut percent-escape in {key}"
            try:
                unquote(segment, errors="strict")
            except UnicodeDecodeError:
                raise AssertionError(f"key segment {segment!r} does not decode as UTF-8") from None
        for name in _inner_names(key, body):
            assert "/" not in name, f"{key} holds a member named {name!r}"
            assert "\\" not in name, f"{key} holds a member named {name!r}"
            assert name.isprintable(), f"{key} holds a member named {name!r}"
            assert not name.startswith("."), f"{key} holds a member named {name!r}"


def _owner(scenario_records: dict[str, str], record: dict[str, Any]) -> tuple[Any, ...]:
    """The names a record's folder is made from: its scan's, or its stream and namespace."""
    context = record.get("scan_context")
    stream = scenario_records.get(canonical(record))
    if stream == FINDINGS and isinstance(context, dict):
        return tuple(
            str(context.get(name))
            for name in ("namespace", "project_uuid", "project_name", "scan_type", "ref")
        )
    namespace = (record.get("tenant_meta") or {}).get("namespace")
    return (stream, namespace)


def check_names_distinct(scenario: Scenario, run: Run) -> None:
    """Distinct names never share a folder: what sanitising folds together stays apart."""
    streams = {
        canonical(as_exported(record)): step.message["stream"]
        for step in scenario.steps
        for record in step.records
    }
    scan_keys = {key for key in run.objects if any(scan in key for scan in scenario.scans)}
    folders: dict[str, set[tuple[Any, ...]]] = {}
    for key, records in run.objects.items():
        parts = key.split("/")
        folder = "/".join(parts[:-1] if key in scan_keys else parts[:-4])
        folders.setdefault(folder, set()).update(_owner(streams, r) for r in records)
    for folder, owners in folders.items():
        # The fallback folder is per stream: records of any namespace share it.
        fallback = "_unpartitioned" in folder.split("/")
        names = sorted({owner[:1] if fallback else owner for owner in owners}, key=repr)
        assert len(names) == 1, f"distinct names share the folder {folder}: {names}"


INVARIANTS = {
    "clean_exit": lambda scenario, run: check_clean_exit(run),
    "every_record_stored": check_every_record_stored,
    "scans_whole": check_scans_whole,
    "states": check_states,
    "last_state": check_last_state,
    "no_key_shrinks": lambda scenario, run: check_no_key_shrinks(run),
    "names_safe": lambda scenario, run: check_names_safe(run),
    "names_distinct": check_names_distinct,
}
