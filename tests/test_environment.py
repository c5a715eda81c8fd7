"""Settings in one place: only pipelines/resources.py reads the environment; one SMTP server for mail and alert."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.delivery import make_mailer
from attain.delivery.log import DeliveryLog
from attain.delivery.messages import plan_messages
from attain.delivery.send import deliver
from pipelines.resources import (
    MailerResource,
    default_resources,
    failure_alert_params,
    mailer_from_env,
    read_environment,
)
from tests.smtp_server import PASSWORD, USER, SmtpTestServer, self_signed_certificate
from tests.test_delivery import HEADLINES, MONTH, ROSTER, _write_pack

REPO = Path(__file__).resolve().parents[1]
READS_ENVIRONMENT = re.compile(r"os\.environ|getenv")
SMTP = {"SMTP_HOST": "mail.acme.example", "SMTP_PORT": "465", "SMTP_SECURITY": "ssl", "SMTP_USER": "attain-bot"}


def _set(monkeypatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"ATTAIN_{key}", value)


def test_only_the_resources_module_reads_the_environment():
    readers = sorted(
        str(path.relative_to(REPO))
        for package in ("attain", "assets", "checks", "pipelines")
        for path in (REPO / package).rglob("*.py")
        if READS_ENVIRONMENT.search(path.read_text(encoding="utf-8"))
    )
    assert readers == ["pipelines/resources.py"]


def test_the_alert_and_the_mailer_use_one_smtp_configuration(monkeypatch, tmp_path):
    _set(monkeypatch, {**SMTP, "MAILER": "smtp", "ALERT_TO": "ops@acme.example, finance@acme.example"})
    monkeypatch.delenv("ATTAIN_ALERT_SMTP_TYPE", raising=False)
    mailer = mailer_from_env(tmp_path)
    params = failure_alert_params()
    assert (params["smtp_host"], params["smtp_port"], params["smtp_user"]) == (
        mailer.host,
        mailer.port,
        mailer.username,
    )
    assert (mailer.host, mailer.port, mailer.username) == ("mail.acme.example", 465, "attain-bot")
    assert (mailer.security, params["smtp_type"]) == ("ssl", "SSL")  # one setting, each in its own spelling
    assert params["email_to"] == ["ops@acme.example", "finance@acme.example"]
    # the outbox mailer (the default) carries the same server, so the alert does not depend on ATTAIN_MAILER
    monkeypatch.delenv("ATTAIN_MAILER")
    assert mailer_from_env(tmp_path).mode == "outbox"
    assert failure_alert_params() == params
    # the alert follows the mailer it is given (build_definitions passes the resource's)
    given = MailerResource(host="relay.acme.example", port=25, security="starttls", username="")
    assert [failure_alert_params(given)[k] for k in ("smtp_host", "smtp_port", "smtp_type", "smtp_user")] == [
        "relay.acme.example",
        25,
        "STARTTLS",
        None,
    ]


def test_the_deprecated_alert_smtp_type_still_wins(monkeypatch):
    _set(monkeypatch, {**SMTP, "ALERT_TO": "ops@acme.example", "ALERT_SMTP_TYPE": "STARTTLS"})
    assert failure_alert_params()["smtp_type"] == "STARTTLS"
    monkeypatch.delenv("ATTAIN_ALERT_TO")
    assert failure_alert_params() is None


def test_timezone_and_schedule_reach_the_partitions_the_schedule_and_the_settings(tmp_path):
    """Partitions and schedule are defined at import, so a fresh interpreter reads the environment."""
    probe = (
        "from pipelines.definitions import build_definitions\n"
        "from pipelines.partitions import monthly\n"
        f"defs = build_definitions(var={str(tmp_path / 'var')!r}, data_dir={str(tmp_path)!r})\n"
        "schedule = defs.get_schedule_def('month_end_schedule')\n"
        "print(monthly.timezone, defs.resources['attain'].settings().timezone, schedule.cron_schedule,\n"
        "      schedule.execution_timezone, schedule.default_status.value, sep='|')\n"
    )
    env = {**os.environ, "ATTAIN_TIMEZONE": "Asia/Tokyo", "ATTAIN_SCHEDULE_DAY": "5", "ATTAIN_SCHEDULE_HOUR": "7"}
    env |= {"ATTAIN_SCHEDULE_ON": "1", "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "Asia/Tokyo|Asia/Tokyo|0 7 5 * *|Asia/Tokyo|RUNNING"


def test_the_smtp_password_stays_out_of_config_repr_and_logs(monkeypatch, tmp_path):
    secret = "s3cret-Only-In-The-Env"
    _set(monkeypatch, {**SMTP, "MAILER": "smtp", "SMTP_PASSWORD": secret})
    mailer = default_resources(var=tmp_path / "var", data_dir=tmp_path)["mailer"]
    assert secret not in repr(mailer) and "ATTAIN_SMTP_PASSWORD" in repr(mailer)
    assert not read_environment().__dict__.keys() & {"smtp_password", "password"}
    seen = {}

    @dg.asset
    def uses_the_mailer(context: dg.AssetExecutionContext, mailer: MailerResource) -> None:
        context.log.info(f"mailer {mailer.host}:{mailer.port}")
        seen["password"] = mailer.password

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([uses_the_mailer], resources={"mailer": mailer}, instance=instance)
    assert result.success and seen["password"] == secret  # resolved when the run starts, for the run only
    logged = json.dumps(result.dagster_run.run_config, default=str) + repr(result.dagster_run)
    logged += "".join(repr(record) for record in instance.all_logs(result.run_id))
    assert "mail.acme.example:465" in logged and secret not in logged


def test_the_password_from_the_environment_logs_in_to_a_real_server(monkeypatch, tmp_path):
    """ATTAIN_SMTP_* and the password go from the environment, through the resource, to a real SMTP login."""
    server = SmtpTestServer(self_signed_certificate(tmp_path))
    server.start()
    try:
        _set(monkeypatch, {"MAILER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port)})
        _set(monkeypatch, {"SMTP_SECURITY": "starttls", "SMTP_USER": USER, "SMTP_CAFILE": server.cafile})
        _set(monkeypatch, {"SMTP_PASSWORD": PASSWORD, "MAIL_FROM": "attain@acme.example"})
        resource = mailer_from_env(tmp_path).process_config_and_initialize()  # what a run does
        out_dir = tmp_path / "out"
        packs = pd.DataFrame([_write_pack(out_dir, "manager", "M1")])
        messages = plan_messages(MONTH, packs, ROSTER, HEADLINES, out_dir)
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
            report = deliver(messages, make_mailer(resource), DeliveryLog(con), sleep=lambda _: None)
    finally:
        server.stop()
    assert len(report.sent) == 1 and [r.rcpt_tos for r in server.received] == [["alice@example.com"]]
    assert resource.password == PASSWORD and server.received[0].mail_from == "attain@acme.example"


def test_attain_warehouse_selects_the_backend_and_its_password_stays_an_envvar(monkeypatch, tmp_path):
    secret, url = "pg-S3cret-Only-In-The-Env", "postgresql://attain@db.internal:5432/attain"
    for name in ("ATTAIN_WAREHOUSE", "ATTAIN_WAREHOUSE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    embedded = default_resources(var=tmp_path / "var", data_dir=tmp_path)
    assert (
        embedded["warehouse"].database == embedded["io_manager"].database == str(tmp_path / "var" / "warehouse.duckdb")
    )

    monkeypatch.setenv("ATTAIN_WAREHOUSE", url)
    monkeypatch.setenv("ATTAIN_WAREHOUSE_PASSWORD", secret)
    shared = default_resources(var=tmp_path / "var", data_dir=tmp_path)
    assert shared["warehouse"].database == shared["io_manager"].database == url
    shown = repr(shared["warehouse"]) + repr(shared["io_manager"]) + repr(read_environment())
    assert secret not in shown and "ATTAIN_WAREHOUSE_PASSWORD" in shown

    elsewhere = tmp_path / "elsewhere.duckdb"
    monkeypatch.setenv("ATTAIN_WAREHOUSE", f"duckdb://{elsewhere}")
    assert default_resources(var=tmp_path / "var", data_dir=tmp_path)["warehouse"].database == f"duckdb://{elsewhere}"
    with default_resources(var=tmp_path / "var", data_dir=tmp_path)["warehouse"].connect() as con:
        con.execute("CREATE TABLE probe (x INTEGER)")
    assert elsewhere.exists()

    monkeypatch.setenv("ATTAIN_WAREHOUSE", "postgresql://attain:inline@db.internal/attain")
    with pytest.raises(ValueError, match="holds a password"):
        default_resources(var=tmp_path / "var", data_dir=tmp_path)
