"""Review packs as PDFs (attain.packs.render), read back with pypdf, plus the locale helpers (attain.packs.i18n).

The packs are rendered once per module (WeasyPrint costs ~0.3 s a page-set): R1 gets 25 extra won
deals so its pack runs over several pages.
"""

from __future__ import annotations

import dataclasses
import email
import hashlib
import io
import re
import time
from email import policy
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from attain.delivery.log import DeliveryLog
from attain.delivery.mailers import OutboxMailer
from attain.delivery.messages import headlines, plan_messages
from attain.delivery.send import deliver
from attain.packs import i18n
from attain.packs.merge import strip_page_labels
from attain.packs.render import (
    TEMPLATES_DIR,
    WORD_CHUNK,
    ZERO_WIDTH_SPACE,
    FetchRefused,
    PackFailure,
    PackJob,
    Renderer,
    TemplatesOnlyFetcher,
    css_string,
    fit_text,
    render_packs,
)
from attain.packs.review import manager_review, pack_list, rep_review
from attain.roster import roster_as_of
from attain.settings import Settings
from tests import measures_builders as build
from tests.test_review import INJECTION, MONTH, SETTINGS, make_tables

FINGERPRINT = "fp-3f9a1c"


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("out")
    return out, render_packs(MONTH, make_tables(extra_won_deals=25), SETTINGS, out, FINGERPRINT, processes=1).table


def _pdf(packs, person_id: str) -> PdfReader:
    out, table = packs
    return PdfReader(out / table.set_index("person_id").loc[person_id, "path"])


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def test_review_packs_table_points_at_the_files(packs):
    out, table = packs
    assert list(table.columns) == ["month", "person_id", "kind", "locale", "path", "sha256"]
    assert list(table[["person_id", "kind", "locale"]].itertuples(index=False, name=None)) == [
        ("R1", "rep", "en"),
        ("R2", "rep", "zh_CN"),
        ("R3", "rep", "en"),
        ("M1", "manager", "zh_CN"),
    ]
    assert table.loc[0, "path"] == "2026-10/packs/rep-R1.en.pdf"
    for row in table.itertuples():
        assert hashlib.sha256((out / row.path).read_bytes()).hexdigest() == row.sha256
    assert not list(out.rglob(".*.pdf.*")), "no temporary files left behind"


def test_rep_pack_prints_the_ledger_and_attainment(packs):
    text = _text(_pdf(packs, "R1"))
    # Ledger: commission 56,000 + 25 x 10,000 / 20 = 68,500; bonus 50,000; clawback -12,345.
    for amount, explanation in [
        ("$685.00", "5% of credited revenue"),
        ("$500.00", "Bonus for reaching 100% of the monthly target"),
        ("-$123.45", "Clawback: deal D-0999 cancelled on 2026-10-12"),
    ]:
        assert re.search(re.escape(amount), text) and explanation in text
    assert re.search(r"Total payable\s*\$1,061\.55", text)  # 68,500 + 50,000 - 12,345
    # Attainment: 1,370,000 / 1,000,000 this month; 8,750,000 / 10,000,000 year to date.
    assert "$13,700.00" in text and "137.0%" in text and "87.5%" in text
    assert "not enough responses (3 of the 5 needed)" in text
    assert "Alice Martin: reach $12,000.00 of credited revenue and 4 won deals" in text


def test_page_x_of_y_on_a_multipage_pack(packs):
    reader = _pdf(packs, "R1")
    n = len(reader.pages)
    assert n >= 3
    assert sum("Extra account" in page.extract_text() for page in reader.pages) >= 2
    for i, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"page {i} of {n}" in text
        assert "Alice Martin · Monthly review" in text and "October 2026" in text  # running header
        if "Extra account" in text:  # the won-deals table runs over pages 2 and 3: its header repeats
            assert "Deal Account Product Closed Amount" in text


