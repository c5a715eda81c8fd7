"""Operations alerts: an e-mail when a month-end run fails (off unless configured)."""

from __future__ import annotations

import os

from dagster import DefaultSensorStatus, make_email_on_run_failure_sensor

from pipelines.jobs import month_end_job


def failure_alert_sensors() -> list:
    """The run-failure e-mail sensor, when ATTAIN_ALERT_TO names its recipients (comma-separated).

    It uses ATTAIN_ALERT_FROM, ATTAIN_SMTP_HOST, ATTAIN_SMTP_PORT, ATTAIN_SMTP_USER and the password in
    ATTAIN_SMTP_PASSWORD; STARTTLS unless ATTAIN_ALERT_SMTP_TYPE=SSL. Off by default: nothing to configure
    for the demo, and no mail leaves a developer's machine by surprise.
    """
    recipients = [a.strip() for a in os.environ.get("ATTAIN_ALERT_TO", "").split(",") if a.strip()]
    if not recipients:
        return []
    return [
        make_email_on_run_failure_sensor(
            email_from=os.environ.get("ATTAIN_ALERT_FROM", "attain@localhost"),
            email_password=os.environ.get("ATTAIN_SMTP_PASSWORD", ""),
            email_to=recipients,
            smtp_host=os.environ.get("ATTAIN_SMTP_HOST", "localhost"),
            smtp_type=os.environ.get("ATTAIN_ALERT_SMTP_TYPE", "STARTTLS"),
            smtp_port=int(os.environ.get("ATTAIN_SMTP_PORT", "587")),
            smtp_user=os.environ.get("ATTAIN_SMTP_USER") or None,
            name="month_end_failure_email",
            monitored_jobs=[month_end_job],
            default_status=DefaultSensorStatus.RUNNING,
        )
    ]
