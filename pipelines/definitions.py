"""The one Definitions object: every asset, check, job, schedule, sensor and resource of Attain."""

from __future__ import annotations

from dagster import Definitions, colored_console_logger, load_assets_from_modules

from assets import attainment, delivery, finance, incentives, ingest, review_packs, satisfaction
from assets.whatif import whatif_job
from checks.asset_checks import ALL_CHECKS
from pipelines.as_of import as_of_review
from pipelines.executors import default_execution, month_end_executor
from pipelines.jobs import month_end_job
from pipelines.progress import progress_logger
from pipelines.resources import default_resources
from pipelines.schedules import month_end_schedule
from pipelines.sensors import failure_alert_sensors

#: The stages in data-flow order (the CLI's progress bar follows it).
STAGE_MODULES = (ingest, attainment, satisfaction, incentives, finance, review_packs, delivery)


def build_definitions(**resource_overrides) -> Definitions:
    """Definitions with the default resources, or with those given (tests pass a tmp folder)."""
    resources = default_resources(**resource_overrides)
    return Definitions(
        assets=load_assets_from_modules(list(STAGE_MODULES)),
        asset_checks=ALL_CHECKS,
        jobs=[month_end_job, as_of_review, whatif_job],
        schedules=[month_end_schedule],
        sensors=failure_alert_sensors(resources["mailer"]),  # the alert goes through the mailer's SMTP server
        resources=resources,
        executor=month_end_executor(default_execution()),  # in-process unless ATTAIN_EXECUTOR=celery
        loggers={"console": colored_console_logger, "progress": progress_logger},
    )


defs = build_definitions()
