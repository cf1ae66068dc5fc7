"""One export worker: the `meltano run` command and environment for one namespace.

The README's "Scaling out" section, the Dagster definitions and the tests all
take the command from here, so what the README tells a user to run is what the
tests run.  A worker exports exactly one namespace (no children) under its own
state id (``<environment>:tap-endorlabs-to-target-s3-endor:<namespace>``);
every worker of the tenant points Meltano at the same state backend.
"""

from __future__ import annotations

TAP = "tap-endorlabs"
TARGET = "target-s3-endor"


def meltano_run_args(namespace: str) -> list[str]:
    """The arguments after ``meltano`` that export one namespace under its own state id.

    ``--state-id-suffix`` keeps one state per namespace, so workers never read or
    overwrite each other's bookmarks, and a namespace can move to another worker.
    """
    return ["run", f"--state-id-suffix={namespace}", TAP, TARGET]


def namespace_env(namespace: str) -> dict[str, str]:
    """The settings that narrow the tap to one namespace (environment variables win in Meltano)."""
    return {
        "TAP_ENDORLABS_NAMESPACE": namespace,
        "TAP_ENDORLABS_INCLUDE_CHILD_NAMESPACES": "false",
    }


def state_id(environment: str, namespace: str) -> str:
    """The state id Meltano gives a worker's run (``meltano state list`` shows it)."""
    return f"{environment}:{TAP}-to-{TARGET}:{namespace}"


def shell_lines(namespace: str) -> list[str]:
    """The worker as shell lines, as the README shows it."""
    exports = [f"export {name}={value}" for name, value in namespace_env(namespace).items()]
    return [*exports, " ".join(["meltano", *meltano_run_args(namespace)])]
