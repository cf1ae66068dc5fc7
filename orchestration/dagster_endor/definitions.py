"""Dagster definitions: the export as one asset with one partition per namespace.

Each partition runs the worker command of ``worker.py`` (``meltano run
--state-id-suffix=<namespace> tap-endorlabs target-s3-endor``) in the Meltano
project through Dagster's own ``PipesSubprocessClient``.  ``dagster-meltano`` is
not used: its last release (1.5.5) requires ``dagster-shell<1``, which pins
Dagster back to 1.9, and its run op always passes ``--force``, which turns off
Meltano's refusal to start a second run of a state id that is running.

(No ``from __future__ import annotations`` here: Dagster reads the asset's
parameter annotations at run time to find its context and resources.)

Meltano holds the state (one state id per namespace, in the shared state
backend), so any Dagster worker can run any partition; Dagster only decides
which namespaces run when, and how many at once.
"""

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from orchestration.dagster_endor.worker import meltano_run_args, namespace_env

NAMESPACES_VARIABLE = "ENDOR_EXPORT_NAMESPACES"
PROJECT_DIR_VARIABLE = "ENDOR_EXPORT_MELTANO_PROJECT"
EVERY_12_HOURS = "0 */12 * * *"


class MeltanoProject(dg.ConfigurableResource):
    """Where the Meltano project is and which ``meltano`` runs it.

    Every other setting (API key, bucket, state backend) comes from the
    project's meltano.yml and the environment, as for a run by hand.
    """

    project_dir: str
    meltano: str = "meltano"


def build_definitions(namespaces: Sequence[str], project: MeltanoProject) -> dg.Definitions:
    """The export asset partitioned by ``namespaces``, its job and a 12-hourly schedule."""
    partitions = dg.StaticPartitionsDefinition(list(namespaces))

    @dg.asset(
        name="endorlabs_export",
        partitions_def=partitions,
        kinds={"meltano", "s3"},
        description="Endor Labs audit logs and findings of one namespace, exported to S3.",
    )
    def endorlabs_export(
        context: dg.AssetExecutionContext,
        meltano_project: MeltanoProject,
        pipes_subprocess_client: dg.PipesSubprocessClient,
    ) -> dg.MaterializeResult:
        """Run one namespace's worker; a non-zero exit fails the partition."""
        namespace = context.partition_key
        command = [meltano_project.meltano, *meltano_run_args(namespace)]
        pipes_subprocess_client.run(
            command=command,
            context=context,
            cwd=meltano_project.project_dir,
            env=namespace_env(namespace),
        )
        return dg.MaterializeResult(
            metadata={"namespace": namespace, "command": " ".join(command[1:])}
        )

    export_job = dg.define_asset_job("endorlabs_export_job", selection=[endorlabs_export])

    @dg.schedule(job=export_job, cron_schedule=EVERY_12_HOURS)
    def endorlabs_export_every_12h(
        context: dg.ScheduleEvaluationContext,
    ) -> Iterator[dg.RunRequest]:
        """One run per namespace; Dagster's run queue decides how many run at once."""
        tick = context.scheduled_execution_time.isoformat()
        for namespace in partitions.get_partition_keys():
            yield dg.RunRequest(run_key=f"{namespace}@{tick}", partition_key=namespace)

    return dg.Definitions(
        assets=[endorlabs_export],
        jobs=[export_job],
        schedules=[endorlabs_export_every_12h],
        resources={
            "meltano_project": project,
            "pipes_subprocess_client": dg.PipesSubprocessClient(),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What ``dagster dev -m orchestration.dagster_endor.definitions`` loads, from the environment.

    ``ENDOR_EXPORT_NAMESPACES`` lists the namespaces (comma-separated, for example
    ``acme.platform,acme.security``); ``ENDOR_EXPORT_MELTANO_PROJECT`` is the
    Meltano project directory (default: the current one).
    """
    listed = os.environ.get(NAMESPACES_VARIABLE, "")
    namespaces = [name.strip() for name in listed.split(",") if name.strip()]
    if not namespaces:
        raise ValueError(
            f"{NAMESPACES_VARIABLE} is empty: set it to the namespaces to export, one partition "
            "each, for example acme.platform,acme.security"
        )
    project_dir = os.environ.get(PROJECT_DIR_VARIABLE, str(Path.cwd()))
    return build_definitions(namespaces, MeltanoProject(project_dir=project_dir))
