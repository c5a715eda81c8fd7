"""Delivery: each manager's packs by e-mail, exactly once, logged in the warehouse."""

import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

from assets.common import SMTP_POOL, run_month, stamped, table_metadata, unstamped
from assets.review_packs import failed_packs
from attain.delivery.log import DeliveryLog
from attain.delivery.mailers import OutboxMailer, SmtpMailer
from attain.delivery.messages import headlines as team_headlines
from attain.delivery.messages import plan_messages
from attain.delivery.send import deliver
from attain.roster import roster_as_of
from pipelines.executors import DELIVERY_QUEUE
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, MailerResource, Warehouse


def make_mailer(mailer: MailerResource) -> OutboxMailer | SmtpMailer:
    """The configured way out: the outbox folder, or a real SMTP server."""
    if mailer.mode == "outbox":
        return OutboxMailer(mailer.outbox_dir, from_addr=mailer.from_addr, reply_to=mailer.reply_to)
    if mailer.mode == "smtp":
        return SmtpMailer(
            host=mailer.host,
            port=mailer.port,
            security=mailer.security,
            username=mailer.username,
            password=mailer.password or None,
            from_addr=mailer.from_addr,
            reply_to=mailer.reply_to,
            timeout=mailer.timeout,
            cafile=mailer.cafile or None,
        )
    raise Failure(description=f"mailer mode {mailer.mode!r} is not 'outbox' or 'smtp'")


@asset(
    metadata=MONTH_PARTITION,
    partitions_def=monthly,
    pool=SMTP_POOL,
    group_name="review",
    kinds={"email"},
    op_tags={DAGSTER_CELERY_QUEUE_TAG: DELIVERY_QUEUE},  # on Celery: its own queue, one worker process (issue 12)
)
def deliveries(
    context: AssetExecutionContext,
    attain: AttainConfig,
    warehouse: Warehouse,
    mailer: MailerResource,
    review_packs: pd.DataFrame,
    reps: pd.DataFrame,
    attainment: pd.DataFrame,
    payouts: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Send every manager one message with their team's packs; never twice, never to the wrong team.

    The metadata ``failed_deliveries`` lists each message that failed: recipient, address and the server's answer.
    """
    month = run_month(context)
    roster = roster_as_of(unstamped(reps), month)
    headlines = team_headlines(attainment.drop(columns=["month"]), payouts.drop(columns=["month"]), roster)
    messages = plan_messages(
        month,
        review_packs.drop(columns=["month"]),
        roster,
        headlines,
        attain.output_path,
        copy_to_reps=mailer.copy_to_reps,
        failed_packs=failed_packs(context.instance, month),
    )
    with warehouse.connect() as con:
        log = DeliveryLog(con, table="delivery_log")
        report = deliver(messages, make_mailer(mailer), log, resend=mailer.resend)
        table = log.records(month)
    for failure in report.failed:
        context.log.error(f"delivery failed: {failure}")
    for changed in report.changed:
        context.log.warning(f"pack changed after delivery, not re-sent: {changed}")
    return Output(
        stamped(table.drop(columns=["month"], errors="ignore"), month),
        metadata=table_metadata(
            table,
            sent=len(report.sent),
            skipped_already_sent=len(report.skipped),
            failed=len(report.failed),
            failed_deliveries=[
                {"recipient": r.message.to.person_id, "address": r.message.to.email, "answer": r.detail}
                for r in report.failed
            ],
            changed_after_delivery=MetadataValue.json([str(c) for c in report.changed]),
        ),
    )
