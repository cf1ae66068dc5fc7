"""Deterministic, seeded test data shaped like Endor Labs' own objects.

Same seed and clock anchor give the same objects. Everything is created in
time order and given ObjectId-style uuids (4 bytes of creation second, then
a fixed 5-byte "machine" part, then a 3-byte counter) so that uuid order is
creation order, which is the order the store and ``page_id`` paging rely on.

PR scans (``CONTEXT_TYPE_CI_RUN``) hold only what the official models hold:
``context.id`` is the PR run's UUID, and no field carries a PR number.  Half of
them have a ``refs/pull/<n>/merge`` ref in ``spec.refs`` and
``spec.versions[0].ref``, the other half only the PR's source branch, as CI
systems differ.  ``spec.environment.config`` is endorctl's free-form
configuration: CamelCase keys (``Command``), nothing invented.

Timestamps are written by ``timestamp_text`` alone, with 0, 3 or 9 fractional
digits as the API's protobuf JSON does.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.clock import MICROS, format_us, parse_rfc3339_us
from tests.emulator.store import ARCHIVE_AFTER_US, AUTH_LOGS, DATA_RESOURCES, Record, Store

DAY_US = 86400 * MICROS
LEVELS = (
    "FINDING_LEVEL_CRITICAL",
    "FINDING_LEVEL_HIGH",
    "FINDING_LEVEL_MEDIUM",
    "FINDING_LEVEL_LOW",
)
CATEGORY_SETS = (
    ("FINDING_CATEGORY_VULNERABILITY", "FINDING_CATEGORY_SCA"),
    ("FINDING_CATEGORY_SUPPLY_CHAIN", "FINDING_CATEGORY_SCA"),
    ("FINDING_CATEGORY_LICENSE_RISK",),
    ("FINDING_CATEGORY_SECRETS",),
    ("FINDING_CATEGORY_SAST",),
    ("FINDING_CATEGORY_MALWARE", "FINDING_CATEGORY_SUPPLY_CHAIN"),
    ("FINDING_CATEGORY_CICD", "FINDING_CATEGORY_GHACTIONS"),
    ("FINDING_CATEGORY_SCPM",),
    ("FINDING_CATEGORY_OPERATIONAL", "FINDING_CATEGORY_SCA"),
    ("FINDING_CATEGORY_CONTAINER", "FINDING_CATEGORY_VULNERABILITY"),
)
METHODS = {
    "FINDING_CATEGORY_VULNERABILITY": "SYSTEM_EVALUATION_METHOD_DEFINITION_VULNERABILITIES",
    "FINDING_CATEGORY_MALWARE": "SYSTEM_EVALUATION_METHOD_DEFINITION_MALWARE",
    "FINDING_CATEGORY_SAST": "SYSTEM_EVALUATION_METHOD_DEFINITION_AI_SAST",
    "FINDING_CATEGORY_SCPM": "SYSTEM_EVALUATION_METHOD_DEFINITION_CIS",
}
PACKAGES = (
    ("npm", "ECOSYSTEM_NPM", "lodash", "4.17.20", "package.json"),
    ("pypi", "ECOSYSTEM_PYPI", "requests", "2.25.0", "requirements.txt"),
    ("mvn", "ECOSYSTEM_MAVEN", "org.apache.logging.log4j:log4j-core", "2.14.1", "pom.xml"),
    ("go", "ECOSYSTEM_GO", "golang.org/x/net", "v0.7.0", "go.mod"),
    ("gem", "ECOSYSTEM_GEM", "nokogiri", "1.13.3", "Gemfile.lock"),
)
CVSS = {
    "FINDING_LEVEL_CRITICAL": (9.8, "LEVEL_CRITICAL"),
    "FINDING_LEVEL_HIGH": (7.5, "LEVEL_HIGH"),
    "FINDING_LEVEL_MEDIUM": (5.3, "LEVEL_MEDIUM"),
    "FINDING_LEVEL_LOW": (3.1, "LEVEL_LOW"),
}
OPERATIONS = ("OPERATION_CREATE", "OPERATION_UPDATE", "OPERATION_DELETE", "OPERATION_UPSERT")
MESSAGE_KINDS = (
    "internal.endor.ai.endor.v1.Policy",
    "internal.endor.ai.endor.v1.Project",
    "internal.endor.ai.endor.v1.Namespace",
    "internal.endor.ai.endor.v1.APIKey",
    "internal.endor.ai.endor.v1.ScanResult",
    "internal.endor.ai.endor.v1.NotificationTarget",
    "internal.endor.ai.endor.v1.AuthorizationPolicy",
    "internal.endor.ai.endor.v1.RepositoryVersion",
)
USERS = ("jane@x509", "bob@github", "ci-bot@api-key", "ops@google", "mallory@gitlab")
# (uri, how the user signed in) of authentication logs.
AUTH_METHODS = (
    ("/v1/auth/api-key", "api-key"),
    ("/v1/auth/github", "github"),
    ("/v1/auth/google", "google"),
    ("/v1/auth/gitlab", "gitlab"),
    ("/v1/auth/sso", "sso"),
)
# (HTTP status, message) of refused sign-ins.
AUTH_FAILURES = (
    (401, "invalid API key credentials"),
    (401, "token expired"),
    (403, "user is not authorized for tenant"),
)
BRANCHES = ("develop", "release/1.x", "feature/login-ü", "hotfix/CVE-fix")
# (context type, how many of each project's scans) pattern, repeated per project.
CONTEXT_PATTERN = (
    "CONTEXT_TYPE_MAIN",
    "CONTEXT_TYPE_REF",
    "CONTEXT_TYPE_CI_RUN",
    "CONTEXT_TYPE_MAIN",
)


#: ``--edge-times``: the Unix epoch and the last second of year 9999, in microseconds.
EDGE_TIMES_US = (0, 253402300799 * MICROS)
#: "cut emoji " and the first UTF-16 half of U+1F600: a lone surrogate (``--cut-strings``).
CUT_EMOJI = "cut emoji \ud83d"


@dataclass
class DataConfig:
    """Sizes and names of the generated data (the command line's data flags)."""

    seed: int = 1
    namespace: str = "acme"
    children: tuple[str, ...] = ("platform", "security")
    forbidden_namespace: str = "other-corp"
    projects: int = 8
    scans_per_project: int = 4
    findings_per_scan: int = 6
    audit_logs: int = 2000
    audit_days: int = 90
    finding_logs: int = 60
    authentication_logs: int = 300
    unknown_fields: bool = False
    #: Every object carries a string cut inside an emoji: a lone UTF-16 surrogate.
    cut_strings: bool = False
    deny_namespace_list: bool = False
    #: Serve namespaces without ``spec.full_name`` (clients fall back to parent + name).
    namespaces_without_full_name: bool = False

    @property
    def readable(self) -> tuple[str, ...]:
        """The tenant namespace and its children: what the API key may read."""
        return (self.namespace, *(f"{self.namespace}.{c}" for c in self.children))

    @property
    def all_namespaces(self) -> tuple[str, ...]:
        """Every namespace that exists (the forbidden one too)."""
        return (*self.readable, self.forbidden_namespace)


@dataclass
class _Pending:
    """An object built before its uuid is known (uuids follow creation order)."""

    create_us: int
    namespace: str
    obj: dict[str, Any]
    links: list[_Pending] = field(default_factory=list)


class Generator:
    """Builds the initial data set and every later addition (advance, live, completion)."""

    def __init__(self, config: DataConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.rng = random.Random(config.seed)
        self._machine = {
            name: f"{self.rng.getrandbits(40):010x}" for name in (*DATA_RESOURCES, "rv")
        }
        # Namespaces draw from their own RNG, so adding them left the seeded data as it was.
        self._machine["namespaces"] = f"{random.Random(f'ns{config.seed}').getrandbits(40):010x}"
        # Authentication logs too (ids and data), so they changed none of the seeded data.
        self._auth_rng = random.Random(f"auth{config.seed}")
        self._machine[AUTH_LOGS] = f"{self._auth_rng.getrandbits(40):010x}"
        self._namespace_uuids: dict[str, str] = {}
        self._counter = dict.fromkeys(self._machine, 0)
        self._scan_number = 0
        self.projects: list[dict[str, Any]] = []
        self._repo_versions: dict[str, str] = {}

    # ids -----------------------------------------------------------------
    def mint(self, kind: str, create_us: int) -> str:
        """An ObjectId-like uuid whose order follows ``create_us`` within a kind."""
        self._counter[kind] += 1
        # Clamped to 8 hex digits, so the edge times (``--edge-times``) keep the order too.
        seconds = min(max(create_us // MICROS, 0), 0xFFFFFFFF)
        return f"{seconds:08x}{self._machine[kind]}{self._counter[kind] & 0xFFFFFF:06x}"

    def _uuid4(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def _sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def _commit(self, resource: str, pending: list[_Pending], *, backdated: bool = False) -> None:
        """Give pending objects uuids in creation order and store them.

        ``backdated`` objects are inserted at their place in time instead of appended.
        """
        pending.sort(key=lambda p: p.create_us)
        for item in pending:
            item.obj = {"uuid": self.mint(resource, item.create_us), **item.obj}
        store = self.store.insert if backdated else self.store.add
        for item in pending:
            self._add_unknown_fields(item.obj)
            store(resource, Record(item.obj["uuid"], item.namespace, item.create_us, item.obj))

    def _add_unknown_fields(self, obj: dict[str, Any]) -> None:
        """With ``--unknown-fields``, fields no schema knows: at top level and in ``spec``.

        With ``--cut-strings`` a ``meta.annotations`` string cut between the two
        UTF-16 halves of an emoji, as a backend that cuts by UTF-16 units serves it.
        """
        if self.config.cut_strings:
            meta = obj.setdefault("meta", {})
            meta.setdefault("annotations", {})["note"] = CUT_EMOJI
        if self.config.unknown_fields:
            obj["x_emulator_extra"] = {"origin": "emulator", "note": "not in any schema"}
            obj.setdefault("spec", {})["x_emulator_extra"] = {"flag": True, "n": 1}

    def _commit_scans(
        self, scans: list[_Pending], findings: list[_Pending], *, backdated: bool = False
    ) -> None:
        """Store scans, then their findings, then link each scan to its findings.

        Scans go first: findings link back to them by object, and a scan lists its
        findings' (and blocking findings') uuids, known only once they are stored.
        """
        self._commit("scan-results", scans, backdated=backdated)
        self._commit("findings", findings, backdated=backdated)
        for scan in scans:
            scan.obj["spec"]["findings"] = [f.obj["uuid"] for f in scan.links]
            self._blocking(scan)

    # initial data ---------------------------------------------------------
    def build(self, now_us: int) -> None:
        """Generate the whole initial data set relative to ``now_us``."""
        cfg = self.config
        self._build_namespaces(now_us)
        self._build_projects(now_us)
        findings: list[_Pending] = []
        scans: list[_Pending] = []
        for index, project in enumerate(self.projects):
            scans.extend(self._project_scans(index, project, now_us, findings))
        self._commit_scans(scans, findings)
        self._build_finding_logs(findings, now_us)
        self.add_audit_logs(cfg.audit_logs, now_us - cfg.audit_days * DAY_US, now_us - MICROS)
        self.add_authentication_logs(
            cfg.authentication_logs, now_us - cfg.audit_days * DAY_US, now_us - MICROS
        )

    # namespaces -------------------------------------------------------------
    def _namespace_uuid(self, full_name: str, create_us: int) -> str:
        """The uuid of a namespace (minted once; the tenant's too, as children's parent)."""
        if full_name not in self._namespace_uuids:
            self._namespace_uuids[full_name] = self.mint("namespaces", create_us)
        return self._namespace_uuids[full_name]

    def _namespace(self, full_name: str, create_us: int) -> _Pending:
        """A Namespace object, stored under its parent's full name.

        Shape of the reference ``Namespace.json``: leaf name in ``meta.name``, parent
        in ``tenant_meta.namespace``, ``spec.full_name`` (left out with
        ``--namespaces-without-full-name``).
        """
        parent, _, leaf = full_name.rpartition(".")
        obj = {
            "meta": {
                "name": leaf,
                "kind": "Namespace",
                "create_time": timestamp_text(create_us),
                "update_time": timestamp_text(create_us),
                "parent_uuid": self._namespace_uuid(parent, create_us),
            },
            "tenant_meta": {"namespace": parent},
            "spec": {} if self.config.namespaces_without_full_name else {"full_name": full_name},
        }
        return _Pending(create_us, parent, obj)

    def _build_namespaces(self, now_us: int) -> None:
        """The tenant's child namespaces, created before any of their data."""
        cfg = self.config
        created = now_us - (cfg.audit_days + 100) * DAY_US
        self._namespace_uuid(cfg.namespace, created - MICROS)
        children = sorted(cfg.readable[1:], key=lambda name: (name.count("."), name))
        for n, name in enumerate(children):  # parents first: children name their uuid
            item = self._namespace(name, created + n * MICROS)
            self._commit("namespaces", [item])
            self._namespace_uuids[name] = item.obj["uuid"]

    def add_namespace(
        self,
        full_name: str,
        *,
        audit_logs: int,
        scans: int,
        backdate_days: float,
        now_us: int,
        authentication_logs: int = 0,
    ) -> None:
        """A child namespace that becomes readable now, holding data from ``backdate_days`` ago.

        Like a key propagated to an existing namespace, or a namespace moved under
        the tenant: everything in it, the namespace object too, is older than what
        a tap that ran before has bookmarked.
        """
        cfg = self.config
        start = now_us - int(backdate_days * DAY_US)
        cfg.children = (*cfg.children, full_name.removeprefix(cfg.namespace + "."))
        namespace = self._namespace(full_name, start)
        self._commit("namespaces", [namespace], backdated=True)
        self._namespace_uuids[full_name] = namespace.obj["uuid"]
        project = self._backdated_project(full_name, start + MICROS)
        scan_pending: list[_Pending] = []
        findings: list[_Pending] = []
        for n in range(scans):
            scan_start = start + (2 + n * 60) * MICROS
            scan = self._scan(project, "CONTEXT_TYPE_MAIN", scan_start, now_us)
            scan.obj["spec"].update(status="STATUS_SUCCESS", exit_code="ENDORCTL_RC_SUCCESS")
            scan_pending.append(scan)
            findings.extend(self._findings_for(scan, project))
        self._commit_scans(scan_pending, findings, backdated=True)
        logs = [self._finding_log(f, "OPERATION_CREATE", f.create_us, None) for f in findings]
        self._commit("finding-logs", logs, backdated=True)
        span = max(1, min(DAY_US, now_us - start - MICROS))
        step = max(1, span // max(1, audit_logs))
        for n in range(audit_logs):
            self.store.insert("audit-logs", self._audit_log(start + n * step, full_name))
        step = max(1, span // max(1, authentication_logs))
        for n in range(authentication_logs):
            moment = start + n * step
            self.store.insert(AUTH_LOGS, self._authentication_log(moment, full_name))

    def _backdated_project(self, namespace: str, create_us: int) -> dict[str, Any]:
        """One project of an added namespace (its scans need a parent)."""
        name = f"https://github.com/{namespace}/backdated-service"
        obj: dict[str, Any] = {
            "meta": {
                "name": name,
                "kind": "Project",
                "create_time": timestamp_text(create_us),
                "update_time": timestamp_text(create_us),
                "version": "v1",
                "tags": [],
            },
            "tenant_meta": {"namespace": namespace},
            "spec": {"platform_source": "PLATFORM_SOURCE_GITHUB", "git": {"web_url": name}},
            "processing_status": {"scan_state": "SCAN_STATE_IDLE"},
        }
        pending = _Pending(create_us, namespace, obj)
        self._commit("projects", [pending], backdated=True)
        self.projects.append(pending.obj)
        return pending.obj

    def _project_names(self) -> list[str]:
        org = f"https://github.com/{self.config.namespace}"
        awkward = [
            f"{org}/ünïcødé-répo-日本",
            f"{org}/repo with spaces",
            f"{org}/" + "very-long-repository-name-" * 11 + "end",
            f"{org}/../../etc/passwd-repo",
        ]
        names = [f"{org}/service-{i:02d}" for i in range(self.config.projects)]
        for slot, name in zip(range(1, len(names), 2), awkward, strict=False):
            names[slot] = name
        return names

    def _build_projects(self, now_us: int) -> None:
        cfg = self.config
        pending: list[_Pending] = []
        names = [
            (n, cfg.readable[i % len(cfg.readable)]) for i, n in enumerate(self._project_names())
        ]
        names.append(
            (f"https://github.com/{cfg.forbidden_namespace}/secret-repo", cfg.forbidden_namespace)
        )
        for name, namespace in names:
            created = now_us - (cfg.audit_days + 30) * DAY_US - self.rng.randrange(60 * DAY_US)
            full_name = name.split("github.com/", 1)[1]
            obj = {
                "meta": {
                    "name": name,
                    "kind": "Project",
                    "create_time": timestamp_text(created),
                    "update_time": timestamp_text(created),
                    "version": "v1",
                    "tags": [],
                },
                "tenant_meta": {"namespace": namespace},
                "spec": {
                    "platform_source": "PLATFORM_SOURCE_GITHUB",
                    "git": {
                        "http_clone_url": f"{name}.git",
                        "web_url": name,
                        "full_name": full_name,
                        "organization": full_name.split("/", 1)[0],
                        "git_clone_url": f"git@github.com:{full_name}.git",
                    },
                },
                "processing_status": {"scan_state": "SCAN_STATE_IDLE"},
            }
            pending.append(_Pending(created, namespace, obj))
        self._commit("projects", pending)
        self.projects = [p.obj for p in sorted(pending, key=lambda p: p.obj["uuid"])]

    def _repo_version(self, project: dict[str, Any], create_us: int) -> str:
        key = project["uuid"]
        if key not in self._repo_versions:
            self._repo_versions[key] = self.mint("rv", create_us)
        return self._repo_versions[key]

    def _project_scans(
        self, index: int, project: dict[str, Any], now_us: int, findings: list[_Pending]
    ) -> list[_Pending]:
        cfg = self.config
        count = cfg.scans_per_project
        starts = sorted(now_us - self.rng.randrange(DAY_US, 28 * DAY_US) for _ in range(count))
        scans = []
        for n, start in enumerate(starts):
            context = CONTEXT_PATTERN[n % len(CONTEXT_PATTERN)]
            running = index % 3 == 0 and n == count - 1
            scan = self._scan(project, context, start, now_us, running=running)
            scans.append(scan)
            if scan.obj["spec"]["status"] in ("STATUS_SUCCESS", "STATUS_PARTIAL_SUCCESS"):
                findings.extend(self._findings_for(scan, project))
        if scans and not scans[-1].obj["spec"].get("end_time"):
            done = [s for s in scans if s.obj["spec"].get("end_time")]
        else:
            done = scans
        if done:
            project["processing_status"]["scan_time"] = done[-1].obj["spec"]["end_time"]
        return scans

    def _scan(
        self,
        project: dict[str, Any],
        context_type: str,
        start_us: int,
        now_us: int,
        *,
        running: bool = False,
        create_us: int | None = None,
    ) -> _Pending:
        self._scan_number += 1
        namespace = project["tenant_meta"]["namespace"]
        sha = self._sha()
        config: dict[str, Any] = {"Command": "scan"}
        if context_type == "CONTEXT_TYPE_MAIN":
            context: dict[str, Any] = {"type": context_type, "id": "default"}
            refs = ["main"]
        elif context_type == "CONTEXT_TYPE_REF":
            branch = BRANCHES[self._scan_number % len(BRANCHES)]
            context = {"type": context_type, "id": branch}
            refs = [branch]
        else:
            context = {
                "type": context_type,
                "id": self._uuid4(),
                "will_be_deleted_at": timestamp_text(start_us + 30 * DAY_US),
            }
            # Some CI systems check out the pull ref, others the source branch.
            if self._scan_number % 2:
                refs = [f"refs/pull/{100 + self._scan_number}/merge"]
            else:
                refs = [BRANCHES[self._scan_number % len(BRANCHES)]]
        roll = self.rng.random()
        if running:
            status = "STATUS_RUNNING"
        elif roll < 0.1:
            status = "STATUS_FAILURE"
        elif roll < 0.2:
            status = "STATUS_PARTIAL_SUCCESS"
        else:
            status = "STATUS_SUCCESS"
        end_us = min(start_us + self.rng.randrange(60, 1800) * MICROS, now_us)
        spec: dict[str, Any] = {
            "status": status,
            "type": "TYPE_ALL_SCANS",
            "start_time": timestamp_text(start_us),
            "refs": refs,
            "versions": [{"ref": refs[0], "sha": sha}],
            "findings": [],
            "blocking_findings": [],
            "warning_findings": [],
            "environment": {
                "arch": "amd64",
                "os": "linux",
                "num_cpus": 4,
                "memory": 16.0,
                "endorctl_version": "v1.7.512",
                "config": config,
            },
        }
        if not running:
            spec["end_time"] = timestamp_text(end_us)
            spec["exit_code"] = (
                "ENDORCTL_RC_ERROR" if status == "STATUS_FAILURE" else "ENDORCTL_RC_SUCCESS"
            )
        created = start_us if create_us is None else create_us
        obj = {
            "meta": {
                "name": f"scan-result-{self._scan_number}",
                "kind": "ScanResult",
                "parent_uuid": project["uuid"],
                "parent_kind": "Project",
                "create_time": timestamp_text(created),
                "update_time": timestamp_text(end_us if not running else created),
            },
            "tenant_meta": {"namespace": namespace},
            "context": context,
            "spec": spec,
        }
        return _Pending(created, namespace, obj)

    def _findings_for(self, scan: _Pending, project: dict[str, Any]) -> list[_Pending]:
        spec = scan.obj["spec"]
        count = self.config.findings_per_scan
        if spec["status"] == "STATUS_PARTIAL_SUCCESS":
            count = max(1, count // 2)
        end_us = scan.create_us + 1
        if spec.get("end_time"):
            end_us = parse_rfc3339_us(spec["end_time"])
        out = []
        for n in range(count):
            created = end_us - self.rng.randrange(0, 30) * MICROS
            out.append(
                self._finding(
                    scan, project, n, created, spec.get("end_time") or timestamp_text(end_us)
                )
            )
        scan.links.extend(out)
        return out

    def _finding(
        self, scan: _Pending, project: dict[str, Any], n: int, created: int, processed: str
    ) -> _Pending:
        level = LEVELS[(n + self._scan_number) % len(LEVELS)]
        categories = list(CATEGORY_SETS[(n * 3 + self._scan_number) % len(CATEGORY_SETS)])
        short, ecosystem, package, version, manifest = PACKAGES[self.rng.randrange(len(PACKAGES))]
        package_name = f"{short}://{package}@{version}"
        method = METHODS.get(categories[0], "SYSTEM_EVALUATION_METHOD_DEFINITION_POLICIES")
        tags = ["FINDING_TAGS_DIRECT" if n % 2 else "FINDING_TAGS_TRANSITIVE"]
        if n % 3 == 0:
            tags.append("FINDING_TAGS_FIX_AVAILABLE")
        spec: dict[str, Any] = {
            "project_uuid": project["uuid"],
            "level": level,
            "finding_categories": categories,
            "finding_tags": tags,
            "summary": f"{_label(categories[0]).title()} issue in {package}",
            "remediation": f"Upgrade {package} to a fixed version.",
            "target_dependency_package_name": package_name,
            "target_dependency_name": package,
            "target_dependency_version": version,
            "dependency_file_paths": [manifest],
            "ecosystem": ecosystem,
            "method": method,
            "extra_key": f"{categories[0]}:{package}:{n}",
            "last_processed": processed,
            "target_uuid": self._repo_version(project, created),
        }
        if "FINDING_CATEGORY_VULNERABILITY" in categories:
            score, cvss_level = CVSS[level]
            cve = f"CVE-{2020 + n % 5}-{10000 + self.rng.randrange(90000)}"
            spec["finding_metadata"] = {
                "vulnerability": {
                    "meta": {
                        "name": f"GHSA-{self.rng.getrandbits(32):08x}",
                        "kind": "Vulnerability",
                    },
                    "spec": {
                        "aliases": [cve],
                        "summary": f"{cve} in {package}",
                        "published": timestamp_text(created - 400 * DAY_US),
                        "cvss_v3_severity": {
                            "score": score,
                            "level": cvss_level,
                            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        },
                    },
                }
            }
        context = {k: v for k, v in scan.obj["context"].items()}
        obj = {
            "meta": {
                "name": f"{categories[0].removeprefix('FINDING_CATEGORY_').lower()}-{package}",
                "kind": "Finding",
                "parent_uuid": spec["target_uuid"],
                "parent_kind": "RepositoryVersion",
                "create_time": timestamp_text(created),
                "update_time": timestamp_text(created),
            },
            "tenant_meta": {"namespace": scan.namespace},
            "context": context,
            "spec": spec,
        }
        return _Pending(created, scan.namespace, obj)

    @staticmethod
    def _blocking(scan: _Pending) -> None:
        spec = scan.obj["spec"]
        critical = [
            f.obj["uuid"] for f in scan.links if f.obj["spec"]["level"] == "FINDING_LEVEL_CRITICAL"
        ]
        spec["blocking_findings"] = critical[:1]
        spec["warning_findings"] = critical[1:]

    def _build_finding_logs(self, findings: list[_Pending], now_us: int) -> None:
        """CREATE and DELETE (resolved) events, and UPDATEs of findings still open.

        The UPDATEs (an eighth of the logs) replace the last events drawn and take
        no randomness, so everything generated after is what the seed gave before.
        """
        if not findings or self.config.finding_logs <= 0:
            return
        pending: list[_Pending] = []
        chosen = [findings[i % len(findings)] for i in range(self.config.finding_logs)]
        self.rng.shuffle(chosen)
        index = 0
        while len(pending) < self.config.finding_logs:
            finding = chosen[index % len(chosen)]
            index += 1
            pending.append(self._finding_log(finding, "OPERATION_CREATE", finding.create_us, None))
            if len(pending) < self.config.finding_logs and index % 3 == 0:
                resolved = min(
                    finding.create_us + self.rng.randrange(DAY_US, 5 * DAY_US), now_us - MICROS
                )
                pending.append(self._finding_log(finding, "OPERATION_DELETE", resolved, resolved))
        updates = self.config.finding_logs // 8
        kept = pending[: len(pending) - updates]
        resolved_uuids = {
            p.obj["spec"]["finding_uuid"]
            for p in kept
            if p.obj["spec"]["operation"] == "OPERATION_DELETE"
        }
        by_uuid = {f.obj["uuid"]: f for f in findings}
        still_open = {p.obj["spec"]["finding_uuid"]: None for p in kept}.keys() - resolved_uuids
        for finding_uuid in sorted(still_open)[:updates]:
            finding = by_uuid[finding_uuid]
            changed = min(finding.create_us + DAY_US // 4, now_us - MICROS)
            update = self._finding_log(finding, "OPERATION_UPDATE", changed, None)
            tags = update.obj["spec"]["finding_tags"]
            if "FINDING_TAGS_FIX_AVAILABLE" not in tags:
                tags.append("FINDING_TAGS_FIX_AVAILABLE")  # what changed: a fix appeared
            kept.append(update)
        self._commit("finding-logs", kept)

    def _finding_log(
        self, finding: _Pending, operation: str, created: int, resolved: int | None
    ) -> _Pending:
        fspec = finding.obj["spec"]
        spec: dict[str, Any] = {
            "operation": operation,
            "finding_uuid": finding.obj["uuid"],
            "finding_parent_kind": "RepositoryVersion",
            "finding_parent_uuid": finding.obj["meta"]["parent_uuid"],
            "finding_tags": list(fspec["finding_tags"]),
            "finding_categories": list(fspec["finding_categories"]),
            "introduced_at": finding.obj["meta"]["create_time"],
            "level": fspec["level"],
            "method": fspec["method"],
            "ecosystem": fspec["ecosystem"],
            "target_dependency_package_name": fspec["target_dependency_package_name"],
            "target_uuid": fspec["target_uuid"],
        }
        if resolved is not None:
            spec["resolved_at"] = timestamp_text(resolved)
            spec["days_unresolved"] = str((resolved - finding.create_us) // DAY_US)
        obj = {
            "meta": {
                "name": f"finding-log-{operation.removeprefix('OPERATION_').lower()}",
                "kind": "FindingLog",
                "parent_uuid": finding.obj["uuid"],
                "parent_kind": "Finding",
                "create_time": timestamp_text(created),
                "update_time": timestamp_text(created),
            },
            "tenant_meta": {"namespace": finding.namespace},
            "context": dict(finding.obj["context"]),
            "spec": spec,
        }
        return _Pending(created, finding.namespace, obj)

    # audit logs -------------------------------------------------------------
    def add_edge_audit_logs(self) -> None:
        """Two tenant audit logs at the ends of the time range (``--edge-times``).

        At the Unix epoch (``1970-01-01T00:00:00Z``) and at the last second protobuf
        timestamps can hold (``9999-12-31T23:59:59Z``): valid times a client must
        carry, and that a later run must start from.  Later batches (``advance``,
        live mode) would land after the second one: do not combine them.
        """
        for moment in EDGE_TIMES_US:
            self.store.insert("audit-logs", self._audit_log(moment, self.config.namespace))

    def add_audit_logs(self, count: int, low_us: int, high_us: int) -> None:
        """``count`` audit logs in ``[low_us, high_us]``; about a third share a timestamp.

        Builds the initial set and every later batch (``advance`` and live mode).
        """
        if count <= 0:
            return
        table = self.store.tables["audit-logs"]
        if table.create_us:
            low_us = max(low_us, table.create_us[-1])
        high_us = max(high_us, low_us)
        rng = self.rng
        span = high_us - low_us
        times: list[int] = []
        while len(times) < count:
            moment = low_us + int(rng.random() * span)
            if rng.random() < 0.2:
                moment -= moment % MICROS  # whole-second timestamps, written without a fraction
                moment = max(moment, low_us)
            else:
                moment = _maybe_milliseconds(moment, low_us)
            burst = 1 + (int(rng.random() * 4) if rng.random() < 0.3 else 0)
            times.extend([moment] * min(burst, count - len(times)))
        times.sort()
        cfg = self.config
        namespaces = cfg.readable
        for moment in times:
            roll = rng.random()
            if roll < 0.75:
                namespace = cfg.namespace
            elif roll < 0.97:
                namespace = namespaces[int(rng.random() * len(namespaces))]
            else:
                namespace = cfg.forbidden_namespace
            self.store.add("audit-logs", self._audit_log(moment, namespace))

    def _audit_log(self, moment: int, namespace: str) -> Record:
        rng = self.rng
        pick = rng.random
        kind = MESSAGE_KINDS[int(pick() * len(MESSAGE_KINDS))]
        operation = OPERATIONS[int(pick() * len(OPERATIONS))]
        user = USERS[int(pick() * len(USERS))]
        created = timestamp_text(moment)
        target = f"{rng.getrandbits(96):024x}"
        uuid = self.mint("audit-logs", moment)
        spec: dict[str, Any] = {
            "operation": operation,
            "message_kind": kind,
            "message_uuid": target,
            "payload": {
                "@type": f"type.googleapis.com/{kind}",
                "uuid": target,
                "meta": {"name": f"{kind.rsplit('.', 1)[-1].lower()}-{target[-6:]}"},
            },
            "claims": [
                f"user={user}",
                f"tenant={namespace.split('.', maxsplit=1)[0]}",
                "role=SYSTEM_ROLE_ADMIN",
            ],
            "remote_address": f"10.244.{int(pick() * 256)}.{1 + int(pick() * 254)}",
        }
        if pick() < 0.03:
            spec["error"] = {"code": 7, "message": "permission denied", "details": []}
        obj: dict[str, Any] = {
            "uuid": uuid,
            "meta": {
                "name": f"{operation.removeprefix('OPERATION_').lower()} {kind.rsplit('.', 1)[-1]}",
                "kind": "AuditLog",
                "create_time": created,
                "update_time": created,
                "created_by": user,
            },
            "tenant_meta": {"namespace": namespace},
            "spec": spec,
        }
        self._add_unknown_fields(obj)
        return Record.frozen(uuid, namespace, moment, obj)

    # authentication logs --------------------------------------------------------
    def add_authentication_logs(self, count: int, low_us: int, high_us: int) -> None:
        """``count`` authentication logs in ``[low_us, high_us]``, some sharing an instant.

        Drawn from their own RNG, like their ids: the rest of the data is as the seed
        made it before they existed.
        """
        if count <= 0:
            return
        table = self.store.tables[AUTH_LOGS]
        if table.create_us:
            low_us = max(low_us, table.create_us[-1])
        high_us = max(high_us, low_us)
        rng = self._auth_rng
        times: list[int] = []
        while len(times) < count:
            moment = _maybe_milliseconds(low_us + int(rng.random() * (high_us - low_us)), low_us)
            # A client retrying a refused sign-in logs several entries at one instant.
            burst = 1 + (int(rng.random() * 3) if rng.random() < 0.2 else 0)
            times.extend([moment] * min(burst, count - len(times)))
        times.sort()
        cfg = self.config
        for moment in times:
            roll = rng.random()
            if roll < 0.75:
                namespace = cfg.namespace
            elif roll < 0.97:
                namespace = cfg.readable[int(rng.random() * len(cfg.readable))]
            else:
                namespace = cfg.forbidden_namespace
            self.store.add(AUTH_LOGS, self._authentication_log(moment, namespace))

    def _authentication_log(self, moment: int, namespace: str) -> Record:
        """One sign-in or token exchange, in the shape of ``AuthenticationLog.json``."""
        rng = self._auth_rng
        user = USERS[int(rng.random() * len(USERS))]
        uri, method = AUTH_METHODS[int(rng.random() * len(AUTH_METHODS))]
        tenant = namespace.split(".", maxsplit=1)[0]
        created = timestamp_text(moment)
        spec: dict[str, Any] = {
            "success": True,
            "status": 200,
            "claims": [f"user={user}", f"tenant={tenant}", f"auth={method}"],
            "remote_address": f"203.0.113.{1 + int(rng.random() * 254)}",
            "uri": uri,
            "authorized_tenants": [tenant],
        }
        if rng.random() < 0.1:
            status, message = AUTH_FAILURES[int(rng.random() * len(AUTH_FAILURES))]
            spec.update(success=False, status=status, error_message=message, authorized_tenants=[])
        uuid = self.mint(AUTH_LOGS, moment)
        obj: dict[str, Any] = {
            "uuid": uuid,
            "meta": {
                "name": f"authentication-log-{method}",
                "kind": "AuthenticationLog",
                "create_time": created,
                "update_time": created,
                "created_by": user,
            },
            "tenant_meta": {"namespace": namespace},
            "spec": spec,
        }
        self._add_unknown_fields(obj)
        return Record.frozen(uuid, namespace, moment, obj)

    # later additions -------------------------------------------------------
    def add_scans(self, count: int, now_us: int) -> None:
        """New completed scans (with findings) that finished at ``now_us``."""
        readable = [
            p for p in self.projects if p["tenant_meta"]["namespace"] in self.config.readable
        ]
        if not readable or count <= 0:
            return
        scans: list[_Pending] = []
        findings: list[_Pending] = []
        table = self.store.tables["scan-results"]
        floor = table.create_us[-1] if table.create_us else 0
        for _ in range(count):
            project = readable[self.rng.randrange(len(readable))]
            context = ("CONTEXT_TYPE_MAIN", "CONTEXT_TYPE_CI_RUN")[self.rng.randrange(2)]
            start = now_us - self.rng.randrange(60, 600) * MICROS
            scan = self._scan(project, context, start, now_us, create_us=max(now_us, floor))
            scan.obj["spec"]["status"] = "STATUS_SUCCESS"
            scan.obj["spec"]["exit_code"] = "ENDORCTL_RC_SUCCESS"
            scan.obj["spec"]["end_time"] = timestamp_text(now_us)
            scan.obj["meta"]["update_time"] = timestamp_text(now_us)
            scans.append(scan)
            findings.extend(self._new_findings(scan, project, now_us))
            self._set_scan_time(project, now_us)
        self._commit_scans(scans, findings)

    def _set_scan_time(self, project: dict[str, Any], now_us: int) -> None:
        """Record a project's latest scan and drop its cached JSON, so GETs serve the new time."""
        project["processing_status"]["scan_time"] = timestamp_text(now_us)
        self.store.tables["projects"].by_uuid[project["uuid"]].changed()

    def _new_findings(self, scan: _Pending, project: dict[str, Any], now_us: int) -> list[_Pending]:
        table = self.store.tables["findings"]
        floor = table.create_us[-1] if table.create_us else 0
        created = max(now_us, floor)
        out = [
            self._finding(scan, project, n, created, timestamp_text(now_us))
            for n in range(self.config.findings_per_scan)
        ]
        scan.links.extend(out)
        return out

    def complete_running_scans(self, now_us: int) -> int:
        """RUNNING scans succeed now and report new findings; returns how many."""
        table = self.store.tables["scan-results"]
        by_uuid = {p["uuid"]: p for p in self.projects}
        completed = 0
        findings: list[_Pending] = []
        done: list[tuple[Record, _Pending]] = []
        for record in table:
            spec = record.obj["spec"]
            if spec.get("status") != "STATUS_RUNNING":
                continue
            project = by_uuid[record.obj["meta"]["parent_uuid"]]
            spec["status"] = "STATUS_SUCCESS"
            spec["end_time"] = timestamp_text(now_us)
            spec["exit_code"] = "ENDORCTL_RC_SUCCESS"
            record.obj["meta"]["update_time"] = timestamp_text(now_us)
            holder = _Pending(record.create_us, record.namespace, record.obj)
            findings.extend(self._new_findings(holder, project, now_us))
            done.append((record, holder))
            self._set_scan_time(project, now_us)
            completed += 1
        self._commit("findings", findings)
        for record, holder in done:
            record.obj["spec"]["findings"] = [f.obj["uuid"] for f in holder.links]
            self._blocking(holder)
            record.changed()
        self.store.touched()  # cached query results may filter or sort on the changed fields
        return completed


def timestamp_text(us: int) -> str:
    """The one place generated timestamps are written: RFC 3339 UTC, as the API does.

    Protobuf's JSON mapping writes 0, 3, 6 or 9 fractional digits, as the value
    needs; Endor's servers keep nanoseconds, so most times carry 9.  The emulator
    keeps time in microseconds: whole seconds get no fraction, whole milliseconds
    3 digits, anything else 9, the last three a function of the microsecond (so
    objects at one microsecond share them, and every filter, index and sort that
    works in microseconds agrees with the text).
    """
    text = format_us(us)
    micros = us % MICROS
    if micros == 0:
        return text
    if micros % 1000 == 0:
        return f"{text[:23]}Z"
    return f"{text[:26]}{(us * 7919) % 1000:03d}Z"


def _maybe_milliseconds(moment: int, floor: int) -> int:
    """A third of the instants at millisecond precision (some servers keep no finer).

    Chosen by the instant itself, not the RNG, so the data drawn after is unchanged.
    """
    if (moment // MICROS) % 3:
        return moment
    return max(floor, moment - moment % 1000)


def _label(category: str) -> str:
    return category.removeprefix("FINDING_CATEGORY_")


def archive_boundary(now_us: int) -> int:
    """Audit logs created before this instant live in the archive."""
    return now_us - ARCHIVE_AFTER_US
