"""What one run of the target wrote: a summary table at the end, and an optional manifest.

Every object the sinks upload is counted per stream and namespace (objects,
records, bytes): the summary observes the run's one upload path
(``run.RunContext.on_object_written``), so both layouts' objects are counted.
Under ``layout: security-lake`` the namespace column holds the Security Lake
source.  At the end of the input the target logs the table and the
state it handed back, so the operator sees what a run did without listing the
bucket.  With ``run_manifest: true`` it also writes a small JSON object listing
every key written in the run, for downstream loaders that read manifests; it
goes up before the final state, so a state is never handed back for a run
whose manifest is missing.  Where it goes depends on the layout: under the
Endor root's ``_manifests/``, or, for Security Lake, one per source written
under ``ext/<source>/_manifests/``, where that source's provider role may write.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

import msgspec

from target_s3_endor import naming
from target_s3_endor.input.state_text import state_text

if TYPE_CHECKING:
    from target_s3_endor.storage.written import ObjectWritten

#: ``put(key, body, content_type) -> uri``: how the manifest reaches S3.
Put = Callable[[str, IO[bytes], str], str]
#: key -> the folder its run manifest goes in.
ManifestFolder = Callable[[str], str]


@dataclass
class Written:
    """Objects, records and bytes written for one stream in one namespace."""

    objects: int = 0
    records: int = 0
    bytes: int = 0


@dataclass
class RunSummary:
    """Counts of one run, by (stream, namespace), and every key written."""

    root: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: key -> (stream, namespace, records, bytes); a scan's object rewritten counts once.
    objects: dict[str, tuple[str, str, int, int]] = field(default_factory=dict)
    #: The last state written to stdout, if any.
    state: dict[str, Any] | None = None
    #: The manifests written (none until the end of the run).
    manifest_keys: list[str] = field(default_factory=list)
    manifests_written: bool = False

    def wrote(self, written: ObjectWritten) -> None:
        """Count one uploaded object (the latest upload of a key replaces earlier ones)."""
        self.objects[written.key] = (
            written.stream,
            written.partition,
            written.records,
            written.bytes,
        )

    @property
    def keys(self) -> list[str]:
        """Every key written in the run, in the order first written."""
        return list(self.objects)

    @property
    def rows(self) -> dict[tuple[str, str], Written]:
        """Objects, records and bytes by (stream, namespace)."""
        rows: dict[tuple[str, str], Written] = {}
        for stream, namespace, records, size in self.objects.values():
            row = rows.setdefault((stream, namespace), Written())
            row.objects += 1
            row.records += records
            row.bytes += size
        return rows

    def table(self) -> list[str]:
        """The summary as aligned lines: one per stream and namespace, then the total."""
        header = ("stream", "namespace", "objects", "records", "bytes")
        by_place = self.rows
        rows = [
            (
                naming.shown_name(stream),
                naming.shown_name(namespace),
                str(w.objects),
                str(w.records),
                str(w.bytes),
            )
            for (stream, namespace), w in sorted(by_place.items())
        ]
        total = Written(
            sum(w.objects for w in by_place.values()),
            sum(w.records for w in by_place.values()),
            sum(w.bytes for w in by_place.values()),
        )
        rows.append(("total", "", str(total.objects), str(total.records), str(total.bytes)))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            left = [cells[i].ljust(widths[i]) for i in (0, 1)]
            right = [cells[i].rjust(widths[i]) for i in (2, 3, 4)]
            return "  ".join(left + right).rstrip()

        return [line(header), *(line(row) for row in rows)]

    def log(self, logger: logging.Logger) -> None:
        """Log the table, the manifest written (if any) and the state handed back."""
        logger.info("Run summary (what this run wrote to S3):")
        for text in self.table():
            logger.info("  %s", text)
        for key in self.manifest_keys:
            logger.info("Run manifest: %s", key)
        state = "none" if self.state is None else state_text(self.state)
        logger.info("State handed back: %s", state)

    def manifest(self, state: dict[str, Any] | None, keys: list[str] | None = None) -> bytes:
        """The manifest document: the run, its keys and counts, and the state it ends with."""
        listed = self.keys if keys is None else keys
        document = {
            "run_id": self.run_id,
            "started": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "objects": len(listed),
            "records": sum(self.objects[key][2] for key in listed),
            "keys": listed,
            # The state's own text: a tap's state may hold numbers json cannot write back.
            "state": msgspec.Raw(state_text(state).encode()) if state is not None else None,
        }
        return msgspec.json.format(msgspec.json.encode(document), indent=1)

    def write_manifests(
        self,
        put: Put,
        state: dict[str, Any] | None,
        folder_of: ManifestFolder,
        default_folder: str | None,
    ) -> list[str]:
        """Upload one manifest per folder the layout puts the run's keys' manifests in.

        ``default_folder`` takes the manifest of a run that wrote nothing (None:
        no manifest then).  Returns the manifests' keys.
        """
        by_folder: dict[str, list[str]] = {}
        for key in self.keys:
            by_folder.setdefault(folder_of(key), []).append(key)
        if not by_folder and default_folder is not None:
            by_folder[default_folder] = []
        name = f"{naming.compact_time(self.started)}_{self.run_id}.json"
        for folder, listed in by_folder.items():
            key = naming.join_key(folder, name)
            put(key, io.BytesIO(self.manifest(state, listed)), "application/json")
            self.manifest_keys.append(key)
        self.manifests_written = True
        return self.manifest_keys
