"""When the month-end runs by itself: a configurable day and hour of the following month."""

from __future__ import annotations

import os

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from pipelines.jobs import month_end_job

#: Day of the following month (1-28) and hour (0-23, in the partitions' time zone) of the run.
SCHEDULE_DAY = int(os.environ.get("ATTAIN_SCHEDULE_DAY", "3"))
SCHEDULE_HOUR = int(os.environ.get("ATTAIN_SCHEDULE_HOUR", "6"))

month_end_schedule = build_schedule_from_partitioned_job(
    month_end_job,
    name="month_end_schedule",
    description="Runs the month-end for the month just ended.",
    day_of_month=SCHEDULE_DAY,
    hour_of_day=SCHEDULE_HOUR,
    default_status=DefaultScheduleStatus.RUNNING
    if os.environ.get("ATTAIN_SCHEDULE_ON") == "1"
    else DefaultScheduleStatus.STOPPED,
)
