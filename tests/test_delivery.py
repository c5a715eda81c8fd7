"""Delivery of the review packs: planning, a real SMTP server (STARTTLS + AUTH), faults, exactly once."""

from __future__ import annotations

import email
import hashlib
import json
import threading
from dataclasses import replace
from email import policy
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from attain import warehouse
from attain.delivery.log import DeliveryLog
from attain.delivery.mailers import OutboxMailer, SmtpMailer
from attain.delivery.messages import DeliveryPlanError, check_recipients, headlines, plan_messages
from attain.delivery.send import deliver, packs_in_no_message
from attain.warehouse import WarehouseError
from tests.smtp_server import PASSWORD, USER, SmtpTestServer, free_port, self_signed_certificate, silent_listener

MONTH = "2026-03"
FROM = "Attain Sales Ops <salesops@example.com>"
REPLY_TO = "Sales Ops <salesops-help@example.com>"
ROSTER = pd.DataFrame(
    [
        ("M1", "Alice Archer", "alice@example.com", "manager", "", "East", "en"),
        ("M2", "王芳", "wang.fang@example.cn", "manager", "", "华东", "zh_CN"),
        ("R1", "Bob Baker", "bob@example.com", "rep", "M1", "East", "en"),
        ("R2", "Carol Cole", "carol@example.com", "rep", "M1", "East", "en"),
        ("R3", "李雷", "li.lei@example.cn", "rep", "M2", "华东", "zh_CN"),
        ("R4", "韩梅梅", "han.meimei@example.cn", "rep", "M2", "华东", "zh_CN"),
    ],
    columns=["rep_id", "name", "email", "role", "manager_id", "team", "locale"],
)
HEADLINES = pd.DataFrame(
    {
        "manager_id": ["M1", "M2"],
        "attainment": [0.925, 1.05],
        "currency": ["USD", "CNY"],
        "payable_minor": pd.array([1234567, 888800], dtype="Int64"),
    }
)
TEAM = {"M1": {"M1", "R1", "R2"}, "M2": {"M2", "R3", "R4"}}


def _write_pack(out_dir: Path, kind: str, person: str, salt: str = "") -> dict:
    rel = f"{MONTH}/{kind}/{person}.pdf"
    data = (
        f"%PDF-1.4\n% dummy {kind} pack of {person} {salt}\n".encode()
        + hashlib.sha256((person + salt).encode()).digest()
    )
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / rel).write_bytes(data)
    return {
        "month": MONTH,
        "person_id": person,
        "kind": kind,
        "locale": "en",
        "path": rel,
        "sha256": hashlib.sha256(data).hexdigest(),
    }


@pytest.fixture
def out_dir(tmp_path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def packs(out_dir) -> pd.DataFrame:
    rows = [_write_pack(out_dir, "manager", m) for m in ("M1", "M2")]
    rows += [_write_pack(out_dir, "rep", r) for r in ("R1", "R2", "R3", "R4")]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(cert):
    srv = SmtpTestServer(cert)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def log(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield DeliveryLog(con)
    con.close()


@pytest.fixture
def backend_log(warehouse_location):
    """The log in a fresh warehouse of each backend (the exactly-once tests run on DuckDB and PostgreSQL)."""
    with warehouse.connect(warehouse_location) as con:
        yield DeliveryLog(con)


def smtp(srv: SmtpTestServer, **kw) -> SmtpMailer:
    settings = dict(
        host="127.0.0.1",
        port=srv.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        from_addr=FROM,
        reply_to=REPLY_TO,
        timeout=5,
        cafile=srv.cafile,
    )
    return SmtpMailer(**(settings | kw))


def plan(packs, out_dir, **kw):
    return plan_messages(MONTH, packs, ROSTER, HEADLINES, out_dir, **kw)


def parsed(srv: SmtpTestServer) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(r.data, policy=policy.default) for r in srv.received]


def attached(msg) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in msg.iter_attachments()}


def never_sleep(seconds: float) -> None:
    """Backoff in tests: the schedule is asserted, not waited for."""


# ------------------------------------------------------------------------------------------ planning


