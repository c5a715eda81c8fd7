"""When the month-end runs by itself: a configurable day and hour of the following month."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from pipelines.jobs import month_end_job
from pipelines.resources import read_environment

_ENV = read_environment()
#: Day of the following month (1-28) and hour (0-23, in the partitions' time zone) of the run
#: (ATTAIN_SCHEDULE_DAY, ATTAIN_SCHEDULE_HOUR).
SCHEDULE_DAY = int(_ENV.schedule_day)
SCHEDULE_HOUR = int(_ENV.schedule_hour)

month_end_schedule = build_schedule_from_partitioned_job(
    month_end_job,
    name="month_end_schedule",
    description="Runs the month-end for the month just ended.",
    day_of_month=SCHEDULE_DAY,
    hour_of_day=SCHEDULE_HOUR,
    default_status=DefaultScheduleStatus.RUNNING if _ENV.schedule_on else DefaultScheduleStatus.STOPPED,
)
