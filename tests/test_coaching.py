"""Coaching and support in the rep packs (issue 13 item 3), read back from real PDFs with pypdf.

The October 2026 company of ``tests.test_review`` plus an East team row in pipeline_health: R2 (Chinese pack) won
1 of 5 closed deals (20.0%) where the team won 31.0%, so the objection-handling suggestion fires for R2 only.
R1 wrote a self-assessment for October; nobody else did.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import Failure, build_asset_context, build_op_context
from pypdf import PdfReader

from assets.ingest import validated_inputs
from assets.review_packs import plan_pack_chunks
from attain.ingest.load import load_inputs
from attain.packs.coaching import CoachingError, coaching_measures, load_catalogue, suggestions
from attain.packs.render import Renderer, render_packs
from attain.packs.review import rep_review
from attain.settings import Settings
from pipelines.cli import main
from pipelines.resources import AttainConfig
from tests.test_review import MONTH, SETTINGS, make_tables

ROOT = Path(__file__).resolve().parents[1]
OWN_VIEW = "Three wins, but Kappa slipped: <b>pricing</b> came too late."
HELP = "Sit in on the Kappa renewal call"


def _tables(catalogue=None):
    tables = make_tables()
    team = dict(tables.pipeline_health.iloc[0]) | dict(
        scope="team", scope_id="East", won_count=31, lost_count=69, win_rate=0.31, median_cycle_days=30.0
    )
    tables.pipeline_health = pd.concat([tables.pipeline_health, pd.DataFrame([team])], ignore_index=True)
    tables.self_assessments = pd.DataFrame(
        [
            dict(rep_id="R1", month=MONTH, text=OWN_VIEW, help_wanted=HELP),
            dict(rep_id="R2", month="2026-09", text="September's view, not October's", help_wanted=""),
        ]
    )
    tables.coaching = catalogue
    return tables


def _pdf_text(review: dict, locale: str) -> str:
    renderer = Renderer()
    data = renderer.pdf(renderer.html(review, locale, "fp"))
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _flat(text: str) -> str:
    """Text with line breaks of table cells joined, to find a sentence wrapped over two lines."""
    return " ".join(text.split())


def test_a_low_win_rate_prints_the_suggestion_beside_its_figure_in_both_languages():
    review = rep_review("R2", MONTH, _tables(), SETTINGS)
    assert [s["id"] for s in review["coaching"] if s["measure"] == "win_rate"] == ["low_win_rate"]
    english = _flat(_pdf_text(review, "en"))
    assert "Win rate 20.0% (team 31.0%)" in english
    assert "Objection handling. Role-play the objections behind this month's lost deals" in english
    assert "Objection handling workshop" in english  # the training resource
    chinese = _pdf_text(review, "zh_CN").replace("\n", "")
    assert "赢单率 20.0%（团队 31.0%）" in chinese and "异议处理：" in chinese and "辅导与支持" in chinese
    assert "Coaching and support" not in chinese and "Objection" not in chinese
    # R1 won 3 of 4 (75.0%): no win-rate suggestion in its pack.
    assert "Objection handling" not in _flat(_pdf_text(rep_review("R1", MONTH, _tables(), SETTINGS), "en"))


def test_a_trigger_fires_on_the_threshold_relative_to_the_team():
    catalogue = load_catalogue(None)
    pipeline = {"won_count": 1, "lost_count": 4, "win_rate": 0.21, "median_cycle_days": 30.0, "coverage": None}
    team = {"win_rate": 0.31, "median_cycle_days": 16.0}

    def fired(rate: float, closed_lost: int = 4) -> list[str]:
        mine = {**pipeline, "win_rate": rate, "lost_count": closed_lost}
        measures = coaching_measures({}, [], mine, team, None, {}, min_closed=3)
        return [s["id"] for s in suggestions(catalogue, measures)]

    assert "low_win_rate" in fired(0.20) and "low_win_rate" not in fired(0.22)  # 10 points under the team's 31%
    assert "low_win_rate" not in fired(0.0, closed_lost=1)  # 2 closed deals: too few to judge a win rate
    assert "long_sales_cycle" not in fired(0.5)  # 30 days is exactly 14 more than the team's 16: not above


def test_a_coaching_yaml_in_the_data_folder_changes_and_adds_suggestions(tmp_path):
    (tmp_path / "coaching.yaml").write_text(
        """
suggestions:
  - id: low_win_rate
    action:
      en: Ride along with Priya on two discovery calls.
      zh_CN: 跟随王芳参加两次需求挖掘拜访。
  - id: slow_deals
    trigger: {measure: median_cycle_days, comparison: at_least, threshold: 60}
    action: {en: Map the buying committee of each open deal., zh_CN: 梳理每个在跟商机的采购决策小组。}
  - id: falling_attainment
    enabled: false
