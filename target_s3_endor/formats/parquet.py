"""OCSF events as Parquet objects that meet Amazon Security Lake's custom-source rules.

The rules (https://docs.aws.amazon.com/security-lake/latest/userguide/custom-sources.html,
"Best practices for ingesting custom sources"):

* each object is an Apache Parquet file (versions 1.x and 2.x are read) holding
  one OCSF event class: a ``ParquetObject`` has one class's Arrow schema;
* data pages at most 1 MB uncompressed: ``data_page_size`` is 1 MiB, and pages
  are checked every ``WRITE_BATCH_ROWS`` values so one page cannot run far past it;
* row groups at most 256 MB compressed: a row group ends at ``ROW_GROUP_ROWS``
  rows or ``ROW_GROUP_JSON_BYTES`` of events, far below 256 MB even uncompressed;
* zstandard compression is preferred: every column is zstd;
* records within an object ordered by time: see below.

Memory stays bounded: events spool to a temporary file as JSON lines, and only
their times and offsets stay in memory (16 bytes a record, about 40 more while
the order is sorted at upload, so the batch limit ``batch_max_records`` bounds
it).  At upload the offsets are sorted by time and the events read back in that
order one row group at a time, so every object is sorted by ``time``
throughout, and at most one row group is in memory.
"Sorted" means within each object: two objects of one day may overlap in time
when their records arrived in different batches.
"""

from __future__ import annotations

import io
from array import array
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from target_s3_endor.errors import SettingsError
from target_s3_endor.formats.encoding import encode_record
from target_s3_endor.formats.ocsf import (
    API_ACTIVITY,
    AUTHENTICATION,
    DETECTION_FINDING,
    VULNERABILITY_FINDING,
)
from target_s3_endor.json_text import has_surrogate_escape, without_lone_surrogates
from target_s3_endor.temp_files import temporary_file

if TYPE_CHECKING:
    import pyarrow as pa

MIB = 1 << 20
DATA_PAGE_BYTES = 1 * MIB
WRITE_BATCH_ROWS = 64
ROW_GROUP_ROWS = 50_000
# Row groups far below the 256 MB limit keep the memory a row group costs small
# (its JSON, its Arrow columns and its pages, about three times this).
ROW_GROUP_JSON_BYTES = 16 * MIB
ZSTD_LEVEL = 3
CONTENT_TYPE = "application/vnd.apache.parquet"
MISSING_PYARROW = (
    "layout: security-lake writes Parquet and needs pyarrow: "
    "pip install 'endorlabs-s3-export[security-lake]'"
)


def require_pyarrow() -> None:
    """Fail at start, in one line, when the optional ``security-lake`` extra is missing."""
    try:
        import pyarrow.parquet  # noqa: F401, PLC0415 - optional dependency
    except ImportError:
        raise SettingsError(MISSING_PYARROW) from None


def arrow_schema(class_uid: int) -> pa.Schema:
    """The Parquet columns of one OCSF class: what ``ocsf.py`` maps, plus ``raw_data``.

    The Endor Labs object is kept as JSON text in ``raw_data`` (OCSF's place for
    the raw event) rather than ``unmapped``: a free-form object has no fixed
    Parquet type.
    """
    import pyarrow as pa  # noqa: PLC0415 - optional dependency

    text = pa.string()
    named = pa.struct([("name", text)])
    user = pa.struct([("name", text), ("type_id", pa.int32())])
    endpoint = pa.struct([("ip", text), ("port", pa.int32()), ("name", text)])
    resources = pa.list_(pa.struct([("uid", text), ("name", text), ("type", text)]))
    common = [
        ("time", pa.int64()),
        ("category_uid", pa.int32()),
        ("class_uid", pa.int32()),
        ("activity_id", pa.int32()),
        ("activity_name", text),
        ("type_uid", pa.int64()),
        ("severity_id", pa.int32()),
        ("status_id", pa.int32()),
        ("status_code", text),
        ("status_detail", text),
        ("message", text),
        (
            "metadata",
            pa.struct(
                [
                    ("version", text),
                    ("product", pa.struct([("name", text), ("vendor_name", text)])),
                    ("log_name", text),
                    ("uid", text),
                    ("tenant_uid", text),
                    ("original_time", text),
                ]
            ),
        ),
    ]
    if class_uid == API_ACTIVITY:
        specific = [
            ("api", pa.struct([("operation", text), ("service", named)])),
            ("actor", pa.struct([("user", user)])),
            ("src_endpoint", endpoint),
            ("resources", resources),
        ]
    elif class_uid == AUTHENTICATION:
        specific = [
            ("user", user),
            ("src_endpoint", endpoint),
            ("service", named),
            ("auth_protocol_id", pa.int32()),
            ("auth_protocol", text),
        ]
    elif class_uid in (VULNERABILITY_FINDING, DETECTION_FINDING):
        remediation = pa.struct([("desc", text)])
        specific = [
            (
                "finding_info",
                pa.struct(
                    [
                        ("uid", text),
                        ("title", text),
                        ("types", pa.list_(text)),
                        ("first_seen_time", pa.int64()),
                        ("created_time", pa.int64()),
                    ]
                ),
            ),
            ("resources", resources),
            ("remediation", remediation),
        ]
        if class_uid == VULNERABILITY_FINDING:
            cvss = pa.struct(
                [("base_score", pa.float64()), ("version", text), ("vector_string", text)]
            )
            vulnerability = pa.struct(
                [
                    ("title", text),
                    ("severity", text),
                    ("cve", pa.struct([("uid", text), ("cvss", pa.list_(cvss))])),
                    ("references", pa.list_(text)),
                    (
                        "affected_packages",
                        pa.list_(pa.struct([("name", text), ("version", text), ("purl", text)])),
                    ),
                    ("is_fix_available", pa.bool_()),
                    ("remediation", remediation),
                ]
            )
            specific.append(("vulnerabilities", pa.list_(vulnerability)))
    else:
        msg = f"no Parquet schema for OCSF class {class_uid}"
        raise ValueError(msg)
    return pa.schema([*common, *specific, ("raw_data", text)])


