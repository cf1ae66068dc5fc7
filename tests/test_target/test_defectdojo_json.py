"""A scan's JSON object imports into DefectDojo's Endor Labs parser with every finding.

The reader (``tests/support/defectdojo.endorlabs_findings``) follows DefectDojo's
``dojo/tools/endorlabs/parser.py``: a bare array of findings, ``uuid`` as the unique
id (findings sharing one are kept once), ``spec.level`` mapped to its severity.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.support.defectdojo import ENDOR_SEVERITY, endorlabs_findings, endorlabs_rows
from tests.test_target.conftest import all_objects, finding, lines, record, run_in_process, schema

LEVELS = [*ENDOR_SEVERITY, "FINDING_LEVEL_UNSPECIFIED"]


def scan_findings() -> list[dict[str, Any]]:
    findings = [finding(n, "scan-1", last=n == 9, level=LEVELS[n % len(LEVELS)]) for n in range(10)]
    findings[3]["spec"]["finding_metadata"] = {
        "vulnerability": {
            "meta": {"name": "GHSA-p6mc-m468-83gw"},
            "spec": {"aliases": ["CVE-2020-8203"]},
        }
    }
    return findings


@pytest.mark.parametrize("compression", ["zip", "none"])
def test_every_finding_of_a_scan_imports_with_its_uuid_and_level(
    config: dict[str, Any], s3_client: Any, bucket: str, compression: str
) -> None:
    findings = scan_findings()
    text = lines(schema("findings"), *(record("findings", f) for f in findings))
    run_in_process({**config, "format": "json", "compression": compression}, text)
    [(key, body)] = all_objects(s3_client, bucket).items()
    assert key.endswith(f"_scan-1.{'zip' if compression == 'zip' else 'json'}")
    if compression == "zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert archive.namelist() == ["findings.json"]
            body = archive.read("findings.json")
    imported = {f["unique_id_from_tool"]: f for f in endorlabs_findings(body)}
    assert sorted(imported) == sorted(f["uuid"] for f in findings)
    for source in findings:
        got = imported[source["uuid"]]
        assert got["severity"] == ENDOR_SEVERITY.get(source["spec"]["level"], "Info")
        assert got["title"] == source["meta"]["name"]
    assert imported[findings[3]["uuid"]]["vulnerability_ids"] == [
        "GHSA-p6mc-m468-83gw",
        "CVE-2020-8203",
    ]


def test_the_reader_refuses_what_defectdojo_refuses() -> None:
    assert endorlabs_rows({"list": {"objects": [1]}}) == [1]
    with pytest.raises(TypeError):
        endorlabs_rows("not findings")
    with pytest.raises(TypeError):
        endorlabs_rows({"findings": []})
