"""Operations alerts: an e-mail when a month-end run fails (off unless configured)."""

from __future__ import annotations

from dagster import DefaultSensorStatus, make_email_on_run_failure_sensor

from pipelines.jobs import month_end_job
from pipelines.resources import MailerResource, failure_alert_params


def failure_alert_sensors(mailer: MailerResource | None = None) -> list:
    """The run-failure e-mail sensor, when ATTAIN_ALERT_TO names its recipients (comma-separated).

    It sends from ATTAIN_ALERT_FROM through the mailer's SMTP server (``mailer``, by default the one the
    environment configures: ATTAIN_SMTP_HOST, _PORT, _SECURITY, _USER and _PASSWORD), see
    ``pipelines.resources.failure_alert_params``. Off by default: nothing to configure for the demo, and no
    mail leaves a developer's machine by surprise.
    """
    params = failure_alert_params(mailer)
    if params is None:
        return []
    return [
        make_email_on_run_failure_sensor(
            **params,
            name="month_end_failure_email",
            monitored_jobs=[month_end_job],
            default_status=DefaultSensorStatus.RUNNING,
        )
    ]