def test_injection_prints_literally_and_nothing_is_fetched(packs):
    assert INJECTION in _text(_pdf(packs, "R1"))
    renderer = Renderer()
    review = rep_review("R1", MONTH, make_tables(), SETTINGS)
    html = renderer.html(review, "en", FINGERPRINT)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html and INJECTION not in html
    renderer.pdf(html)
    assert renderer.fetcher.refused == []


def test_chinese_pack_has_real_chinese_text(packs):
    reader = _pdf(packs, "R2")
    text = _text(reader)
    for phrase in (
        "李娜",
        "月度评估，2026年10月",
        "上海贸易有限公司",
        "薪酬明细",
        "佣金",
        "2026年10月9日",
        "US$252.00",
        "第 1 页，共 3 页",  # the review, then coaching, the rep's own view and the sign-off
    ):
        assert phrase in text
    fonts = {
        str(f["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()
        if "/BaseFont" in f.get_object()
    }
    assert any("WenQuanYi" in f for f in fonts), fonts


def test_manager_pack_ranks_and_holds_each_member(packs):
    reader = _pdf(packs, "M1")
    text = _text(reader)
    assert "团队评估：陈梅" in text and "3 名团队成员" in text
    assert "本月有 2 行输入数据被隔离" in text
    ranking = text[text.index("排名") : text.index("团队应付合计")]
    assert ranking.index("Alice Martin") < ranking.index("李娜") < ranking.index("Bob Stone")
    assert re.search(r"团队应付合计\s*US\$1,313\.55", text)  # 106,155 + 25,200
    n = len(reader.pages)
    assert f"第 {n} 页，共 {n} 页" in reader.pages[-1].extract_text()


def test_manager_pack_merges_each_review_once_with_one_outline_entry_and_page_labels_per_member(packs):
    """M1 reads Chinese: R2's own pack is merged as it is; R1 and R3 (English readers) are rendered once in
    Chinese for it. The merged pack's page count is the sum of its parts and every page is numbered over
    the whole pack (the parts' own labels are gone)."""
    out, _ = packs
    reader = _pdf(packs, "M1")
    tables, renderer = make_tables(extra_won_deals=25), Renderer()
    review = manager_review("M1", MONTH, tables, SETTINGS)

    def pages(html: str) -> int:
        return len(PdfReader(io.BytesIO(renderer.pdf(html))).pages)

    summary = pages(renderer.html(review, "zh_CN", FINGERPRINT))
    members = {m["person"]["rep_id"]: m for m in review["members"]}
    parts = {r: pages(renderer.html(members[r], "zh_CN", FINGERPRINT)) for r in ("R1", "R3")}
    parts["R2"] = len(_pdf(packs, "R2").pages)
    n = len(reader.pages)
    assert n == summary + sum(parts.values()) and parts["R1"] >= 3
    outline = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in outline] == ["团队评估：陈梅", "Alice Martin", "李娜", "Bob Stone"]
    starts = [reader.get_destination_page_number(item) for item in outline]
    assert starts == [0, summary, summary + parts["R1"], summary + parts["R1"] + parts["R2"]]
    sections = reader.outline[reader.outline.index(outline[1]) + 1]  # R1's sections (h2), nested under it
    zh = i18n.translator("zh_CN").gettext
    assert [s.title for s in sections][:2] == [zh("Targets and attainment"), zh("Pipeline and win rate")]
    for i, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert text.count("页，共") == 1 and f"第 {i} 页，共 {n} 页" in text, (i, text[-200:])
    assert "月度评估，2026年10月" in reader.pages[summary].extract_text(), "R1's review is in the manager's language"
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN" and _pdf(packs, "R1").trailer["/Root"]["/Lang"] == "en"
    assert reader.metadata.title == "团队评估：陈梅，2026年10月" and reader.metadata["/CreationDate"].startswith(
        "D:2026"
    )
    assert not (out / MONTH / "pack-parts").exists(), "the Chinese renderings of R1 and R3 were merged, then removed"


def test_a_page_must_have_exactly_one_label_to_be_renumbered():
    """The merge finds each page's "page X of Y" by its colour (pack.css): no label, or two, stops it."""
    label = b"0.419608 0.447059 0.505882 rg\nBT\n/F1 10 Tf\n[<0053>0] TJ\nET\n"
    other = b"0.419608 0.447059 0.501961 rg\nBT\n/F1 10 Tf\n[<0054>0] TJ\nET\n"
    assert strip_page_labels(other + label) == other + b"0.419608 0.447059 0.505882 rg\n\n"
    for page in (other, label + label):
        with pytest.raises(ValueError, match="page labels, not 1"):
            strip_page_labels(page)


def test_a_rerun_writes_the_same_bytes(packs, tmp_path):
    _, first = packs
    again = render_packs(MONTH, make_tables(extra_won_deals=25), SETTINGS, tmp_path, FINGERPRINT, processes=2).table
    assert list(again["sha256"]) == list(first["sha256"])


def test_pdf_metadata_names_person_month_and_fingerprint(packs):
    meta = _pdf(packs, "R1").metadata
    assert meta.title == "Monthly review: Alice Martin, October 2026"
    assert FINGERPRINT in meta.subject and "2026-10" in meta.subject
    assert {"2026-10", "R1", f"fingerprint:{FINGERPRINT}"} <= {k.strip() for k in meta["/Keywords"].split(",")}
    assert meta["/CreationDate"].startswith("D:20261031")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.com/logo.png",
        "data:text/css,body{color:red}",
        (TEMPLATES_DIR / ".." / "attain" / "money.py").as_uri(),
        "file://otherhost" + (TEMPLATES_DIR / "pack.css").as_posix(),
    ],
)
def test_fetcher_refuses_everything_outside_the_templates(url):
    fetcher = TemplatesOnlyFetcher(TEMPLATES_DIR)
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_template_files_and_weasyprint_loads_nothing_else():
    fetcher = TemplatesOnlyFetcher(TEMPLATES_DIR)
    assert fetcher.fetch((TEMPLATES_DIR / "pack.css").as_uri()).read().startswith(b"/*")
    renderer = Renderer()
    hostile = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>'
        '<img src="file:///etc/passwd"><p>x</p></body></html>'
    )
    assert renderer.pdf(hostile).startswith(b"%PDF")
    assert set(renderer.fetcher.refused) == {"http://127.0.0.1:9/x.css", "file:///etc/passwd"}