def parquet_row(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a Parquet row: ``unmapped`` (the Endor Labs object) becomes ``raw_data``."""
    row = dict(event)
    raw = row.pop("unmapped", None)
    if raw is not None:
        row["raw_data"] = encode_record(raw)[:-1].decode("utf-8")
    return row


class ParquetObject:
    """One future Parquet object: one OCSF class, events spooled until ``finish``."""

    def __init__(self, class_uid: int, spool_dir: str | None) -> None:
        self.class_uid = class_uid
        self.records = 0
        self.bytes = 0
        self.first_time_ms: int | None = None
        self._times = array("q")
        self._offsets = array("q")
        self._spool_dir = spool_dir
        self._file: IO[bytes] = temporary_file(spool_dir, "target-s3-endor-parquet-")

    def append(self, event: dict[str, Any]) -> None:
        """Spool one event (its ``time`` is the sort key)."""
        line = encode_record(parquet_row(event))
        if has_surrogate_escape(line):
            # Arrow refuses a lone surrogate escape, and Parquet strings are UTF-8: such a
            # character becomes U+FFFD in the mapped columns; raw_data keeps its escape.
            line = encode_record(without_lone_surrogates(parquet_row(event)))
        moment = int(event["time"])
        self._times.append(moment)
        self._offsets.append(self.bytes)
        self._file.write(line)
        self.records += 1
        self.bytes += len(line)
        if self.first_time_ms is None or moment < self.first_time_ms:
            self.first_time_ms = moment

    @property
    def last_time_ms(self) -> int | None:
        """The latest event time (ms since the epoch), None while empty."""
        return max(self._times) if self.records else None

    def _sorted_row_groups(self) -> Iterator[bytes]:
        """The spooled lines in time order, one buffer per row group (ties keep arrival order)."""
        self._file.flush()
        order = sorted(range(self.records), key=self._times.__getitem__)
        group = io.BytesIO()
        rows = 0
        for index in order:
            self._file.seek(self._offsets[index])
            group.write(self._file.readline())
            rows += 1
            if rows >= ROW_GROUP_ROWS or group.tell() >= ROW_GROUP_JSON_BYTES:
                yield group.getvalue()
                group, rows = io.BytesIO(), 0
        if rows:
            yield group.getvalue()

    def finish(self) -> IO[bytes]:
        """Write the Parquet object to a new temporary file, rewound; the caller closes it."""
        import pyarrow.json as pa_json  # noqa: PLC0415 - optional dependency
        import pyarrow.parquet as pq  # noqa: PLC0415

        schema = arrow_schema(self.class_uid)
        # Arrow's JSON reader builds the columns in C++ from the lines: no Python
        # dict per row, so a row group costs about its JSON size in memory.
        parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        out: IO[bytes] = temporary_file(self._spool_dir, "target-s3-endor-out-")
        try:
            with pq.ParquetWriter(
                out,
                schema,
                compression="zstd",
                compression_level=ZSTD_LEVEL,
                data_page_size=DATA_PAGE_BYTES,
                write_batch_size=WRITE_BATCH_ROWS,
                version="2.6",
            ) as writer:
                for lines in self._sorted_row_groups():
                    # One block per row group, so no event is too long for a block; one
                    # thread, as Arrow's per-thread buffers cost ~4x the group's memory.
                    read = pa_json.ReadOptions(
                        use_threads=False, block_size=max(len(lines), MIB) + 1
                    )
                    table = pa_json.read_json(
                        io.BytesIO(lines), read_options=read, parse_options=parse
                    )
                    writer.write_table(table.select(schema.names), row_group_size=len(table))
            out.flush()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        finally:
            self._file.seek(0, 2)
        return out

    def close(self) -> None:
        """Delete the spool."""
        self._file.close()
