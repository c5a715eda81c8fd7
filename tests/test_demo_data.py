"""The demo company: deterministic files in the input contract, with every case the pipeline must handle."""

import datetime as dt
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from attain.demo import company as demo_data
from attain.demo.basics import DEMO_MONTH, INPUT_COLUMNS
from attain.demo.company import generate
from attain.periods import add_months

END = "2026-10-31"
TABLES = ["deals", "credit_splits", "reps", "targets", "fx_rates", "surveys"]
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate(out)
    return out


@pytest.fixture(scope="module")
def t(demo_dir):
    """The generated tables as text, as a user's spreadsheet would show them."""
    return {name: pd.read_csv(demo_dir / f"{name}.csv", dtype=str, keep_default_na=False) for name in TABLES}


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def _good_deals(t):
    """The deals minus the deliberately bad rows (see test_bad_rows_are_few_and_each_kind_present)."""
    deals = t["deals"]
    dup = deals["deal_id"].duplicated(keep=False)
    bad = (
        dup
        | deals["amount"].str.startswith("-")
        | ~deals["owner_id"].isin(t["reps"]["rep_id"])
        | ~deals["close_date"].map(lambda s: s == "" or _valid_date(s))
    )
    return deals[~bad]


def test_same_arguments_give_byte_identical_files(demo_dir, tmp_path):
    paths = generate(tmp_path)
    assert sorted(paths) == sorted([*TABLES, "plans"])
    for name in TABLES:
        assert paths[name].read_bytes() == (demo_dir / f"{name}.csv").read_bytes(), name


def test_another_process_with_another_hash_seed_writes_the_same_bytes(demo_dir, tmp_path):
    """Nothing may depend on set or dict order that changes between interpreter runs."""
    code = "import sys; from attain.demo.company import generate; generate(sys.argv[1])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        check=True,
        env=env,
        cwd=Path(demo_data.__file__).resolve().parents[2],
    )
    for name in TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (demo_dir / f"{name}.csv").read_bytes(), name


def test_another_seed_gives_another_company(demo_dir, tmp_path):
    generate(tmp_path, seed=8)
    assert (tmp_path / "deals.csv").read_bytes() != (demo_dir / "deals.csv").read_bytes()


def test_files_follow_the_contract_columns(t):
    for name in TABLES:
        assert list(t[name].columns) == INPUT_COLUMNS[name], name


def test_roster_six_teams_each_under_a_manager_in_three_regions(t):
    reps = t["reps"]
    sellers = reps[reps["role"] == "rep"].drop_duplicates("rep_id")
    assert len(sellers) == 40
    managers = reps[reps["role"] == "manager"]
    teams = sorted(sellers["team"].unique())
    assert teams == sorted(["New York", "Toronto", "London", "Berlin", "Shanghai", "Beijing"])
    for team in teams:
        assert (managers["team"] == team).sum() == 1, f"team {team} must have exactly one manager"
    assert set(reps["region"]) == {"Americas", "EMEA", "Greater China"}
    assert set(reps["manager_id"]) - {""} <= set(managers["rep_id"])
    assert (reps["manager_id"] == "").sum() == 3  # the regional heads
    assert reps["email"].str.match(r"^[a-z]+\.[a-z]+@demo\.attain\.example$").all()
    assert not reps.drop_duplicates("rep_id")["email"].duplicated().any()


def test_china_teams_are_chinese_cny_and_the_others_english_usd(t):
    reps = t["reps"]
    china = reps["region"] == "Greater China"
    assert (reps.loc[china, "locale"] == "zh_CN").all() and (reps.loc[china, "currency"] == "CNY").all()
    assert reps.loc[china, "name"].str.match(r"^[\u4e00-\u9fff]{2,3}$").all()
    assert (reps.loc[~china, "locale"] == "en").all() and (reps.loc[~china, "currency"] == "USD").all()
    expected_plan = {
        ("rep", True): "ae_cny",
        ("rep", False): "ae_usd",
        ("manager", True): "mgr_cny",
        ("manager", False): "mgr_usd",
    }
    plans = [expected_plan[(role, c)] for role, c in zip(reps["role"], china, strict=True)]
    assert reps["plan_id"].tolist() == plans
    deals = _good_deals(t)
    owner_region = deals["owner_id"].map(reps.drop_duplicates("rep_id").set_index("rep_id")["region"])
    assert set(deals.loc[owner_region == "Greater China", "currency"]) == {"CNY"}
    assert "CNY" not in set(deals.loc[owner_region != "Greater China", "currency"])