def test_css_string_cannot_break_out():
    assert css_string('a "b" </style>') == '"a \\000022b\\000022 \\00003c\\00002fstyle\\00003e"'


def test_locale_formatting():
    assert i18n.format_money(-123450, "USD", "en") == "-$1,234.50"
    assert i18n.format_money(123450, "CNY", "zh_CN") == "¥1,234.50"
    assert i18n.format_money(1234, "JPY", "en") == "¥1,234"
    assert i18n.format_month("2026-10", "en") == "October 2026"
    assert i18n.format_month("2026-10", "zh_CN") == "2026年10月"
    assert i18n.format_percent(1.0456, "en") == "104.6%"
    assert i18n.format_percent(float("nan"), "en") == i18n.format_percent(None, "zh_CN") == "—"
    assert i18n.format_date(pd.Timestamp("2026-10-05"), "zh_CN") == "2026年10月5日"


def test_translator_reads_po_and_falls_back_to_english():
    assert i18n.translator("zh_CN").gettext("Pay statement") == "薪酬明细"
    assert i18n.translator("en").gettext("Pay statement") == "Pay statement"
    assert i18n.translator("zh_CN").gettext("a label nobody translated") == "a label nobody translated"
    with pytest.raises(i18n.LocaleError, match=r"fr.*messages\.po"):
        i18n.translator("fr")


def _render_seconds(renderer: Renderer, tables) -> tuple[float, str]:
    review = rep_review("R1", MONTH, tables, SETTINGS)
    start = time.perf_counter()
    html = renderer.html(review, "en", FINGERPRINT)
    renderer.pdf(html)
    return time.perf_counter() - start, html