""",
        encoding="utf-8",
    )
    catalogue = load_catalogue(tmp_path)
    review = rep_review("R2", MONTH, _tables(catalogue), SETTINGS)
    fired = [s["id"] for s in review["coaching"]]
    assert fired == [
        "low_attainment",
        "low_win_rate",
        "long_sales_cycle",
        "thin_pipeline",
        "low_satisfaction",
        "slow_deals",
    ]
    text = _flat(_pdf_text(review, "en"))
    assert "Win rate 20.0% (team 31.0%)" in text and "Ride along with Priya on two discovery calls." in text
    assert "Role-play the objections" not in text
    assert "Objection handling workshop" in text  # a field the file does not give keeps its built-in value
    assert (
        "Median sales cycle 63 days (team 30 days)" in text
        and "Median sales cycle 63 days Map" in text
        and "Map the buying committee of each open deal." in text
    )
    assert "3 months in a row, to 70.0%" not in text  # switched off (the findings still say "from ... to")


@pytest.mark.parametrize(
    ("entry", "where", "what"),
    [
        (
            "  - id: low_win_rate\n    trigger: {measure: win_rate, comparison: below, threshold: lots}\n",
            "entry 1 'low_win_rate': trigger.threshold",
            "'lots' is not a number; write a number such as 0.8 or 80%",
        ),
        (
            "  - id: calls\n    trigger: {measure: winrate, comparison: below, threshold: 1}\n",
            "entry 1 'calls': trigger.measure",
            "did you mean 'win_rate'?",
        ),
        (
            "  - id: x\n  - id: calls\n    trigger: {measure: coverage, comparison: below, threshold: 1}\n"
            "    action: {en: Call more.}\n",
            "entry 2 'calls': action.zh_CN",
            "missing or blank; write the action in every pack language",
        ),
        (
            "  - id: calls\n    trigger: {measure: coverage, comparison: under, threshold: 1}\n",
            "entry 1 'calls': trigger.comparison",
            "use one of below, at_most, above, at_least",
        ),
        ("  - id: calls\n    triger: {measure: coverage}\n", "entry 1 'calls': triger", "did you mean 'trigger'?"),
        (
            "  - id: calls\n    action: {en: Call., zh_CN: 打电话。}\n",
            "entry 'calls': trigger",
            "required for a new entry",
        ),
    ],
)
def test_a_bad_coaching_yaml_names_the_file_the_entry_and_the_field(tmp_path, entry, where, what):
    path = tmp_path / "coaching.yaml"
    path.write_text("suggestions:\n" + entry, encoding="utf-8")
    with pytest.raises(CoachingError) as error:
        load_catalogue(tmp_path)
    assert str(error.value).startswith(f"{path}: {where}: ") and what in str(error.value)


def test_replace_defaults_uses_only_the_files_entries(tmp_path):
    (tmp_path / "coaching.yaml").write_text(
        "replace_defaults: true\nsuggestions:\n  - id: calls\n"
        "    trigger: {measure: coverage, comparison: below, threshold: 2}\n"
        "    action: {en: Call ten accounts a day., zh_CN: 每天联系十个客户。}\n",
        encoding="utf-8",
    )
    assert [e.id for e in load_catalogue(tmp_path).entries] == ["calls"]
    assert len(load_catalogue(None).entries) == 8


def test_a_coaching_yml_is_not_ignored_silently(tmp_path):
    (tmp_path / "coaching.yml").write_text("suggestions: []\n", encoding="utf-8")
    with pytest.raises(CoachingError, match=r"coaching\.yml: \(file\): rename it coaching\.yaml"):
        load_catalogue(tmp_path)


@pytest.fixture
def examples(tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "docs" / "examples", data)
    return data


def test_validate_and_the_packs_stop_on_a_bad_coaching_yaml(examples, capsys):
    (examples / "coaching.yaml").write_text(
        "suggestions:\n  - id: low_win_rate\n    trigger: {measure: win_rate, comparison: below, threshold: lots}\n",
        encoding="utf-8",
    )
    expected = f"{examples / 'coaching.yaml'}: entry 1 'low_win_rate': trigger.threshold: 'lots' is not a number"
    assert main(["validate", str(examples), "--month", "2025-03"]) == 1
    out = capsys.readouterr().out
    assert "problem(s) that would stop `attain run --month 2025-03`" in out and expected in out
    assert main(["validate", str(examples / "coaching.yaml"), "--month", "2025-03"]) == 1  # the file alone
    assert expected in capsys.readouterr().out
    tables = plan_pack_chunks.ins  # every table the packs stage reads, as an empty frame
    with build_op_context(partition_key="2025-03") as context, pytest.raises(Failure) as failure:
        outputs = plan_pack_chunks(
            context,
            attain=AttainConfig(data_dir=str(examples), output_dir=str(examples.parent / "out")),
            warehouse=None,
            **dict.fromkeys(tables, pd.DataFrame()),
        )
        list(outputs)  # the op yields its outputs: the catalogue is read before the first one
    assert failure.value.description.startswith(expected)


def test_a_self_assessment_appears_in_its_reps_pack_only_and_the_others_keep_space_to_write(tmp_path):
    rendered = render_packs(MONTH, _tables(), SETTINGS, tmp_path, "fp", processes=1).table
    texts = {
        (row.person_id, row.kind): "\n".join(p.extract_text() for p in PdfReader(tmp_path / row.path).pages)
        for row in rendered.itertuples()
    }
    assert set(texts) == {("R1", "rep"), ("R2", "rep"), ("R3", "rep"), ("M1", "manager")}
    r1 = _flat(texts[("R1", "rep")])
    assert OWN_VIEW in r1 and HELP in r1  # escaped: the <b> prints as written
    assert "Written by Alice Martin for this review." in r1
    # The manager's pack holds R1's review as R1 sees it (their view is part of the meeting); no other rep's does.
    assert OWN_VIEW in _flat(texts[("M1", "manager")])
    for who, text in texts.items():
        if who not in (("R1", "rep"), ("M1", "manager")):
            assert OWN_VIEW not in _flat(text) and HELP not in _flat(text) and "Written by" not in text, who
    assert "September's view" not in texts[("R2", "rep")]  # another month's self-assessment
    r3 = texts[("R3", "rep")]
    for heading in ("Your view and next steps", "Your own view of the month", "Help wanted", "Agreed next steps"):
        assert heading in r3
    # Every rep pack ends with the sign-off block: rep and manager by name, signature and date lines.
    for who, name in (("R1", "Alice Martin"), ("R3", "Bob Stone")):
        tail = _flat(texts[(who, "rep")]).split("Sign-off")[-1]
        assert f"Rep {name} Signature Date" in tail and "Manager 陈梅 Signature Date" in tail
    r2 = texts[("R2", "rep")].replace("\n", "")
    assert "签字确认" in r2 and "销售代表李娜签名日期" in r2.replace(" ", "") and "需要的帮助" in r2


def test_a_long_self_assessment_is_cut_to_text_max_length():
    tables = _tables()
    tables.self_assessments.loc[0, "text"] = "word " * 200
    review = rep_review("R1", MONTH, tables, SETTINGS)
    renderer = Renderer(text_max_length=120)
    html = renderer.html(review, "en", "fp")
    [own] = [line for line in html.splitlines() if 'class="own-words"' in line and "word word" in line]
    assert own.count("word ") == 23 and "…" in own


def test_self_assessments_are_validated_quarantined_with_reasons_and_stored_by_the_ingest(examples):
    (examples / "self_assessments.csv").write_text(
        "rep_id,month,text,help_wanted\n"
        "R03,2025-03,Good quarter start,Help with pricing\n"
        "R77,2025-03,Who is this?,\n"
        "R05,2025-3,Wrong month,\n"
        "R05,2025-03,,\n",
        encoding="utf-8",
    )
    result = load_inputs(examples, "2025-03", Settings())
    assert result.self_assessments[["rep_id", "month", "text"]].values.tolist() == [
        ["R03", "2025-03", "Good quarter start"]
    ]
    rejected = result.quarantine[result.quarantine["table"] == "self_assessments"]
    assert rejected[["source_row", "column", "reason"]].values.tolist() == [
        [3, "rep_id", "rep_id R77 is not a rep_id in reps; correct the id or add the rep to reps"],
        [4, "month", "month '2025-3' is not a month in the form YYYY-MM (for example 2025-03); correct it"],
        [5, "text", "text and help_wanted are both blank; write the rep's own view, the help wanted, or both"],
    ]
    source = result.sources["self_assessments"]
    assert (source.rows_read, source.rows_accepted, source.rows_quarantined) == (4, 1, 3)
    attain = AttainConfig(data_dir=str(examples), output_dir=str(examples.parent / "out"))
    with build_asset_context(partition_key="2025-03") as context:
        outs = {out.output_name: out for out in validated_inputs(context, attain=attain)}
    stored = outs["self_assessments"]
    assert stored.value.columns[0] == "as_of" and stored.value["rep_id"].tolist() == ["R03"]
    assert stored.metadata["rows_quarantined"].value == 3
    assert (outs["quarantine"].value["table"] == "self_assessments").sum() == 3