def test_each_manager_gets_their_team_only_in_their_language(packs, out_dir):
    messages = plan(packs, out_dir)
    by_manager = {m.manager_id: m for m in messages}
    assert set(by_manager) == {"M1", "M2"}
    for manager, team in TEAM.items():
        assert {a.person_id for a in by_manager[manager].attachments} == team
        assert by_manager[manager].to.person_id == manager
    alice, wang = by_manager["M1"], by_manager["M2"]
    assert alice.subject == "Review packs for March 2026: East"
    assert "Team attainment (revenue, month): 92.5%" in alice.text
    assert "Total payable to the team: $12,345.67" in alice.text
    assert "Total payable to the team: $12,345.67" in alice.html
    assert wang.subject == "2026年3月 业绩评估报告：华东"
    assert "团队本月收入目标达成率：105.0%" in wang.text
    assert "团队应发激励合计：¥8,888.00" in wang.text
    assert alice.message_id != wang.message_id
    assert plan(packs, out_dir)[0].message_id == alice.message_id  # deterministic


def test_failed_packs_are_named_to_their_own_manager_only_and_the_rest_still_go(packs, out_dir):
    """M1's own pack and R3's pack failed: M1 still gets R1 and R2, M2 gets M2 and R4, each told of their team's."""
    made = packs[~packs["person_id"].isin(["M1", "R3"])]
    failed = [
        {"person_id": "M1", "kind": "manager", "locale": "en", "reason": "manager pack for M1 took too long"},
        {"person_id": "R3", "kind": "rep", "locale": "zh_CN", "reason": "the rep pack for R3 failed: OSError"},
    ]
    by_manager = {m.manager_id: m for m in plan(made, out_dir, failed_packs=failed)}
    assert {a.person_id for a in by_manager["M1"].attachments} == {"R1", "R2"}
    assert {a.person_id for a in by_manager["M2"].attachments} == {"M2", "R4"}
    alice, wang = by_manager["M1"].text, by_manager["M2"].text
    assert "Not attached: these packs could not be made in this run:\n- manager pack for M1 took too long\n" in alice
    assert "未附上：本次运行未能生成以下评估报告：\n- the rep pack for R3 failed: OSError\n" in wang
    assert "R3" not in alice and "M1 took" not in wang, "one manager's mail never names another team's pack"
    assert "<li>the rep pack for R3 failed: OSError</li>" in by_manager["M2"].html
    assert "Not attached" not in plan(packs, out_dir)[0].text


def test_html_body_escapes_names(packs, out_dir):
    roster = ROSTER.assign(name=ROSTER["name"].where(ROSTER["rep_id"] != "R1", "Bob <b>&</b>"))
    alice = plan_messages(MONTH, packs, roster, HEADLINES, out_dir)[0]
    assert "Bob &lt;b&gt;&amp;&lt;/b&gt;" in alice.html
    assert "Bob <b>&</b>" in alice.text


def test_rep_copies_carry_only_the_reps_own_pack(packs, out_dir):
    copies = [m for m in plan(packs, out_dir, copy_to_reps=True) if m.kind == "rep_copy"]
    assert {(m.to.person_id, m.manager_id) for m in copies} == {("R1", "M1"), ("R2", "M1"), ("R3", "M2"), ("R4", "M2")}
    assert all([a.person_id for a in m.attachments] == [m.to.person_id] for m in copies)
    assert copies[2].subject == "您的 2026年3月 业绩评估报告"


def test_a_pack_from_another_team_is_refused(packs, out_dir):
    alice, wang = plan(packs, out_dir)
    leaked = replace(alice, attachments=(*alice.attachments, wang.attachments[1]))
    with pytest.raises(DeliveryPlanError, match=r"R3.pdf .*to M1.*not in their team"):
        check_recipients([leaked], ROSTER)


def test_moved_rep_goes_with_the_roster_in_force(packs, out_dir):
    moved = ROSTER.assign(manager_id=ROSTER["manager_id"].where(ROSTER["rep_id"] != "R2", "M2"))
    by_manager = {m.manager_id: m for m in plan_messages(MONTH, packs, moved, HEADLINES, out_dir)}
    assert {a.person_id for a in by_manager["M1"].attachments} == {"M1", "R1"}
    assert {a.person_id for a in by_manager["M2"].attachments} == {"M2", "R2", "R3", "R4"}


