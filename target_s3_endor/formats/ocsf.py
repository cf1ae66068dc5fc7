"""Endor Labs objects as OCSF 1.3.0 events: pure functions, record dict in, event dict out.

OCSF 1.3.0 is pinned because it is the newest version Amazon Security Lake
accepts.  Every event keeps the whole Endor Labs object under ``unmapped``, so a
reader can always get back what the API said; the mapped attributes are what a
SIEM indexes.

Classes:

* audit logs: API Activity (6003); the operation gives the activity.
* authentication logs: Authentication (3002), activity Logon.
* findings with a CVE or GHSA id: Vulnerability Finding (2002).
* other findings (policy, license, malware, secrets, SAST, posture...):
  Detection Finding (2004).  Compliance Finding (2003) was the other candidate,
  but it requires a ``compliance`` object naming the standard a check belongs
  to, and Endor Labs findings name no standard; Detection Finding requires only
  ``finding_info`` and is OCSF's class for what a security product's detection
  engine reports about a resource, which is what these findings are.
* finding logs: the finding's activity (create 1, update 2, close 3) in the
  class its finding would get.  The API's finding logs carry no advisory id, so
  in practice they are Detection Findings unless a tap adds ``finding_metadata``.

Projects and scan results have no OCSF class and keep the plain JSON encoding.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from target_s3_endor.naming import dig, parse_time

OCSF_VERSION = "1.3.0"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRODUCT = {"name": "Endor Labs", "vendor_name": "Endor Labs"}

API_ACTIVITY = 6003
AUTHENTICATION = 3002
VULNERABILITY_FINDING = 2002
DETECTION_FINDING = 2004
CLASS_NAMES = {
    API_ACTIVITY: "api_activity",
    AUTHENTICATION: "authentication",
    VULNERABILITY_FINDING: "vulnerability_finding",
    DETECTION_FINDING: "detection_finding",
}
CATEGORY_OF = {API_ACTIVITY: 6, AUTHENTICATION: 3, VULNERABILITY_FINDING: 2, DETECTION_FINDING: 2}

SEVERITY_IDS = {
    "FINDING_LEVEL_CRITICAL": 5,
    "FINDING_LEVEL_HIGH": 4,
    "FINDING_LEVEL_MEDIUM": 3,
    "FINDING_LEVEL_LOW": 2,
}
INFORMATIONAL = 1
UNKNOWN = 0
OTHER = 99
API_ACTIVITIES = {
    "OPERATION_CREATE": 1,
    "OPERATION_UPDATE": 3,
    "OPERATION_DELETE": 4,
}
FINDING_LOG_ACTIVITIES = {"OPERATION_CREATE": 1, "OPERATION_UPDATE": 2, "OPERATION_DELETE": 3}
SUCCESS, FAILURE = 1, 2
FINDING_NEW, FINDING_RESOLVED = 1, 4
LOGON = 1

# GitHub's ids are GHSA-xxxx-xxxx-xxxx; shorter GHSA-prefixed names are accepted too.
_ADVISORY_ID = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA-[0-9a-z]{4,}(-[0-9a-z]{4})*)$", re.IGNORECASE)
_CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)

# Streams with an OCSF class; any other stream keeps the plain JSON encoding.
OCSF_STREAMS = ("audit_logs", "authentication_logs", "findings", "finding_logs")


def epoch_ms(moment: datetime) -> int:
    """OCSF ``timestamp_t``: milliseconds since the Unix epoch (exact: no float on the way)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _claim(record: Mapping[str, Any], name: str) -> str | None:
    """The value of ``name=...`` in ``spec.claims`` (Endor Labs' ``user=alice@...``)."""
    claims = dig(record, "spec", "claims")
    if not isinstance(claims, list):
        return None
    prefix = name + "="
    for claim in claims:
        if isinstance(claim, str) and claim.startswith(prefix) and claim[len(prefix) :].strip():
            return claim[len(prefix) :]
    return None


def _endpoint(address: object) -> dict[str, Any]:
    """``remote_address`` as a network endpoint: ip (and port) when it parses, else a name."""
    text = _text(address)
    if text is None:
        return {"name": "unknown"}
    host, port = text.strip(), None
    if host.startswith("[") and "]" in host:  # [v6]:port
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif host.count(":") == 1:  # v4:port
        host, port = host.split(":")
    try:
        endpoint: dict[str, Any] = {"ip": str(ipaddress.ip_address(host))}
    except ValueError:
        return {"name": text[:256]}
    if port and port.isdigit() and int(port) <= 65535:
        endpoint["port"] = int(port)
    return endpoint


def _user(record: Mapping[str, Any]) -> dict[str, Any]:
    name = _claim(record, "user") or _text(dig(record, "meta", "created_by"))
    return {"name": name} if name else {"name": "unknown", "type_id": UNKNOWN}


