"""``target-s3-endor --config FILE --verify``: check a bucket against its proof.

Three passes, each streaming: list and read every proof object (the windows
and the keys holding them) into the on-disk ledger; read every listed object
once, counting its records (``counting.py``), ``READERS`` objects at a time
(reading is bound by S3's latency, not by the CPU: boto3 clients are
thread-safe, and at most ``READERS`` buffers are in memory); then report per stream,
namespace and day how many records the windows promise, how many the bucket
holds, and the key of every object that is missing or short.  The result is
0 when nothing is missing, 1 otherwise.  Progress goes to the log every few
seconds; the table to stdout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from target_s3_endor.errors import TargetS3EndorError
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.verify.counting import UnreadableObject, count_records
from target_s3_endor.verify.ledger import Ledger
from target_s3_endor.verify.proofs import list_proof_keys, parse_proof_line, proof_roots
from target_s3_endor.verify.ranged import RangedObject
from target_s3_endor.verify.report import hole_line, missing_line, table
from target_s3_endor.verify.s3_read import (
    ABSENT_CODES,
    describe_read_error,
    error_code,
    read_client,
)

PROGRESS_SECONDS = 5.0
MIB = 1 << 20
READERS = 8


class VerifyError(TargetS3EndorError):
    """The check could not be made (access, bucket): one line, exit 1."""


@dataclass
class Progress:
    """Logs how far the check is, at most every ``PROGRESS_SECONDS``."""

    logger: logging.Logger
    total: int
    interval: float = PROGRESS_SECONDS
    done: int = 0
    bytes_read: int = 0
    _last: float = field(default_factory=time.monotonic)

    def step(self, size: int) -> None:
        """One more object read."""
        self.done += 1
        self.bytes_read += size
        now = time.monotonic()
        if now - self._last >= self.interval or self.done == self.total:
            self._last = now
            share = 100 * self.done // max(self.total, 1)
            self.logger.info(
                "verify: %d of %d objects read (%d%%), %.1f MiB",
                self.done,
                self.total,
                share,
                self.bytes_read / MIB,
            )


@dataclass
class Outcome:
    """What the check found, printed by ``verify``."""

    lines: list[str]
    gap: bool


class Verifier:
    """Checks one bucket against its proofs (the three passes above)."""

    def __init__(
        self,
        settings: TargetSettings,
        logger: logging.Logger,
        client: Any = None,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.client = client or read_client(settings)
        self.logger = logger
        self.echo = echo
        self.problems: list[str] = []

    def run(self) -> int:
        """Check the bucket; print the report; 0 when complete, 1 on any gap."""
        ledger = Ledger(self.settings.spool_dir)
        try:
            proofs = self._read_proofs(ledger)
            windows, objects = ledger.counts()
            if proofs == 0:
                roots = ", ".join(
                    f"s3://{self.bucket}/{root}/" for root in proof_roots(self.settings)
                )
                self.echo(
                    f"verify: FAILED: no reconciliation proof under {roots}: nothing proves "
                    "this export complete (set prefix, exporter_name or exporter_uuid and "
                    "layout as the export's own config does; the tap must emit the "
                    "reconciliations stream)"
                )
                return 1
            self.logger.info(
                "verify: %d proof objects, %d window records, %d data objects to read",
                proofs,
                windows,
                objects,
            )
            self._read_objects(ledger, objects)
            healed = ledger.settle()
            if healed:
                self.logger.info(
                    "verify: %d windows list objects that are gone, but windows exported later "
                    "cover their whole time span: not counted as gaps",
                    healed,
                )
            return self._report(ledger)
        finally:
            ledger.close()

    def _read_proofs(self, ledger: Ledger) -> int:
        proofs = 0
        roots = proof_roots(self.settings)
        try:
            for key, _size in list_proof_keys(self.client, self.bucket, roots):
                proofs += 1
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
                for number, line in enumerate(body.iter_lines(), start=1):
                    if not line.strip():
                        continue
                    try:
                        window = parse_proof_line(line)
                    except ValueError as exc:
                        self.problems.append(f"UNREADABLE PROOF  {key} line {number}: {exc}")
                        continue
                    ledger.add_window(
                        uuid=window.uuid,
                        stream=window.stream,
                        namespace=window.namespace,
                        day=window.day,
                        expected=window.expected,
                        api_count=window.api_count,
                        read_count=window.read_count,
                        exact=window.exact,
                        source_key=key,
                        objects=window.objects,
                        span=window.span,
                    )
        except (ClientError, BotoCoreError) as exc:
            where = f"s3://{self.bucket}/{roots[0]}/"
            raise VerifyError(
                describe_read_error(exc, self.bucket, "s3:ListBucket", where)
            ) from None
        return proofs

    def _read_objects(self, ledger: Ledger, total: int) -> None:
        progress = Progress(self.logger, total)
        keys: Iterator[str] = (key for key, _expected in ledger.objects_to_check())
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            # A slice at a time, so the keys in flight stay bounded (the ledger is on disk).
            while chunk := list(islice(keys, READERS * 16)):
                for key, (records, size) in zip(chunk, pool.map(self._count, chunk), strict=True):
                    ledger.found(key, records)
                    progress.step(size)

    def _count(self, key: str) -> tuple[int | None, int]:
        """The records at ``key`` (None: absent) and the bytes read."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ABSENT_CODES:
                return None, 0
            where = f"s3://{self.bucket}/{key}"
            raise VerifyError(
                describe_read_error(exc, self.bucket, "s3:GetObject", where)
            ) from None
        size = int(head["ContentLength"])
        ranged = RangedObject(self.client, self.bucket, key, size)

        def whole() -> IO[bytes]:
            body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            return body

        try:
            return count_records(key, whole, ranged), size
        except UnreadableObject as exc:
            self.problems.append(f"UNREADABLE  {exc}")
            return 0, size
        except (ClientError, BotoCoreError) as exc:
            where = f"s3://{self.bucket}/{key}"
            raise VerifyError(
                describe_read_error(exc, self.bucket, "s3:GetObject", where)
            ) from None

    def _report(self, ledger: Ledger) -> int:
        rows = ledger.rows()
        for text in table(rows):
            self.echo(text)
        gaps = 0
        for missing in ledger.missing_objects():
            gaps += 1
            self.echo(missing_line(missing))
        holes = 0
        for hole in ledger.holes():
            holes += 1
            self.echo(hole_line(hole))
        for problem in self.problems:
            self.echo(problem)
        missing_records = sum(row.missing for row in rows)
        below_api = sum(row.api_short for row in rows)
        windows = sum(row.windows for row in rows)
        if gaps or missing_records or below_api or holes or self.problems:
            self.echo(
                f"verify: GAP: {missing_records} of {sum(r.expected for r in rows)} records "
                f"missing, {gaps} objects missing or short, {below_api} windows below the API's "
                f"count, {holes} spans without a window, {len(self.problems)} unreadable"
            )
            return 1
        self.echo(
            f"verify: complete: {windows} windows, {sum(r.expected for r in rows)} records, "
            "every object the proof lists is in the bucket"
        )
        return 0


def verify(settings: TargetSettings, logger: logging.Logger) -> int:
    """Run ``--verify`` for the target's settings; returns the exit status."""
    return Verifier(settings, logger).run()