@pytest.mark.parametrize(
    "change, error",
    [
        (
            lambda p, r: (pd.concat([p, p.iloc[[2]].assign(person_id="R9", path="R9.pdf")]), r),
            "packs for R9, who are not in the roster",
        ),
        (
            lambda p, r: (p.assign(path=p["path"].where(p["person_id"] != "R2", p["path"].iloc[2])), r),
            "listed for several people",
        ),
        (lambda p, r: (p, pd.concat([r, r.iloc[[2]]])), "several rows for rep_id R1"),
        (lambda p, r: (pd.concat([p, p.iloc[[0]].assign(path="M1-zh.pdf")]), r), "several manager packs for M1"),
    ],
)
def test_inconsistent_inputs_are_refused(packs, out_dir, change, error):
    bad_packs, bad_roster = change(packs, ROSTER)
    with pytest.raises(DeliveryPlanError, match=error):
        plan_messages(MONTH, bad_packs, bad_roster, HEADLINES, out_dir)


def test_headlines_sum_payouts_per_team_and_currency():
    attainment = pd.DataFrame(
        {
            "scope": ["manager", "manager", "rep", "manager"],
            "scope_id": ["M1", "M2", "R1", "M1"],
            "metric": ["revenue", "revenue", "revenue", "won_deals"],
            "period": ["month"] * 4,
            "attainment": [0.925, float("nan"), 1.5, 0.5],
        }
    )
    payouts = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4", "M1"],
            "currency": ["USD", "USD", "CNY", "USD", "USD"],
            "payable_minor": [100050, 23405, 500000, 700, 999],
        }
    )
    got = headlines(attainment, payouts, ROSTER)
    assert got["manager_id"].tolist() == ["M1", "M2", "M2"]
    assert got["currency"].tolist() == ["USD", "CNY", "USD"]
    assert got["payable_minor"].tolist() == [123455, 500000, 700]
    assert got["attainment"].iloc[0] == 0.925 and got["attainment"].iloc[1:].isna().all()
    with pytest.raises(DeliveryPlanError, match="one month's payouts"):
        headlines(attainment, payouts.assign(month=["2026-02", MONTH, MONTH, MONTH, MONTH]), ROSTER)


# -------------------------------------------------------------------------------- real SMTP server


def test_right_managers_receive_right_attachments_byte_for_byte(server, packs, out_dir, log):
    messages = plan(packs, out_dir, copy_to_reps=True)
    report = deliver(messages, smtp(server), log, sleep=never_sleep)
    assert len(report.sent) == 6 and report.ok
    received = {r.rcpt_tos[0]: m for r, m in zip(server.received, parsed(server), strict=True)}
    assert sorted(received) == sorted(ROSTER["email"])
    files = {row.person_id: (out_dir / row.path) for row in packs.itertuples()}
    emails = dict(zip(ROSTER["rep_id"], ROSTER["email"], strict=True))
    for manager, team in TEAM.items():
        msg = received[emails[manager]]
        assert attached(msg) == {files[p].name: files[p].read_bytes() for p in team}
        assert msg["From"] == FROM and msg["Reply-To"] == REPLY_TO
    for rep in ("R1", "R2", "R3", "R4"):
        assert attached(received[emails[rep]]) == {f"{rep}.pdf": files[rep].read_bytes()}
    wang = received["wang.fang@example.cn"]
    assert wang["Subject"] == "2026年3月 业绩评估报告：华东"
    assert "=?utf-8?" in server.received[1].data.decode("ascii").split("\r\n\r\n")[0].lower()  # RFC 2047
    assert "团队应发激励合计：¥8,888.00" in wang.get_body(("plain",)).get_content()
    rows = log.records(MONTH)
    assert rows["outcome"].tolist() == ["sent"] * 6 and rows["attempts"].tolist() == [1] * 6
    m1 = rows.loc[(rows["recipient"] == "M1")].iloc[0]
    assert json.loads(m1["attachments"]) == [
        {"name": f"{MONTH}/manager/M1.pdf", "sha256": packs["sha256"].iloc[0]},
        {"name": f"{MONTH}/rep/R1.pdf", "sha256": packs["sha256"].iloc[2]},
        {"name": f"{MONTH}/rep/R2.pdf", "sha256": packs["sha256"].iloc[3]},
    ]
    assert m1["message_id"] == received["alice@example.com"]["Message-ID"]


def test_rerun_sends_nothing_new(server, packs, out_dir, backend_log):
    log = backend_log
    deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
    again = deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
    assert (len(again.sent), len(again.skipped), len(again.failed)) == (0, 2, 0)
    assert len(server.received) == 2 and len(log.history()) == 2