def _base(  # noqa: PLR0917 - one private call shape, used by every mapper
    record: Mapping[str, Any],
    class_uid: int,
    activity_id: int,
    severity_id: int,
    stream_name: str,
    fallback_time: datetime,
) -> dict[str, Any]:
    """What every event holds: class, activity, time, severity, metadata, the raw object."""
    created = parse_time(dig(record, "meta", "create_time"))
    moment = created or parse_time(record.get("_sdc_extracted_at")) or fallback_time
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION,
        "product": dict(PRODUCT),
        "log_name": stream_name,
    }
    if uid := _text(record.get("uuid")):
        metadata["uid"] = uid
    if namespace := _text(dig(record, "tenant_meta", "namespace")):
        metadata["tenant_uid"] = namespace
    if created is not None:
        metadata["original_time"] = str(dig(record, "meta", "create_time"))
    event: dict[str, Any] = {
        "category_uid": CATEGORY_OF[class_uid],
        "class_uid": class_uid,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "time": epoch_ms(moment),
        "severity_id": severity_id,
        "metadata": metadata,
        "unmapped": dict(record),
    }
    if message := _text(dig(record, "meta", "name")):
        event["message"] = message
    return event


def audit_log_event(
    record: Mapping[str, Any], fallback_time: datetime, stream_name: str = "audit_logs"
) -> dict[str, Any]:
    """An audit log as API Activity: who (claims) did which operation on what, from where."""
    operation = dig(record, "spec", "operation")
    activity_id = API_ACTIVITIES.get(str(operation), OTHER)
    event = _base(record, API_ACTIVITY, activity_id, INFORMATIONAL, stream_name, fallback_time)
    if activity_id == OTHER:
        event["activity_name"] = str(operation or "unknown").removeprefix("OPERATION_").title()
    kind = _text(dig(record, "spec", "message_kind"))
    api: dict[str, Any] = {"operation": _text(operation) or "unknown"}
    if kind:
        api["service"] = {"name": kind}
    event["api"] = api
    event["actor"] = {"user": _user(record)}
    event["src_endpoint"] = _endpoint(dig(record, "spec", "remote_address"))
    resource: dict[str, Any] = {}
    if target := _text(dig(record, "spec", "message_uuid")):
        resource["uid"] = target
    if name := _text(dig(record, "spec", "payload", "meta", "name")):
        resource["name"] = name
    if resource:  # OCSF needs a resource's uid or name
        if kind:
            resource["type"] = kind
        event["resources"] = [resource]
    error = dig(record, "spec", "error")
    if isinstance(error, dict) and error:
        event["status_id"] = FAILURE
        if "code" in error:
            event["status_code"] = str(error["code"])
        if detail := _text(error.get("message")):
            event["status_detail"] = detail
    else:
        event["status_id"] = SUCCESS
    return event


def authentication_log_event(
    record: Mapping[str, Any], fallback_time: datetime, stream_name: str = "authentication_logs"
) -> dict[str, Any]:
    """A sign-in or token exchange as Authentication (Logon), successful or refused."""
    event = _base(record, AUTHENTICATION, LOGON, INFORMATIONAL, stream_name, fallback_time)
    event["user"] = _user(record)
    event["src_endpoint"] = _endpoint(dig(record, "spec", "remote_address"))
    success = dig(record, "spec", "success")
    event["status_id"] = SUCCESS if success is True else FAILURE if success is False else UNKNOWN
    status = dig(record, "spec", "status")
    if status is not None and not isinstance(status, dict | list):
        event["status_code"] = str(status)
    if detail := _text(dig(record, "spec", "error_message")):
        event["status_detail"] = detail
    if uri := _text(dig(record, "spec", "uri")):
        event["service"] = {"name": uri}
    if method := _claim(record, "auth"):
        event["auth_protocol_id"] = OTHER
        event["auth_protocol"] = method
    else:
        event["auth_protocol_id"] = UNKNOWN
    return event


def advisory_ids(record: Mapping[str, Any]) -> list[str]:
    """CVE and GHSA ids of the finding's vulnerability (name first, then aliases)."""
    vulnerability = dig(record, "spec", "finding_metadata", "vulnerability")
    if not isinstance(vulnerability, dict):
        return []
    candidates = [dig(vulnerability, "meta", "name")]
    aliases = dig(vulnerability, "spec", "aliases")
    if isinstance(aliases, list):
        candidates.extend(aliases)
    found: list[str] = []
    for candidate in candidates:
        text = candidate.strip() if isinstance(candidate, str) else ""
        if _ADVISORY_ID.match(text) and text not in found:
            found.append(text)
    return found


def finding_class(record: Mapping[str, Any]) -> int:
    """Vulnerability Finding when the record carries a CVE or GHSA id, else Detection Finding."""
    return VULNERABILITY_FINDING if advisory_ids(record) else DETECTION_FINDING


