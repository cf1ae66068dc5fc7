"""The connection test: write one small probe object and say plainly what happened.

Uses exactly what a real run uses (the same session, checksum and SSE
settings, and only PutObject), so "OK" here means the export will work, and a
failure names the permission or trust that is missing.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from target_s3_endor import naming
from target_s3_endor.errors import TargetS3EndorError
from target_s3_endor.layouts.registry import LAYOUTS
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.transport import S3Writer


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of a connection test, ready to print."""

    ok: bool
    message: str


def probe_keys(settings: TargetSettings, now: datetime) -> list[str]:
    """Where the probe writes: under each of the layout's roots (``Layout.roots``).

    ``{prefix}/{exporter}/_connection-test/{time}_{uuid}.txt``, never a data key; or
    with layout: security-lake under each source's ``ext/<source>``:
    a Security Lake custom source's role may write only there.  The probe goes in a
    ``_connection-test`` folder: Hive-style readers (Athena) skip folders whose
    names start with ``_``.
    """
    name = f"{naming.compact_time(now)}_{uuid.uuid4().hex}.txt"
    return [
        naming.join_key(root, naming.CONNECTION_TEST_FOLDER, name)
        for root in LAYOUTS[settings.layout].roots(settings)
    ]


def run_probe(settings: TargetSettings) -> ProbeResult:
    """PutObject one probe object (one per source for Security Lake); report what happened.

    Only botocore's ``max_attempts`` tries, not ``max_retry_seconds`` of them: a
    connection test answers within seconds what a run would meet.
    """
    now = datetime.now(UTC)
    writer = S3Writer(replace(settings, max_retry_seconds=0))
    uris = []
    for key in probe_keys(settings, now):
        body = io.BytesIO(f"target-s3-endor connection test at {now.isoformat()}\n".encode())
        try:
            uris.append(writer.put(key, body, "text/plain"))
        except TargetS3EndorError as exc:
            return ProbeResult(False, f"S3 access FAILED: {exc}")
    return ProbeResult(True, f"S3 access OK: wrote {', '.join(uris)}")
