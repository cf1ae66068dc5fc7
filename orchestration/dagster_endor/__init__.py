"""The Endor Labs export on Dagster: one partition per namespace, each a `meltano run`.

``dagster dev -m orchestration.dagster_endor.definitions`` loads it (see README, "Scaling out").
"""