def test_451_then_accept_is_retried_and_delivered_once(server, packs, out_dir, log):
    server.handler.temporary_failures = 1
    waits: list[float] = []
    report = deliver(plan(packs, out_dir), smtp(server), log, backoff=0.5, sleep=waits.append)
    assert len(report.sent) == 2 and waits == [0.5]
    assert [r.rcpt_tos for r in server.received] == [["alice@example.com"], ["wang.fang@example.cn"]]
    assert log.records(MONTH)["attempts"].tolist() == [2, 1]


def test_550_for_one_address_fails_it_and_the_others_get_their_mail(server, packs, out_dir, log):
    server.handler.reject["alice@example.com"] = "550 5.1.1 <alice@example.com>: user unknown"
    report = deliver(plan(packs, out_dir, copy_to_reps=True), smtp(server), log, sleep=never_sleep)
    assert [r.message.to.person_id for r in report.failed] == ["M1"]
    assert "550" in report.failed[0].detail and "user unknown" in report.failed[0].detail
    assert report.failed[0].attempts == 1 and len(report.sent) == 5
    assert "alice@example.com" not in {r.rcpt_tos[0] for r in server.received}
    rows = log.records(MONTH).set_index("recipient")
    assert rows.loc["M1", "outcome"] == "failed" and (rows.drop("M1")["outcome"] == "sent").all()
    assert "FAILED M1 <alice@example.com>" in report.summary()
    # once the address is fixed, the re-run delivers the failed message only
    server.handler.reject.clear()
    rerun = deliver(plan(packs, out_dir, copy_to_reps=True), smtp(server), log, sleep=never_sleep)
    assert [r.message.to.person_id for r in rerun.sent] == ["M1"] and len(rerun.skipped) == 5