def test_a_10000_character_name_and_account_render_about_as_fast_as_a_normal_pack():
    renderer = Renderer()
    _render_seconds(renderer, make_tables())  # fonts and caches warm
    normal = min(_render_seconds(renderer, make_tables())[0] for _ in range(2))
    tables = make_tables()
    tables.reps.loc[tables.reps["rep_id"] == "R1", "name"] = "N" * 10_000
    tables.deals.loc[tables.deals["deal_id"] == "D-1001", "account"] = "A" * 10_000
    seconds, html = _render_seconds(renderer, tables)
    # Before: overflow-wrap: anywhere on a 10,000-character word cost minutes (square of its length).
    assert seconds < 5 * normal, (seconds, normal)
    # Cut to text_max_length (200) with an ellipsis, and broken every WORD_CHUNK characters.
    account = re.search(r"<td class=\"wrap\">(A[A\u200b]*…)</td>", html)[1]
    assert account.replace(ZERO_WIDTH_SPACE, "") == "A" * 199 + "…"
    assert account.split(ZERO_WIDTH_SPACE) == ["A" * WORD_CHUNK] * 6 + ["A" * 19 + "…"]
    assert "N" * (WORD_CHUNK + 1) not in html and "N" * 200 not in html.replace(ZERO_WIDTH_SPACE, "")


def test_fit_text_cuts_and_breaks_only_long_texts():
    assert fit_text("Alice Martin", 200) == "Alice Martin"
    assert fit_text("abc " * 100, 20) == "abc abc abc abc abc…"
    long_word = "x" * 70
    assert fit_text(f"{long_word} ok", 0) == "\u200b".join(["x" * 30, "x" * 30, "x" * 10]) + " ok"
    assert fit_text(fit_text(long_word, 0), 0) == fit_text(long_word, 0), "fitting twice changes nothing"


class SlowOrBrokenJob(PackJob):
    """A render that never finishes for R2 and raises for R3 (the failures the time limit must contain)."""

    def __call__(self, person_id: str, kind: str, locale: str, *missing) -> dict:
        if person_id == "R2":
            time.sleep(600)
        if person_id == "R3":
            raise ValueError("font table damaged")
        return super().__call__(person_id, kind, locale, *missing)


@pytest.mark.slow
def test_a_stuck_pack_fails_alone_and_the_manager_gets_the_other_packs(tmp_path):
    tables = make_tables()
    settings = Settings(pack_time_limit=15)  # far above a normal pack, even on a busy machine
    start = time.perf_counter()
    rendered = render_packs(
        MONTH, tables, settings, tmp_path / "out", FINGERPRINT, processes=2, make_job=SlowOrBrokenJob
    )
    assert time.perf_counter() - start < 60, "the stuck worker was killed, not waited for"
    assert list(rendered.table["person_id"]) == ["R1", "M1"]
    assert rendered.failed == [
        PackFailure(
            "R2",
            "rep",
            "zh_CN",
            "rep pack for R2 (李娜) took more than 15 s and was stopped; "
            "raise `--pack-time-limit 38` or `pack_time_limit: 38` in attain.yaml",
        ),
        PackFailure("R3", "rep", "en", "the rep pack for R3 failed: ValueError: font table damaged"),
    ]
    assert len(pack_list(MONTH, tables.reps)) == len(rendered.table) + len(rendered.failed) == 4
    # The manager's pack is made: R1's review (rendered in Chinese for the manager), and for R2 and R3 a page
    # saying why their review is missing; one outline entry per member.
    manager = PdfReader(tmp_path / "out" / rendered.table.set_index("person_id").loc["M1", "path"])
    text = _text(manager)
    assert "月度评估，2026年10月" in text and "Alice Martin" in text
    assert "本次运行未能生成此评估报告，因此本报告中没有它：rep pack for R2 (李娜) took more than 15 s" in text
    assert "ValueError: font table damaged" in text
    assert [item.title for item in manager.outline if not isinstance(item, list)] == [
        "团队评估：陈梅",
        "Alice Martin",
        "李娜",
        "Bob Stone",
    ]

    roster = roster_as_of(tables.reps, MONTH)
    heads = headlines(tables.attainment, tables.payouts, roster)
    messages = plan_messages(
        MONTH,
        rendered.table,
        roster,
        heads,
        tmp_path / "out",
        failed_packs=[dataclasses.asdict(f) for f in rendered.failed],
    )
    report = deliver(messages, OutboxMailer(tmp_path / "outbox"), DeliveryLog(duckdb.connect()))
    assert len(report.sent) == 1 and not report.failed
    [eml] = (tmp_path / "outbox" / MONTH).glob("*.eml")
    mail = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert sorted(part.get_filename() for part in mail.iter_attachments()) == ["manager-M1.zh_CN.pdf", "rep-R1.en.pdf"]
    body = mail.get_body(("plain",)).get_content()
    assert "未附上：本次运行未能生成以下评估报告：" in body
    assert "- rep pack for R2 (李娜) took more than 15 s and was stopped" in body
    assert "- the rep pack for R3 failed: ValueError: font table damaged" in body