def test_hire_leaver_and_team_move(t):
    reps = t["reps"]
    leavers = reps[reps["leave_date"] != ""]
    assert len(leavers) == 1 and leavers["leave_date"].iloc[0] == "2026-10-09"
    hires = reps[reps["hire_date"] >= "2024-11-01"]
    assert hires["hire_date"].tolist() == ["2026-08-17"]
    moved = reps[reps["rep_id"].duplicated(keep=False)].sort_values("valid_from")
    assert moved["valid_from"].tolist() == ["", "2026-06"]
    assert moved["team"].tolist() == ["Toronto", "New York"]
    assert moved["manager_id"].iloc[0] != moved["manager_id"].iloc[1]
    # The leaver owns nothing closing after the leave date; the hire nothing created before the hire date.
    deals = _good_deals(t)
    leaver, hire = leavers["rep_id"].iloc[0], hires["rep_id"].iloc[0]
    assert (deals.loc[deals["owner_id"] == leaver, "close_date"] <= "2026-10-09").all()
    assert (deals.loc[deals["owner_id"] == leaver, "stage"] != "open").all()
    assert (deals.loc[deals["owner_id"] == hire, "created_date"] >= "2026-08-17").all()


def test_deals_are_realistic(t):
    deals = _good_deals(t)
    assert 6_000 <= len(deals) <= 10_000
    closed = deals[deals["stage"] != "open"]
    win_rate = (closed["stage"] == "won").mean()
    assert 0.25 <= win_rate <= 0.40
    assert set(deals["stage"]) == {"won", "lost", "open"}
    assert closed["close_date"].str.match(ISO_DATE).all()
    assert (deals.loc[deals["stage"] == "open", "close_date"] == "").all()
    assert closed["close_date"].min() >= "2024-11-01" and closed["close_date"].max() <= END
    dated = closed[closed["created_date"] != ""]
    cycle = (pd.to_datetime(dated["close_date"]) - pd.to_datetime(dated["created_date"])).dt.days
    assert cycle.min() >= 10 and cycle.max() <= 120
    assert deals["created_date"].max() <= END
    assert {"USD", "EUR", "GBP", "CNY", "JPY"} == set(deals["currency"])
    assert 1 <= (deals["currency"] == "JPY").sum() <= 2
    assert (deals.loc[deals["currency"] == "JPY", "amount"].str.match(r"^\d+$")).all()
    two_decimals = deals[(deals["currency"] != "JPY") & (deals["amount"] != "")]
    assert two_decimals["amount"].str.match(r"^\d+\.\d{2}$").all()
    assert (deals.loc[deals["amount"] == "", "stage"] == "open").all()
    assert (deals.loc[deals["account"] == "", "stage"] == "open").all()