def test_server_down_at_first_then_up_is_retried(cert, packs, out_dir, log):
    late = SmtpTestServer(cert)
    waits: list[float] = []

    def sleep_then_start(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            late.start()

    try:
        report = deliver(plan(packs, out_dir), smtp(late), log, backoff=1, sleep=sleep_then_start)
    finally:
        late.stop()
    assert waits == [1, 2] and len(report.sent) == 2 and not report.failed
    assert len(late.received) == 2
    assert log.records(MONTH)["attempts"].tolist() == [3, 1]


def test_server_down_throughout_is_reported_failed(cert, packs, out_dir, log):
    nobody = SmtpTestServer(cert, port=free_port())
    waits: list[float] = []
    report = deliver(plan(packs, out_dir), smtp(nobody), log, retries=3, backoff=1, sleep=waits.append)
    # the first message runs through the backoff; the second, with the server still down, is tried once
    assert waits == [1, 2, 4] and not report.sent
    assert [r.attempts for r in report.failed] == [4, 1]
    assert "gave up after 4 attempts" in report.failed[0].detail
    assert "gave up after 1 attempt (the previous message ran out of retries)" in report.failed[1].detail
    assert all("ConnectionRefusedError" in r.detail for r in report.failed)
    assert log.records(MONTH)["outcome"].tolist() == ["failed", "failed"]


def test_timeout_is_temporary(cert, packs, out_dir, log):
    with silent_listener() as port:
        mailer = smtp(SmtpTestServer(cert, port=port), timeout=0.2)
        report = deliver(plan(packs, out_dir)[:1], mailer, log, retries=1, sleep=never_sleep)
    assert report.failed[0].attempts == 2 and "timed out" in report.failed[0].detail


def test_wrong_password_is_a_permanent_failure(server, packs, out_dir, log):
    report = deliver(plan(packs, out_dir), smtp(server, password="wrong"), log, sleep=never_sleep)
    assert len(report.failed) == 2 and report.failed[0].attempts == 1
    assert "refused the login" in report.failed[0].detail and "ATTAIN_SMTP_PASSWORD" in report.failed[0].detail


def test_the_password_is_passed_in_never_read_from_the_environment(monkeypatch, server, packs, out_dir, log):
    """The resource resolves ATTAIN_SMTP_PASSWORD (tests/test_environment.py); the mailer only takes it."""
    monkeypatch.setenv("ATTAIN_SMTP_PASSWORD", PASSWORD)
    mailer = SmtpMailer("127.0.0.1", server.port, "starttls", USER, from_addr=FROM, cafile=server.cafile)
    report = deliver(plan(packs, out_dir), mailer, log, sleep=never_sleep)
    assert len(report.failed) == 2 and report.failed[0].attempts == 1 and not server.received
    assert report.failed[0].detail == "no SMTP password: set the environment variable ATTAIN_SMTP_PASSWORD"


def test_implicit_tls_mode(cert, packs, out_dir, log):
    tls = SmtpTestServer(cert, implicit_tls=True)
    tls.start()
    try:
        report = deliver(plan(packs, out_dir), smtp(tls, security="ssl"), log, sleep=never_sleep)
    finally:
        tls.stop()
    assert len(report.sent) == 2 and len(tls.received) == 2


def test_plain_connection_to_a_starttls_server_is_refused_permanently(server, packs, out_dir, log):
    report = deliver(plan(packs, out_dir)[:1], smtp(server, security="none"), log, sleep=never_sleep)
    assert report.failed[0].attempts == 1
    assert "AUTH extension not supported" in report.failed[0].detail
    assert "check the security setting" in report.failed[0].detail
    assert not server.received


def test_untrusted_certificate_is_refused_permanently(server, packs, out_dir, log):
    report = deliver(plan(packs, out_dir)[:1], smtp(server, cafile=None), log, sleep=never_sleep)
    assert report.failed[0].attempts == 1 and "certificate verify failed" in report.failed[0].detail
    assert not server.received


class KilledBefore:
    """A mailer whose process is killed when it is about to send message ``n + 1``."""

    def __init__(self, mailer, n: int, after_accept: bool = False) -> None:
        self.mailer, self.n, self.after_accept, self.calls = mailer, n, after_accept, 0

    def send(self, msg):
        self.calls += 1
        if self.calls > self.n:
            if self.after_accept:  # the server took it, the process died before recording it
                self.mailer.send(msg)
            raise SystemExit("killed")
        return self.mailer.send(msg)


def test_killed_half_way_and_rerun_no_duplicates_nobody_missed(server, packs, out_dir, warehouse_location):
    messages = plan(packs, out_dir, copy_to_reps=True)
    with warehouse.connect(warehouse_location) as con, pytest.raises(SystemExit):
        deliver(messages, KilledBefore(smtp(server), 3), DeliveryLog(con), sleep=never_sleep)
    assert len(server.received) == 3
    with warehouse.connect(warehouse_location) as con:
        assert DeliveryLog(con).records(MONTH)["outcome"].tolist() == ["sent"] * 3 + ["sending"]
        rerun = deliver(plan(packs, out_dir, copy_to_reps=True), smtp(server), DeliveryLog(con), sleep=never_sleep)
        rows = DeliveryLog(con).records(MONTH)
    assert (len(rerun.sent), len(rerun.skipped)) == (3, 3)
    recipients = sorted(r.rcpt_tos[0] for r in server.received)
    assert recipients == sorted(ROSTER["email"])  # everyone exactly once
    ids = [m["Message-ID"] for m in parsed(server)]
    assert len(set(ids)) == 6 and sorted(ids) == sorted(m.message_id for m in messages)
    assert rows["outcome"].tolist() == ["sent"] * 6 and "sending" not in rows["outcome"].tolist()
    assert "completes an interrupted run" in rows["detail"].iloc[3]


def test_killed_between_acceptance_and_record_resends_with_the_same_message_id(server, packs, out_dir, backend_log):
    log = backend_log
    with pytest.raises(SystemExit):
        deliver(plan(packs, out_dir), KilledBefore(smtp(server), 0, after_accept=True), log, sleep=never_sleep)
    rerun = deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
    assert len(rerun.sent) == 2
    ids = [m["Message-ID"] for m in parsed(server)]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]  # the one duplicate is recognisable


def test_resend_flag_resends_and_logs(server, packs, out_dir, log):
    first = deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
    again = deliver(plan(packs, out_dir), smtp(server), log, resend=True, sleep=never_sleep)
    assert [r.outcome for r in again.sent] == ["resent", "resent"]
    assert len(server.received) == 4
    assert {r.message_id for r in again.sent}.isdisjoint({r.message_id for r in first.sent})
    assert log.records(MONTH)["outcome"].tolist() == ["sent", "sent", "resent", "resent"]