class SlowManagerJob(PackJob):
    """The manager pack takes 3 s longer than the others."""

    def __call__(self, person_id: str, kind: str, locale: str, *missing) -> dict:
        if kind == "manager":
            time.sleep(3)
        return super().__call__(person_id, kind, locale, *missing)


def test_progress_counts_each_pack_as_it_is_written(tmp_path):
    """The bar used to count results in submission order and in batches: nothing moved while a slow pack
    rendered, however many others were already written. The members' renderings in their manager's language
    are not packs: they are not counted, and are gone after the run."""
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total, sorted(p.name for p in (tmp_path / MONTH / "packs").glob("*.pdf"))))

    render_packs(
        MONTH, make_tables(), SETTINGS, tmp_path, FINGERPRINT, processes=2, progress=progress, make_job=SlowManagerJob
    )
    assert [(done, total) for done, total, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [len(files) for _, _, files in seen] == [1, 2, 3, 4], "each pack is counted as it is written"
    assert seen[-1][2] == ["manager-M1.zh_CN.pdf", "rep-R1.en.pdf", "rep-R2.zh_CN.pdf", "rep-R3.en.pdf"]
    assert not list((tmp_path / MONTH).rglob("pack-parts/*")), "the members' renderings in zh_CN were removed"


def test_a_carried_balance_is_named_in_the_statement_of_both_languages():
    tables = make_tables()
    ledger = tables.incentive_ledger
    r2 = ledger["rep_id"] == "R2"
    carried = ledger[r2].assign(
        line_no=[1, 2],
        kind=["commission", "clawback"],
        amount_minor=[28_000, -40_000],
        explanation=["4% of $7,000.00", "Clawback: deal D-1990 cancelled"],
    )
    lines = [
        carried.iloc[0].to_dict(),
        carried.iloc[1].to_dict(),
        {
            **carried.iloc[1].to_dict(),
            "line_no": 3,
            "component": "balance",
            "kind": "carry_forward",
            "amount_minor": 12_000,
            "explanation": "Carried forward: this month's lines sum to -120.00 USD",
        },
        {
            **carried.iloc[1].to_dict(),
            "line_no": 4,
            "component": "balance",
            "kind": "recovery",
            "amount_minor": 0,
            "for_month": "2026-08",
            "explanation": "Not recovered: the rep leaves",
        },
    ]
    payouts = tables.payouts.copy()
    payouts[["carried_minor", "carried_balance_minor"]] = 0
    payouts.loc[
        payouts["rep_id"] == "R2", ["earnings_minor", "carried_minor", "payable_minor", "carried_balance_minor"]
    ] = [-12_000, 12_000, 0, 12_000]
    tables = make_tables()
    tables.incentive_ledger = pd.concat([ledger[~r2], pd.DataFrame(lines)], ignore_index=True)
    tables.payouts = payouts
    review = rep_review("R2", MONTH, tables, SETTINGS)
    renderer = Renderer()
    english = renderer.html(review, "en", FINGERPRINT)
    assert "Carried forward<br>" in english and "Balance recovery<br>" in english and "for August 2026" in english
    assert "Carried forward or recovered this month: $120.00; carried balance still to recover: $120.00." in english
    text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(renderer.pdf(renderer.html(review, "zh_CN", FINGERPRINT)))).pages
    )
    assert "结转" in text and "结转余额回收" in text
    assert "本月结转或回收：US$120.00；待回收结转余额：US$120.00。" in re.sub(r"\s+", "", text)