def _finding_event(
    record: Mapping[str, Any],
    activity_id: int,
    finding_uid: str,
    stream_name: str,
    fallback_time: datetime,
) -> dict[str, Any]:
    spec = record.get("spec") if isinstance(record.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    level = spec.get("level")
    class_uid = finding_class(record)
    event = _base(
        record,
        class_uid,
        activity_id,
        SEVERITY_IDS.get(str(level), UNKNOWN),
        stream_name,
        fallback_time,
    )
    title = (
        _text(spec.get("summary"))
        or _text(dig(record, "meta", "name"))
        or _text(spec.get("target_dependency_package_name"))
        or "Endor Labs finding"
    )
    info: dict[str, Any] = {"uid": finding_uid, "title": title}
    categories = [c for c in spec.get("finding_categories") or [] if isinstance(c, str)]
    if categories:
        info["types"] = categories
    if introduced := parse_time(spec.get("introduced_at")):
        info["first_seen_time"] = epoch_ms(introduced)
    info["created_time"] = event["time"]
    event["finding_info"] = info
    package = _text(spec.get("target_dependency_package_name"))
    target = _text(spec.get("target_uuid")) or _text(dig(record, "meta", "parent_uuid"))
    if target or package:
        resource: dict[str, Any] = {"type": "RepositoryVersion"}
        if target:
            resource["uid"] = target
        if package:
            resource["name"] = package
        event["resources"] = [resource]
    remediation = _text(spec.get("remediation"))
    if class_uid == VULNERABILITY_FINDING:
        event["vulnerabilities"] = [_vulnerability(record, spec, title, remediation)]
    elif remediation:
        event["remediation"] = {"desc": remediation}
    if activity_id == FINDING_LOG_ACTIVITIES["OPERATION_DELETE"] or spec.get("resolved_at"):
        event["status_id"] = FINDING_RESOLVED
    else:
        event["status_id"] = FINDING_NEW
    return event


def _vulnerability(
    record: Mapping[str, Any], spec: Mapping[str, Any], title: str, remediation: str | None
) -> dict[str, Any]:
    ids = advisory_ids(record)
    # OCSF 1.3.0 needs a cve (or cwe) in every vulnerability and has no advisory
    # object: a finding known only by its GHSA id carries that id as cve.uid.
    cve_id = next((i for i in ids if _CVE_ID.match(i)), ids[0])
    vulnerability: dict[str, Any] = {"title": title}
    if level := _text(spec.get("level")):
        vulnerability["severity"] = level.removeprefix("FINDING_LEVEL_").title()
    cve: dict[str, Any] = {"uid": cve_id}
    cvss = dig(record, "spec", "finding_metadata", "vulnerability", "spec", "cvss_v3_severity")
    if isinstance(cvss, dict):
        score = cvss.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool):
            entry: dict[str, Any] = {"base_score": float(score), "version": "3.1"}
            if vector := _text(cvss.get("vector")):
                entry["vector_string"] = vector
            cve["cvss"] = [entry]
    vulnerability["cve"] = cve
    vulnerability["references"] = ids  # every advisory id: the CVE and the GHSA
    name = _text(spec.get("target_dependency_name"))
    version = _text(spec.get("target_dependency_version"))
    if name and version:
        package: dict[str, Any] = {"name": name, "version": version}
        if purl := _text(spec.get("target_dependency_package_name")):
            package["purl"] = purl
        vulnerability["affected_packages"] = [package]
    tags = spec.get("finding_tags")
    if isinstance(tags, list):
        vulnerability["is_fix_available"] = "FINDING_TAGS_FIX_AVAILABLE" in tags
    if remediation:
        vulnerability["remediation"] = {"desc": remediation}
    return vulnerability


def finding_event(
    record: Mapping[str, Any], fallback_time: datetime, stream_name: str = "findings"
) -> dict[str, Any]:
    """A finding as a Vulnerability or Detection Finding, activity Create (a scan found it)."""
    uid = _text(record.get("uuid")) or _text(dig(record, "meta", "name")) or "unknown"
    return _finding_event(record, 1, uid, stream_name, fallback_time)


def finding_log_event(
    record: Mapping[str, Any], fallback_time: datetime, stream_name: str = "finding_logs"
) -> dict[str, Any]:
    """A finding log as its finding's activity: created 1, updated 2, closed (resolved) 3."""
    operation = str(dig(record, "spec", "operation"))
    activity_id = FINDING_LOG_ACTIVITIES.get(operation, OTHER)
    uid = (
        _text(dig(record, "spec", "finding_uuid"))
        or _text(dig(record, "meta", "parent_uuid"))
        or _text(record.get("uuid"))
        or "unknown"
    )
    event = _finding_event(record, activity_id, uid, stream_name, fallback_time)
    if activity_id == OTHER:
        event["activity_name"] = operation.removeprefix("OPERATION_").title()
    return event


Mapper = Callable[[Mapping[str, Any], datetime, str], dict[str, Any]]
MAPPERS: dict[str, Mapper] = {
    "audit_logs": audit_log_event,
    "authentication_logs": authentication_log_event,
    "findings": finding_event,
    "finding_logs": finding_log_event,
}


def mapper_for(stream_name: str) -> Mapper | None:
    """The stream's mapping to OCSF, or None for streams that keep plain JSON."""
    return MAPPERS.get(stream_name)