def test_accounts_show_an_abc_revenue_skew(t):
    deals = _good_deals(t)
    assert 250 <= deals.loc[deals["account"] != "", "account"].nunique() <= 320
    won = deals[(deals["stage"] == "won") & (deals["currency"] == "USD")]
    revenue = won.assign(v=won["amount"].astype(float)).groupby("account")["v"].sum().sort_values(ascending=False)
    top_fifth = revenue.iloc[: len(revenue) // 5].sum() / revenue.sum()
    assert top_fifth > 0.5


def test_bad_rows_are_few_and_each_kind_present(t):
    deals, rep_ids = t["deals"], set(t["reps"]["rep_id"])
    negative = deals["amount"].str.startswith("-")
    unknown_owner = ~deals["owner_id"].isin(rep_ids)
    bad_date = ~deals["close_date"].map(lambda s: s == "" or _valid_date(s))
    repeated = deals[deals["deal_id"].duplicated(keep=False)]
    conflicting = repeated.groupby("deal_id").filter(lambda g: len(g.drop_duplicates()) > 1)
    identical = repeated.groupby("deal_id").filter(lambda g: len(g.drop_duplicates()) == 1)
    assert (negative.sum(), unknown_owner.sum(), bad_date.sum()) == (1, 1, 1)
    assert len(conflicting) == 2 and len(identical) == 2
    assert (negative | unknown_owner | bad_date).sum() + len(conflicting) < 0.05 * len(deals)


def test_every_foreign_currency_has_a_rate_every_month(t):
    fx = t["fx_rates"]
    months = (
        [f"2024-{m:02d}" for m in (11, 12)]
        + [f"2025-{m:02d}" for m in range(1, 13)]
        + [f"2026-{m:02d}" for m in range(1, 11)]
    )
    assert sorted(fx["month"].unique()) == months
    for currency in ("EUR", "GBP", "CNY", "JPY"):
        assert fx.loc[fx["currency"] == currency, "month"].tolist() == months, currency
    assert "USD" not in set(fx["currency"])
    rates = fx["rate"].map(Decimal)
    assert (rates > 0).all()
    eur = fx.loc[fx["currency"] == "EUR", "rate"].map(Decimal)
    assert Decimal("0.9") < eur.min() and eur.max() < Decimal("1.3")


def test_split_shares_sum_to_100_and_overlays_exist(t):
    splits, deals = t["credit_splits"], _good_deals(t)
    split = splits[splits["role"] == "split"]
    assert split["deal_id"].nunique() >= 50
    sums = split.groupby("deal_id")["share"].agg(lambda s: sum(Decimal(x) for x in s))
    assert (sums == Decimal(100)).all()
    assert (split.groupby("deal_id").size() > 1).all()
    assert "33.34" in set(split["share"])
    overlays = splits[splits["role"] == "overlay"]
    assert len(overlays) >= 10 and set(overlays["share"]) <= {"100", "50"}
    assert set(splits["deal_id"]) <= set(deals.loc[deals["stage"] == "won", "deal_id"])
    assert set(splits["rep_id"]) <= set(t["reps"].loc[t["reps"]["role"] == "rep", "rep_id"])
    # the owner is one of the split rows of their deal
    owners = split.merge(deals[["deal_id", "owner_id"]], on="deal_id")
    assert (owners.groupby("deal_id").apply(lambda g: (g["rep_id"] == g["owner_id"]).any(), include_groups=False)).all()


def test_cancellations_follow_close_and_one_falls_in_the_demo_month(t):
    deals = _good_deals(t)
    cancelled = deals[deals["cancelled_date"] != ""]
    assert 10 <= len(cancelled) <= 60
    assert (cancelled["stage"] == "won").all()
    assert (cancelled["cancelled_date"] > cancelled["close_date"]).all()
    assert (cancelled["cancelled_date"] <= END).all() and (cancelled["cancel_reason"] != "").all()
    in_month = cancelled[cancelled["cancelled_date"].str.startswith(DEMO_MONTH)]
    assert len(in_month) >= 1 and (in_month["close_date"] < "2026-10-01").any()
    assert (deals.loc[deals["cancelled_date"] == "", "cancel_reason"] == "").all()


def test_targets_cover_every_employed_rep_month_with_adjustments_and_team_targets(t):
    targets, reps = t["targets"], t["reps"].drop_duplicates("rep_id").set_index("rep_id")
    after = add_months(DEMO_MONTH, 1)
    next_month = targets[(targets["scope"] == "rep") & (targets["month"] == after)]
    rep_rows = targets[(targets["scope"] == "rep") & (targets["month"] != after)]
    initial = rep_rows[rep_rows["effective_date"].str.endswith("-01")]
    sellers = reps[reps["role"] == "rep"]
    per_rep = initial.groupby(["scope_id", "metric"]).size().unstack().loc[sellers.index]
    assert set(per_rep.columns) == {"revenue", "won_deals", "new_accounts"}
    leaver = sellers.index[sellers["leave_date"] != ""][0]
    hire = sellers.index[sellers["hire_date"] == "2026-08-17"][0]
    assert per_rep.loc[leaver, "revenue"] == 24  # employed through the demo month
    assert per_rep.loc[hire].tolist() == [3, 3, 3]  # August, September, October
    assert (per_rep.drop([hire]) == 24).all().all()
    # next month's targets are agreed in the demo month, for everyone who stays (the leaver does not)
    staying = set(sellers.index) - {leaver}
    assert set(next_month["scope_id"]) == staying
    assert (next_month["effective_date"] == f"{DEMO_MONTH}-01").all()
    # new accounts are a quarterly goal: a number in Jan/Apr/Jul/Oct, explicit blanks between
    new_accounts = initial[initial["metric"] == "new_accounts"]
    quarter_start = new_accounts["month"].str[5:].isin(["01", "04", "07", "10"])
    assert (new_accounts.loc[quarter_start, "amount"] != "").all()
    assert (new_accounts.loc[~quarter_start, "amount"] == "").all()

    adjustments = rep_rows[~rep_rows["effective_date"].str.endswith("-01")]
    assert len(adjustments) >= 3
    assert (adjustments["reason"] != "").all() and (adjustments["author"] != "").all()
    assert (adjustments["effective_date"].str[:7] == adjustments["month"]).all()
    assert DEMO_MONTH in set(adjustments["month"])
    for _, adj in adjustments.iterrows():
        before = initial[
            (initial["scope_id"] == adj["scope_id"])
            & (initial["month"] == adj["month"])
            & (initial["metric"] == adj["metric"])
        ]
        assert before["amount"].iloc[0] != adj["amount"]

    managers = reps.index[(reps["role"] == "manager") & (reps["manager_id"] != "")]
    no_target = rep_rows[rep_rows["scope_id"].isin(managers)]
    assert len(no_target) > 0 and (no_target["amount"] == "").all()
    assert (no_target["reason"] != "").all()


def test_one_team_target_agrees_with_its_members_and_one_does_not(t):
    targets, reps = t["targets"], t["reps"]
    team_rows = targets[targets["scope"] == "team"]
    assert sorted(team_rows["scope_id"].unique()) == ["London", "Shanghai"]
    revenue = targets[(targets["scope"] == "rep") & (targets["metric"] == "revenue") & (targets["amount"] != "")]
    in_force = revenue.sort_values("effective_date").drop_duplicates(["scope_id", "month"], keep="last")
    for team, agrees in (("London", True), ("Shanghai", False)):
        members = reps.loc[(reps["team"] == team) & (reps["role"] == "rep"), "rep_id"]
        sums = (
            in_force[in_force["scope_id"].isin(members)]
            .groupby("month")["amount"]
            .agg(lambda s: sum(int(x) for x in s))
        )
        set_amount = team_rows[team_rows["scope_id"] == team].set_index("month")["amount"].astype(int)
        sums = sums.reindex(set_amount.index)  # team targets cover the run's months, not the next one
        assert ((set_amount == sums) if agrees else (set_amount != sums)).all(), team


def test_surveys_tied_to_deals_enough_for_most_too_few_for_one(t):
    surveys, deals = t["surveys"], _good_deals(t)
    assert not surveys["response_id"].duplicated().any()
    by_deal = surveys[surveys["deal_id"] != ""]
    assert set(by_deal["deal_id"]) <= set(deals.loc[deals["stage"] == "won", "deal_id"])
    by_account = surveys[surveys["deal_id"] == ""]
    assert len(by_account) >= 1 and set(by_account["account"]) <= set(deals["account"])
    csat = surveys[surveys["scale"] == "csat_1_5"]["score"].astype(int)
    nps = surveys[surveys["scale"] == "nps_0_10"]["score"].astype(int)
    assert csat.between(1, 5).all() and nps.between(0, 10).all() and len(nps) > 50
    assert surveys["response_date"].max() <= END
    owners = by_deal.merge(deals[["deal_id", "owner_id", "close_date"]], on="deal_id")
    assert (owners["response_date"] > owners["close_date"]).all()
    reps = t["reps"]
    sellers = reps.loc[reps["role"] == "rep", "rep_id"].unique()
    last_12 = owners[owners["response_date"] >= "2025-11-01"]["owner_id"].value_counts().reindex(sellers, fill_value=0)
    too_few = last_12[last_12 < 5]
    assert 1 <= len(too_few) <= 2  # the designated rep (2 responses), perhaps also the new hire
    assert 2 in set(too_few)


def test_no_date_anywhere_after_the_demo_month(t):
    for name, columns in (
        ("deals", ["created_date", "close_date", "cancelled_date"]),
        ("reps", ["hire_date", "leave_date"]),
        ("targets", ["effective_date"]),
        ("surveys", ["response_date"]),
    ):
        for column in columns:
            values = t[name][column]
            assert (values[values.map(_valid_date)] <= END).all(), (name, column)


def test_example_plans_are_copied(tmp_path, monkeypatch):
    plans = tmp_path / "examples"
    plans.mkdir()
    (plans / "ae_usd.yaml").write_text("id: ae_usd\n", encoding="utf-8")
    (plans / "notes.txt").write_text("not a plan", encoding="utf-8")
    monkeypatch.setattr(demo_data, "EXAMPLE_PLANS_DIR", plans)
    paths = generate(tmp_path / "out", months=12, reps=12)
    assert sorted(p.name for p in paths["plans"].iterdir()) == ["ae_usd.yaml"]
    assert (paths["plans"] / "ae_usd.yaml").read_text(encoding="utf-8") == "id: ae_usd\n"


def test_too_small_a_company_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 12 reps"):
        generate(tmp_path, reps=6)


def test_demo_folder_validates_with_only_the_bad_rows_quarantined(demo_dir, t):
    from attain.ingest.load import load_inputs
    from attain.settings import Settings

    result = load_inputs(demo_dir, DEMO_MONTH, Settings(), today=dt.date(2026, 11, 5))
    quarantine = result.quarantine
    assert set(quarantine["table"]) == {"deals"}, quarantine[["table", "column", "reason"]].to_string()
    deals = t["deals"]
    rep_ids = set(t["reps"]["rep_id"])
    expected_rows = set(
        deals.index[
            deals["amount"].str.startswith("-")
            | ~deals["owner_id"].isin(rep_ids)
            | ~deals["close_date"].map(lambda s: s == "" or _valid_date(s))
        ]
        + 2
    )
    repeated = deals[deals["deal_id"].duplicated(keep=False)]
    conflicting = repeated.groupby("deal_id").filter(lambda g: len(g.drop_duplicates()) > 1)
    expected_rows |= set(conflicting.index + 2)
    assert set(quarantine["source_row"].astype(int)) == expected_rows
    assert len(expected_rows) == 5
    assert re.search("negative|below zero|>= ?0", " ".join(quarantine["reason"]).lower())