def test_changed_pack_is_reported_not_resent(server, packs, out_dir, log):
    deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
    redone = _write_pack(out_dir, "rep", "R1", salt="corrected")
    packs = packs.assign(sha256=packs["sha256"].where(packs["person_id"] != "R1", redone["sha256"]))
    for _ in range(2):
        report = deliver(plan(packs, out_dir), smtp(server), log, sleep=never_sleep)
        assert [r.message.to.person_id for r in report.changed] == ["M1"]
        assert f"{MONTH}/rep/R1.pdf changed" in report.changed[0].detail
        assert [r.message.to.person_id for r in report.skipped] == ["M2"] and not report.sent
    assert len(server.received) == 2
    assert log.records(MONTH)["outcome"].tolist() == ["sent", "sent", "skipped"]  # logged once
    forced = deliver(plan(packs, out_dir), smtp(server), log, resend=True, sleep=never_sleep)
    assert [r.outcome for r in forced.sent] == ["resent", "resent"]
    assert attached(parsed(server)[2])["R1.pdf"] == (out_dir / redone["path"]).read_bytes()


# ---------------------------------------------------------------------------------------- outbox


def test_outbox_writes_one_eml_per_manager_and_reruns_add_nothing(packs, out_dir, log, tmp_path):
    outbox = OutboxMailer(tmp_path / "outbox", from_addr=FROM)
    report = deliver(plan(packs, out_dir), outbox, log)
    files = sorted((tmp_path / "outbox" / MONTH).glob("*.eml"))
    assert len(report.sent) == 2 and [f.name[:3] for f in files] == ["M1-", "M2-"]
    alice = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert alice["To"] == "Alice Archer <alice@example.com>"
    assert set(attached(alice)) == {"M1.pdf", "R1.pdf", "R2.pdf"}
    deliver(plan(packs, out_dir), outbox, log)
    assert sorted((tmp_path / "outbox" / MONTH).iterdir()) == files  # no temp files left either


def test_bad_address_and_tampered_file_fail_without_sending(packs, out_dir, log, tmp_path):
    roster = ROSTER.assign(email=ROSTER["email"].where(ROSTER["rep_id"] != "M1", "alice at example"))
    (out_dir / f"{MONTH}/rep/R3.pdf").write_bytes(b"%PDF-1.4 edited by hand")
    outbox = OutboxMailer(tmp_path / "outbox", from_addr=FROM)
    report = deliver(plan_messages(MONTH, packs, roster, HEADLINES, out_dir), outbox, log)
    details = {r.message.to.person_id: r.detail for r in report.failed}
    assert "bad address 'alice at example' for M1" in details["M1"]
    assert "R3.pdf changed after it was rendered" in details["M2"]
    assert not (tmp_path / "outbox").exists()


def test_a_pack_whose_manager_gets_no_message_is_reported(packs, out_dir, log, tmp_path):
    """M2's manager pack is missing, so R3's and R4's packs are in no message: named, not lost silently."""
    without_m2 = packs[packs["person_id"] != "M2"]
    deliver(plan(without_m2, out_dir), OutboxMailer(tmp_path / "outbox", from_addr=FROM), log)
    unsent = packs_in_no_message(log.records(MONTH), without_m2)
    assert unsent == [f"{MONTH}/rep/R3.pdf", f"{MONTH}/rep/R4.pdf"]
    deliver(plan(packs, out_dir), OutboxMailer(tmp_path / "outbox", from_addr=FROM), log)
    assert packs_in_no_message(log.records(MONTH), packs) == []


def test_two_processes_starting_one_message_leave_one_pending_row(packs, out_dir, warehouse_location):
    """The log's own lock: concurrent ``start`` calls for one message make one ``sending`` row, not four.

    A process that loses the race gets an error (PostgreSQL: the partial unique index; DuckDB: a write
    conflict) before anything is sent, so it cannot transmit the message a second time.
    """
    message = plan(packs, out_dir)[0]
    with warehouse.connect(warehouse_location) as con:
        DeliveryLog(con)  # the table exists before the race
    start, outcomes = threading.Barrier(4), []

    def begin() -> None:
        with warehouse.connect(warehouse_location) as own:
            log = DeliveryLog(own)
            start.wait()
            try:
                log.start(message)
                outcomes.append("started")
            except WarehouseError:
                outcomes.append("refused")

    threads = [threading.Thread(target=begin) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with warehouse.connect(warehouse_location) as con:
        rows = DeliveryLog(con).records(MONTH)
    assert rows["outcome"].tolist() == ["sending"]
    assert len(outcomes) == 4 and "started" in outcomes, outcomes
