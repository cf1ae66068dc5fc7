"""Singer input files for the target benchmarks, generated deterministically and cached.

Every contender reads the very same bytes, so the files are generated once per
(kind, size, schema) from a seeded generator and kept in ``benchmarks/.work/data``.
The SCHEMA messages are the reference API schemas (``endor-api-schemas/*.json``),
with ``scan_context`` (contract section 3) added to findings, so record
validation does the work it does in production.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.paths import REFERENCE_SCHEMAS, work_dir
from tap_endorlabs.schema_gen import SCAN_CONTEXT_SCHEMA  # the tap's contract

SEED = 7
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
NAMESPACE = "acme"
GENERATOR_VERSION = "1"  # bump when the records change shape, to invalidate the cache

OPERATIONS = ["OPERATION_CREATE", "OPERATION_UPDATE", "OPERATION_DELETE", "OPERATION_UPSERT"]
KINDS = ["Policy", "Project", "ScanResult", "Finding", "APIKey", "Notification", "PackageVersion"]
USERS = ["jane", "omar", "li.wei", "ci-bot", "s.ivanova", "dependabot", "k.mensah"]
LEVELS = [
    "FINDING_LEVEL_CRITICAL",
    "FINDING_LEVEL_HIGH",
    "FINDING_LEVEL_MEDIUM",
    "FINDING_LEVEL_LOW",
]
PACKAGES = ["requests", "urllib3", "lodash", "log4j-core", "jackson-databind", "django", "express"]
WORDS = [
    *[
        "policy",
        "exception",
        "scanner",
        "dependency",
        "reachable",
        "function",
        "upgrade",
        "branch",
        "tenant",
    ],
    *[
        "namespace",
        "remediation",
        "vulnerable",
        "version",
        "package",
        "manifest",
        "lockfile",
        "transitive",
    ],
    *["direct", "severity"],
]


def reference_schema(name: str) -> dict[str, Any]:
    """Load one reference API schema (``AuditLog``, ``Finding``...)."""
    return json.loads((REFERENCE_SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def stream_schema(stream: str) -> dict[str, Any]:
    """The JSON Schema a SCHEMA message carries for ``stream`` in these files."""
    if stream == "audit_logs":
        return reference_schema("AuditLog")
    if stream == "findings":
        schema = reference_schema("Finding")
        schema["properties"]["scan_context"] = SCAN_CONTEXT_SCHEMA
        return schema
    raise ValueError(f"no benchmark schema for stream {stream!r}")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def audit_log(rng: random.Random, index: int) -> dict[str, Any]:
    """One audit log of about 1 KB, shaped like the reference AuditLog."""
    created = EPOCH + timedelta(seconds=index * 3, microseconds=rng.randrange(1_000_000))
    kind = rng.choice(KINDS)
    user = rng.choice(USERS)
    return {
        "uuid": _uuid(rng),
        "tenant_meta": {"namespace": NAMESPACE},
        "meta": {
            "name": f"{kind.lower()}-{rng.choice(OPERATIONS)[10:].lower()}",
            "kind": "AuditLog",
            "version": "v1",
            "create_time": _stamp(created),
            "update_time": _stamp(created),
            "created_by": f"{user}@x509",
            "updated_by": f"{user}@x509",
            "tags": [f"team={rng.choice(WORDS)}"],
        },
        "spec": {
            "operation": rng.choice(OPERATIONS),
            "message_kind": f"internal.endor.ai.endor.v1.{kind}",
            "message_uuid": _uuid(rng),
            "remote_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "claims": [f"user={user}@x509", "domain=acme.example", f"role={rng.choice(WORDS)}"],
            "payload": {
                "@type": f"type.googleapis.com/internal.endor.ai.endor.v1.{kind}",
                "uuid": _uuid(rng),
                "meta": {"name": _sentence(rng, 4), "description": _sentence(rng, 20)},
                "spec": {"disable": rng.random() < 0.1, "query_statements": [_sentence(rng, 8)]},
            },
        },
    }


def finding(rng: random.Random, index: int, scan: dict[str, Any], last: bool) -> dict[str, Any]:
    """One finding of a scan (about 2 KB), shaped like the reference Finding plus scan_context."""
    created = EPOCH + timedelta(minutes=index)
    package = rng.choice(PACKAGES)
    version = f"{rng.randrange(1, 6)}.{rng.randrange(20)}.{rng.randrange(10)}"
    ghsa = f"GHSA-{rng.randrange(16**4):04x}-{rng.randrange(16**4):04x}-{rng.randrange(16**4):04x}"
    return {
        "uuid": _uuid(rng),
        "tenant_meta": {"namespace": NAMESPACE},
        "context": {"type": "CONTEXT_TYPE_MAIN", "id": "default"},
        "meta": {
            "name": f"Vulnerability {ghsa} in {package}@{version}",
            "kind": "Finding",
            "create_time": _stamp(created),
            "update_time": _stamp(created),
            "parent_uuid": scan["project_uuid"],
            "parent_kind": "Project",
            "description": f"{ghsa}: {_sentence(rng, 10)}",
        },
        "spec": {
            "project_uuid": scan["project_uuid"],
            "target_uuid": _uuid(rng),
            "extra_key": f"{package}@{version}:{index}",
            "level": rng.choice(LEVELS),
            "summary": _sentence(rng, 25),
            "explanation": _sentence(rng, 60),
            "remediation": f"Upgrade {package} to {version[:-1]}{int(version[-1]) + 1} or later.",
            "last_processed": _stamp(created),
            "finding_categories": ["FINDING_CATEGORY_VULNERABILITY", "FINDING_CATEGORY_SCA"],
            "finding_tags": [
                "FINDING_TAGS_NORMAL",
                rng.choice(["FINDING_TAGS_DIRECT", "FINDING_TAGS_TRANSITIVE"]),
            ],
            "target_dependency_package_name": f"pypi://{package}@{version}",
            "target_dependency_name": package,
            "target_dependency_version": version,
            "dependency_file_paths": [f"services/{rng.choice(WORDS)}/requirements.txt"],
            "finding_metadata": {
                "vulnerability": {
                    "meta": {"name": ghsa},
                    "spec": {
                        "aliases": [f"CVE-20{rng.randrange(15, 26)}-{rng.randrange(1000, 99999)}"],
                        "summary": _sentence(rng, 12),
                        "cvss_v3_severity": {
                            "score": round(rng.uniform(1, 10), 1),
                            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        },
                        "published": _stamp(created - timedelta(days=400)),
                    },
                }
            },
        },
        "scan_context": {**scan, "last": last},
    }


def _singer_lines(stream: str, records: Iterator[dict[str, Any]], keys: list[str]) -> Iterator[str]:
    """SCHEMA, then RECORDs with a STATE every 10,000 records and one at the end."""
    dumps = json.dumps
    yield dumps(
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": stream_schema(stream),
            "key_properties": keys,
        }
    )
    count = 0
    for record in records:
        yield dumps(
            {
                "type": "RECORD",
                "stream": stream,
                "record": record,
                "time_extracted": "2025-01-01T00:00:00Z",
            }
        )
        count += 1
        if count % 10_000 == 0:
            yield dumps({"type": "STATE", "value": {"bookmarks": {stream: {"count": count}}}})
    yield dumps({"type": "STATE", "value": {"bookmarks": {stream: {"count": count, "done": True}}}})


def _cached(name: str, stream: str, make: Iterator[str]) -> Path:
    digest = hashlib.sha256(
        (GENERATOR_VERSION + json.dumps(stream_schema(stream), sort_keys=True)).encode()
    ).hexdigest()[:10]
    path = work_dir("data") / f"{name}-{digest}.singer"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for line in make:
            out.write(line)
            out.write("\n")
    partial.replace(path)
    return path


def audit_log_file(count: int) -> Path:
    """A Singer file of ``count`` audit-log records (about 1 KB each)."""
    rng = random.Random(SEED)
    records = (audit_log(rng, i) for i in range(count))
    return _cached(
        f"audit_logs-{count}", "audit_logs", _singer_lines("audit_logs", records, ["uuid"])
    )


def scan_findings_file(count: int) -> Path:
    """A Singer file of one scan with ``count`` findings, ``last`` true on the final one."""
    rng = random.Random(SEED)
    scan = {
        "scan_uuid": _uuid(rng),
        "scan_time": "2025-06-01T12:00:00Z",
        "scan_type": "schedule",
        "ref": "main",
        "project_uuid": _uuid(rng),
        "project_name": "https://github.com/acme/payments",
        "namespace": NAMESPACE,
    }
    records = (finding(rng, i, scan, i == count - 1) for i in range(count))
    return _cached(
        f"scan_findings-{count}", "findings", _singer_lines("findings", records, ["uuid"])
    )