def test_open_disputes_are_listed_for_the_rep_and_the_manager_and_nowhere_else(tmp_path):
    """R2's open dispute is in R2's pack (in Chinese) and in the manager's team list; R3's pack, of the same
    team, shows only R3's own decided dispute with its resolution."""
    tables = make_tables()
    tables.disputes = build.disputes(
        {
            "dispute_id": "DS-7",
            "rep_id": "R2",
            "month": "2026-09",
            "line_no": 2,
            "claim": "Huaxin 提成少算",
            "amount_claimed_minor": 45_000,
        },
        {
            "dispute_id": "DS-8",
            "rep_id": "R3",
            "month": "2026-09",
            "claim": "Missing SPIFF on Acme",
            "amount_claimed_minor": 20_000,
            "status": "rejected",
            "resolution": "Acme is not a SPIFF product",
            "decided_by": "陈梅",
            "decided_at": "2026-10-08",
        },
    )
    rendered = render_packs(MONTH, tables, SETTINGS, tmp_path, FINGERPRINT, processes=1).table.set_index("person_id")

    def text(person: str) -> str:
        return re.sub(r"\s+", "", _text(PdfReader(tmp_path / rendered.loc[person, "path"])))

    r2, r3, manager = text("R2"), text("R3"), text("M1")
    assert "申诉" in r2 and "DS-7" in r2 and "Huaxin提成少算" in r2 and "待处理" in r2 and "US$450.00" in r2
    assert "DS-8" not in r2
    assert "DS-8" in r3 and "AcmeisnotaSPIFFproduct" in r3 and "Rejected" in r3 and "DS-7" not in r3
    assert "未决申诉" in manager and manager.count("DS-7") == 2  # the team list and R2's own review


def test_the_projection_is_worded_in_the_readers_language_and_marked_as_not_pay():
    """The forecast section prints the projection's figures and the next step in words, in both languages."""
    tables = make_tables()
    row = {
        "month": MONTH,
        "currency": "USD",
        "open_count": 3,
        "open_pipeline_minor": 2_000_000,
        "win_rate": 0.4,
        "win_rate_basis": "rep",
        "expected_credit_minor": 800_000,
        "payout_now_minor": 30_000,
        "expected_payout_minor": 70_000,
        "target_minor": 1_000_000,
        "credit_minor": 600_000,
        "payout_at_target_minor": 50_000,
        "next_step": "accelerator",
        "next_step_at": "1.2",
        "next_step_component": "commission",
        "next_step_minor": 1_240_000,
    }
    tables.earnings_forecast = pd.DataFrame([{**row, "rep_id": "R3"}, {**row, "rep_id": "R2"}])
    renderer = Renderer()

    def text(rep_id: str, locale: str) -> str:
        pdf = renderer.pdf(renderer.html(rep_review(rep_id, MONTH, tables, SETTINGS), locale, FINGERPRINT))
        return re.sub(r"\s+", " ", _text(PdfReader(io.BytesIO(pdf))))

    english = text("R3", "en")
    assert "A projection, not pay" in english
    assert "If your 3 open deals ($20,000.00) closed at your win rate of 40.0%" in english
    assert "$12,400.00 more credit reaches the 120% accelerator of commission." in english
    chinese = re.sub(r"\s+", "", text("R2", "zh_CN"))
    assert "仅为预测" in chinese and "再增加US$12,400.00业绩即可达到commission的120%加速档。" in chinese
