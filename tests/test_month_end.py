"""The month-end end to end: real DuckDB file, real PDFs, real .eml files, exactly-once delivery, period close.

One small demo company (12 reps, two per team) is generated once per module; each test runs the month-end
in its own ``var`` folder through the same entry point the CLI uses.
"""

import email
import shutil
from email import policy
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from attain.demo.basics import DEMO_MONTH
from attain.demo.company import generate
from attain.demo.maven import MAVEN_DIR, MAVEN_MONTH, load_maven
from attain.money import format_minor
from attain.periods import add_months
from attain.roster import roster_as_of
from pipelines.cli import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, main, run_months

#: Every test here runs whole months (the demo, Maven) end to end, some through a real SMTP server.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo-data"
    generate(folder, reps=12)
    return folder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, demo_data):
    """The demo month run once, shared by the read-only assertions below."""
    var = tmp_path_factory.mktemp("var")
    [summary] = run_months([DEMO_MONTH], var=var, data_dir=demo_data, show_progress=False)
    return var, summary


def _table(var: Path, name: str, month: str = DEMO_MONTH, column: str = "month") -> pd.DataFrame:
    with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * FROM attain.{name} WHERE {column} = ?", [month]).df()


def test_month_end_produces_packs_export_and_one_mail_per_manager(first_run):
    var, summary = first_run
    assert summary.success, summary.lines()
    reps = _table(var, "reps", column="as_of")
    managers = set(reps.loc[reps["role"] == "manager", "rep_id"])
    packs = _table(var, "review_packs")
    assert set(packs["person_id"]) >= set(reps["rep_id"]) - set(reps.loc[reps["leave_date"].notna(), "rep_id"])
    for path in packs["path"]:
        assert (var / "output" / path).read_bytes().startswith(b"%PDF")
    mails = sorted((var / "outbox").rglob("*.eml"))
    recipients = [email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"] for p in mails]
    manager_mail = reps.set_index("rep_id").loc[sorted(managers), "email"]
    assert len(mails) == len(managers)
    assert sorted(r.split("<")[-1].rstrip(">") for r in recipients) == sorted(manager_mail)
    finance = var / "output" / DEMO_MONTH / "finance"
    assert {p.suffix for p in finance.iterdir()} == {".csv", ".xlsx"}


def test_bad_rows_are_quarantined_and_counted(first_run):
    var, summary = first_run
    quarantine = _table(var, "quarantine", column="as_of")
    rows = quarantine[["source_file", "source_row"]].drop_duplicates()
    assert len(rows) == summary.counts["quarantined_rows"] >= 4
    assert quarantine["reason"].str.len().min() > 20
    assert set(quarantine["column"]) >= {"amount", "owner_id"}


def test_payouts_equal_ledger_to_the_cent_and_pdf_prints_them(first_run):
    var, _ = first_run
    ledger, payouts = _table(var, "incentive_ledger"), _table(var, "payouts")
    by_rep = ledger.groupby("rep_id")["amount_minor"].sum()
    assert (payouts.set_index("rep_id")["payable_minor"] == by_rep.reindex(payouts["rep_id"]).to_numpy()).all()
    rep = payouts.sort_values("payable_minor").iloc[-1]
    packs = _table(var, "review_packs").set_index("person_id")
    text = "".join(page.extract_text() for page in PdfReader(var / "output" / packs.loc[rep["rep_id"], "path"]).pages)
    payable = format_minor(int(rep["payable_minor"]), rep["currency"])
    whole, cents = payable.split(".")
    assert f"{int(whole):,}.{cents}" in text


def test_rerun_gives_identical_figures_and_sends_nothing(first_run, demo_data):
    var, _ = first_run
    before = {name: _table(var, name) for name in ("credited_deals", "attainment", "incentive_ledger", "payouts")}
    mails_before = {p: p.read_bytes() for p in (var / "outbox").rglob("*.eml")}
    [summary] = run_months([DEMO_MONTH], var=var, data_dir=demo_data, show_progress=False)
    assert summary.success
    assert summary.counts["sent"] == 0 and summary.counts["skipped"] == len(mails_before)
    assert {p: p.read_bytes() for p in (var / "outbox").rglob("*.eml")} == mails_before
    for name, frame in before.items():
        pd.testing.assert_frame_equal(_table(var, name), frame, obj=name)


def test_closed_month_is_frozen_and_late_deal_becomes_next_month_adjustment(tmp_path, demo_data):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    closed, open_month = add_months(DEMO_MONTH, -1), DEMO_MONTH
    var = tmp_path / "var"
    [first] = run_months([closed], var=var, data_dir=data, show_progress=False, until="payouts")
    assert first.success, first.lines()
    assert main(["--var", str(var), "close", "--month", closed, "--by", "finance"]) == 0
    frozen = _table(var, "incentive_ledger", closed)

    # A won deal of the closed month arrives late, for the rep who earned most that month.
    deals = pd.read_csv(data / "deals.csv", dtype=str, keep_default_na=False)
    pay = _table(var, "payouts", closed)
    rep = pay[pay["currency"] == "USD"].sort_values("payable_minor").iloc[-1]["rep_id"]
    late = deals[(deals["owner_id"] == rep) & (deals["stage"] == "won")].iloc[0].copy()
    late["deal_id"], late["amount"], late["currency"] = "LATE-1", "50000.00", "USD"
    late["close_date"], late["cancelled_date"], late["cancel_reason"] = f"{closed}-15", "", ""
    late["created_date"] = f"{closed}-01"
    pd.concat([deals, late.to_frame().T]).to_csv(data / "deals.csv", index=False)

    [rerun_closed, next_month] = run_months(
        [closed, open_month], var=var, data_dir=data, show_progress=False, until="payouts"
    )
    assert rerun_closed.success and next_month.success
    pd.testing.assert_frame_equal(_table(var, "incentive_ledger", closed), frozen)
    ledger = _table(var, "incentive_ledger", open_month)
    adjustments = ledger[(ledger["kind"] == "adjustment") & (ledger["rep_id"] == rep)]
    assert not adjustments.empty and set(adjustments["for_month"]) == {closed}
    assert adjustments["amount_minor"].sum() > 0

    assert main(["--var", str(var), "reopen", "--month", closed, "--reason", "late deal LATE-1"]) == 0
    with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
        log = con.execute("SELECT * FROM period_log").df()
    assert "late deal LATE-1" in log.to_string()


def test_delivery_through_a_real_smtp_server(first_run, tmp_path, monkeypatch):
    """The month's packs sent by the `deliveries` asset over STARTTLS + AUTH to a server the test runs."""
    from tests.smtp_server import PASSWORD, USER, SmtpTestServer, self_signed_certificate

    var, _ = first_run
    copy = tmp_path / "var"
    shutil.copytree(var, copy, ignore=shutil.ignore_patterns("outbox", "dagster"))
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE delivery_log")
    server = SmtpTestServer(self_signed_certificate(tmp_path))
    server.start()
    try:
        for key, value in {
            "MAILER": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "starttls",
            "SMTP_USER": USER,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_CAFILE": server.cafile,
            "MAIL_FROM": "attain@acme.example",
        }.items():
            monkeypatch.setenv(f"ATTAIN_{key}", value)
        [summary] = run_months([DEMO_MONTH], var=copy, show_progress=False, only=["deliveries"])
    finally:
        server.stop()
    assert summary.success, summary.lines()
    packs = _table(copy, "review_packs")
    roster = roster_as_of(_table(copy, "reps", column="as_of").drop(columns=["as_of"]), DEMO_MONTH)
    managers = roster[roster["role"] == "manager"]
    assert len(server.received) == len(managers)
    for received in server.received:
        message = email.message_from_bytes(received.data, policy=policy.default)
        [manager_id] = managers.loc[managers["email"] == received.rcpt_tos[0], "rep_id"]
        team = set(roster.loc[roster["manager_id"] == manager_id, "rep_id"])
        attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
        expected = packs[
            ((packs["kind"] == "rep") & packs["person_id"].isin(team))
            | ((packs["kind"] == "manager") & (packs["person_id"] == manager_id))
        ]
        assert sorted(attached) == sorted(Path(p).name for p in expected["path"])
        for path in expected["path"]:
            assert attached[Path(path).name] == (copy / "output" / path).read_bytes()


@pytest.mark.skipif(not MAVEN_DIR.is_dir(), reason="the Maven sample is not at ../shared/datasets/maven-crm")
def test_maven_sample_runs_to_payouts_with_every_deal_kept(tmp_path):
    load_maven(MAVEN_DIR, tmp_path / "data")
    [summary] = run_months(
        [MAVEN_MONTH], var=tmp_path / "var", data_dir=tmp_path / "data", show_progress=False, until="payouts"
    )
    assert summary.success, summary.lines()
    assert summary.counts["deals"] == 8800 and summary.counts.get("quarantined_rows", 0) == 0
    credited = _table(tmp_path / "var", "credited_deals", MAVEN_MONTH)
    won_in_december = sum(
        1
        for line in (MAVEN_DIR / "sales_pipeline.csv").read_text().splitlines()[1:]
        if line.split(",")[4] == "Won" and line.split(",")[6].startswith(MAVEN_MONTH)
    )
    assert (credited["credit_month"] == MAVEN_MONTH).sum() == won_in_december


def test_a_complete_run_is_done_and_exits_0(first_run):
    _, summary = first_run
    assert summary.lines()[0] == f"month-end {DEMO_MONTH}: done"
    assert summary.exit_code == EXIT_OK and not summary.failed_packs and not summary.failed_deliveries


def test_mail_server_down_lists_each_recipient_with_the_answer_and_exits_3(first_run, tmp_path, monkeypatch, capsys):
    """Every delivery refused by a server that is not running: "done with problems", one line per manager."""
    from tests.smtp_server import free_port

    var, _ = first_run
    copy = tmp_path / "var"
    shutil.copytree(var, copy, ignore=shutil.ignore_patterns("outbox", "dagster"))
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE delivery_log")
    port = free_port()  # nobody listens: connection refused
    for key, value in {
        "MAILER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
    }.items():
        monkeypatch.setenv(f"ATTAIN_{key}", value)
    code = main(["--var", str(copy), "run", "--month", DEMO_MONTH, "--only", "deliveries", "--quiet"])
    out = capsys.readouterr().out.splitlines()
    assert code == EXIT_PARTIAL == 3
    assert out[0] == f"month-end {DEMO_MONTH}: done with problems"
    reps = _table(copy, "reps", column="as_of")
    managers = reps.loc[reps["role"] == "manager"].drop_duplicates("rep_id").sort_values("rep_id")
    assert f"  deliveries: 0 sent, 0 already sent, {len(managers)} failed" in out
    failed = [line for line in out if line.startswith("  delivery FAILED to ")]
    refused = f"127.0.0.1:{port} unreachable: ConnectionRefusedError [Errno 111] Connection refused"
    assert failed == [
        f"  delivery FAILED to {m.rep_id} <{m.email}>: gave up after "
        + ("5 attempts" if i == 0 else "1 attempt (the previous message ran out of retries)")
        + f": {refused}"
        for i, m in enumerate(managers.itertuples())
    ]


def test_a_step_failing_on_something_other_than_input_exits_4(first_run, tmp_path, capsys):
    var, _ = first_run
    copy = tmp_path / "var"
    shutil.copytree(var, copy, ignore=shutil.ignore_patterns("outbox", "dagster", "output"))
    (copy / "output").write_text("a file where the output folder should be")
    code = main(["--var", str(copy), "run", "--month", DEMO_MONTH, "--only", "finance_export", "--quiet"])
    out = capsys.readouterr().out.splitlines()
    assert code == EXIT_FAILED == 4
    assert out[0] == f"month-end {DEMO_MONTH}: FAILED" and "  failed steps: finance_export" in out
    assert "Traceback" not in "\n".join(out)


def test_a_pack_that_fails_fails_alone_and_the_rest_are_delivered(first_run, tmp_path, capsys):
    """A rep pack that cannot be written (a folder stands at its path): the other packs are made and delivered,
    the rep's manager is told in the e-mail, and the run ends "done with problems"."""
    var, _ = first_run
    copy = tmp_path / "var"
    shutil.copytree(var, copy, ignore=shutil.ignore_patterns("outbox", "dagster", "output"))
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE delivery_log")
    before = _table(copy, "review_packs")
    victim = before.loc[before["kind"] == "rep"].iloc[0]
    (copy / "output" / victim["path"]).mkdir(parents=True)
    code = main(["--var", str(copy), "run", "--month", DEMO_MONTH, "--only", "review_packs,deliveries", "--quiet"])
    out = capsys.readouterr().out.splitlines()
    reason = f"the rep pack for {victim['person_id']} failed: IsADirectoryError: [Errno 21] Is a directory"
    assert code == EXIT_PARTIAL
    assert out[0] == f"month-end {DEMO_MONTH}: done with problems"
    [failed] = [line for line in out if line.startswith("  pack FAILED: ")]
    assert failed.startswith(f"  pack FAILED: {reason}: ") and failed.endswith(
        f" -> '{copy / 'output' / victim['path']}'"
    )
    assert not list((copy / "output").rglob(".*.pdf.*")), "no temporary file left behind"
    packs = _table(copy, "review_packs")
    assert len(packs) == len(before) - 1 and victim["person_id"] not in set(packs["person_id"])
    roster = roster_as_of(_table(copy, "reps", column="as_of").drop(columns=["as_of"]), DEMO_MONTH)
    manager_id = roster.set_index("rep_id").loc[victim["person_id"], "manager_id"]
    mails = {}
    for path in (copy / "outbox" / DEMO_MONTH).glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        mails[message["To"].addresses[0].addr_spec] = message
    managers = roster[roster["role"] == "manager"]
    assert len(mails) == len(managers), "every manager got their message"
    for manager in managers.itertuples():
        body = mails[manager.email].get_body(("plain",)).get_content()
        attached = sorted(part.get_filename() for part in mails[manager.email].iter_attachments())
        members = roster.loc[roster["manager_id"] == manager.rep_id, "rep_id"]
        team = packs[
            ((packs["kind"] == "rep") & packs["person_id"].isin(members))
            | ((packs["kind"] == "manager") & (packs["person_id"] == manager.rep_id))
        ]
        assert attached == sorted(Path(p).name for p in team["path"])
        assert (reason in body) == (manager.rep_id == manager_id), "only the rep's own manager reads about it"


def test_chinese_packs_of_the_demo_month_have_no_english_word(first_run):
    """Issue 13 item 1: every zh_CN pack, read back page by page, holds no English word once the names are
    taken out (people, teams, regions, accounts, products, deal, plan and component ids, currency codes, who
    set each target and why, as typed into the targets file, and that file's columns and words in the target
    review's rows to copy)."""
    from attain.measures.target_review import TARGETS_FILE_COLUMNS
    from tests.test_pack_language import english_words

    var, _ = first_run
    reps, deals = _table(var, "reps", column="as_of"), _table(var, "deals", column="as_of")
    ledger, targets = _table(var, "incentive_ledger"), _table(var, "targets", column="as_of")
    assert ledger["reason_code"].str.len().min() > 0, "every line keeps its reason code"
    names = [*reps["name"], *reps["team"], *reps["region"], *deals["account"], *deals["product"], *deals["deal_id"]]
    names += [*ledger["component"], *ledger["plan_id"], *ledger["currency"], *targets["reason"], *targets["author"]]
    # The target review's rows to copy into the targets file: its columns and words are the file's format.
    names += [*TARGETS_FILE_COLUMNS, *targets["scope"], *targets["metric"]]
    packs = _table(var, "review_packs")
    chinese = packs[packs["locale"] == "zh_CN"]
    assert len(chinese) >= 3 and "manager" in set(chinese["kind"])
    for path in chinese["path"]:
        for number, page in enumerate(PdfReader(var / "output" / path).pages, start=1):
            assert english_words(page.extract_text(), names) == [], f"{path} page {number}"
