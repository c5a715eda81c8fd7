"""The one roster rule (attain/roster.py) and proof that its former owners all follow it.

Credit, review (the packs), validation and targets used to answer "who is on the roster in
month M, with which row" three different ways. Each case below states the rule's answer and
checks that every one of them now gets exactly that answer.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from attain.ingest.load import load_inputs
from attain.ingest.people import _plan_currency, _team_target_currency
from attain.measures.credit import credited_deals
from attain.measures.targets import targets_in_force
from attain.roster import active_in_month, roster_as_of, roster_by_month, roster_for_month, team_currency
from attain.settings import Settings
from tests.measures_builders import SETTINGS, deals, fx, reps, targets

ROSTER = reps(
    {"rep_id": "m1", "role": "manager", "team": "T1"},
    {"rep_id": "m2", "role": "manager", "team": "T2", "currency": "EUR"},
    # Every row dated, the first from 2025-05: before that the earliest row is in force.
    {"rep_id": "late", "manager_id": "m2", "team": "T2", "currency": "EUR", "valid_from": "2025-05"},
    {"rep_id": "late", "manager_id": "m1", "team": "T3", "currency": "GBP", "valid_from": "2025-08"},
    # Team, manager and currency change twice.
    {"rep_id": "mover", "manager_id": "m1", "team": "T1", "currency": "USD", "valid_from": ""},
    {"rep_id": "mover", "manager_id": "m2", "team": "T2", "currency": "EUR", "valid_from": "2025-03"},
    {"rep_id": "mover", "manager_id": "m1", "team": "T3", "currency": "GBP", "valid_from": "2025-06"},
    # Left on 10 February: on the February roster, not on March's; their row stays in force.
    {"rep_id": "leaver", "manager_id": "m1", "team": "T1", "leave_date": "2025-02-10"},
    # Hired on 20 March: on March's roster, not February's.
    {"rep_id": "newbie", "manager_id": "m2", "team": "T2", "currency": "EUR", "hire_date": "2025-03-20"},
)
RATES = fx(*[(m, c, r) for m in ("2025-02", "2025-03", "2025-06") for c, r in (("EUR", "1.08"), ("GBP", "1.25"))])

#: The rule's answer: (month, rep_id) -> (team, manager_id, currency, employed that month).
EXPECTED = {
    ("2025-02", "late"): ("T2", "m2", "EUR", True),
    ("2025-02", "mover"): ("T1", "m1", "USD", True),
    ("2025-02", "leaver"): ("T1", "m1", "USD", True),
    ("2025-02", "newbie"): ("T2", "m2", "EUR", False),
    ("2025-03", "late"): ("T2", "m2", "EUR", True),
    ("2025-03", "mover"): ("T2", "m2", "EUR", True),
    ("2025-03", "leaver"): ("T1", "m1", "USD", False),
    ("2025-03", "newbie"): ("T2", "m2", "EUR", True),
    ("2025-06", "late"): ("T2", "m2", "EUR", True),
    ("2025-06", "mover"): ("T3", "m1", "GBP", True),
    ("2025-06", "leaver"): ("T1", "m1", "USD", False),
    ("2025-06", "newbie"): ("T2", "m2", "EUR", True),
}
MONTHS = sorted({m for m, _ in EXPECTED})
REPS = ["late", "leaver", "mover", "newbie"]


@pytest.mark.parametrize("month", MONTHS)
def test_the_rule_picks_the_row_in_force_and_who_is_employed(month):
    rows = roster_as_of(ROSTER, month).set_index("rep_id")
    employed = active_in_month(rows, month)
    for rep in REPS:
        team, manager, currency, works = EXPECTED[(month, rep)]
        assert (rows.loc[rep, "team"], rows.loc[rep, "manager_id"], rows.loc[rep, "currency"]) == (
            team,
            manager,
            currency,
        ), rep
        assert bool(employed[rep]) is works, rep
    assert sorted(rows.index) == ["late", "leaver", "m1", "m2", "mover", "newbie"]  # every rep, once


def test_roster_by_month_is_roster_as_of_for_each_month():
    together = roster_by_month(ROSTER, MONTHS)
    for month in MONTHS:
        alone = roster_as_of(ROSTER, month).reset_index(drop=True)
        pd.testing.assert_frame_equal(
            together[together["month"].eq(month)].drop(columns="month").reset_index(drop=True), alone
        )


@pytest.mark.parametrize("month", MONTHS)
def test_review_lists_the_employed_reps_with_the_row_in_force(month):
    roster = roster_for_month(ROSTER, month)
    employed = sorted(rep for rep in REPS if EXPECTED[(month, rep)][3])
    assert sorted(set(roster.index) - {"m1", "m2"}) == employed
    for rep in employed:
        team, manager, currency, _ = EXPECTED[(month, rep)]
        assert tuple(roster.loc[rep, ["team", "manager_id", "currency"]]) == (team, manager, currency)


@pytest.mark.parametrize("month", MONTHS)
def test_credit_converts_to_the_currency_of_the_row_in_force(month):
    day = f"{month}-15"
    won = deals(
        *[
            {"deal_id": f"D-{rep}", "owner_id": rep, "amount_minor": 10_000, "currency": "USD", "close_date": day}
            for rep in REPS
        ]
    )
    credited = credited_deals(won, None, ROSTER, RATES, month, SETTINGS).set_index("rep_id")
    for rep in REPS:  # a leaver's or a not-yet-hired rep's deal is still credited: nothing is dropped
        assert credited.loc[rep, "plan_currency"] == EXPECTED[(month, rep)][2], rep


@pytest.mark.parametrize("month", MONTHS)
def test_validation_checks_the_same_plan_and_team_currencies(month):
    wanted = pd.DataFrame({"rep_id": REPS, "month": month})
    plan = _plan_currency(wanted, ROSTER)
    assert list(plan) == [EXPECTED[(month, rep)][2] for rep in REPS]

    teams = pd.DataFrame({"scope_id": ["T1", "T2", "T3", "T9"], "month": month})
    chosen = team_currency(roster_by_month(ROSTER, [month])).set_index("team")["currency"]
    expected = [chosen.get(t, "USD") for t in teams["scope_id"]]
    assert list(_team_target_currency(teams, ROSTER, "USD")) == expected
    assert expected[-1] == "USD"  # a team without members gets the base currency


def test_team_currency_is_the_most_common_plan_currency_ties_alphabetical():
    chosen = team_currency(roster_by_month(ROSTER, MONTHS)).set_index(["month", "team"])["currency"]
    # 2025-03, T2: m2, late, mover and newbie, all EUR.
    assert chosen[("2025-03", "T2")] == "EUR"
    # 2025-02, T1: m1, mover and leaver, all USD; 2025-06, T3: only mover (GBP).
    assert chosen[("2025-02", "T1")] == "USD"
    assert chosen[("2025-06", "T3")] == "GBP"
    tie = reps({"rep_id": "a", "currency": "USD"}, {"rep_id": "b", "currency": "EUR"})
    assert team_currency(roster_by_month(tie, ["2025-01"]))["currency"].tolist() == ["EUR"]


@pytest.mark.parametrize("month", MONTHS)
def test_targets_take_the_same_rep_and_team_currencies(month):
    wanted = targets(
        *[("rep", rep, month, "revenue", "100.00", "2025-01-01") for rep in REPS],
        *[("team", team, month, "revenue", "100.00", "2025-01-01") for team in ("T1", "T2", "T3")],
    )
    chosen = targets_in_force(wanted, ROSTER, [month], SETTINGS).in_force.set_index(["scope", "scope_id"])
    for rep in REPS:
        assert chosen.loc[("rep", rep), "currency"] == EXPECTED[(month, rep)][2], rep
    teams = team_currency(roster_by_month(ROSTER, [month])).set_index("team")["currency"]
    for team in ("T1", "T2", "T3"):
        assert chosen.loc[("team", team), "currency"] == teams.get(team, SETTINGS.base_currency), team


def test_validation_asks_for_the_rate_credit_will_need_before_the_first_valid_from(tmp_path):
    """A rep whose only row starts after a deal's month: validation and credit agree on the plan currency.

    The rule used to differ here: validation found no row in force, skipped the plan-currency
    rate, and credit (earliest row) then stopped on the missing rate.
    """
    folder = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[1] / "docs" / "examples", folder)
    roster = pd.read_csv(folder / "reps.csv", dtype=str, keep_default_na=False)
    roster.loc[roster["rep_id"].eq("R01"), "valid_from"] = "2025-02"
    roster.to_csv(folder / "reps.csv", index=False)
    rates = pd.read_csv(folder / "fx_rates.csv", dtype=str)
    rates[~((rates["month"] == "2025-01") & (rates["currency"] == "CNY"))].to_csv(folder / "fx_rates.csv", index=False)
    with (folder / "deals.csv").open("a") as f:  # a USD deal credited to R01 (CNY plan) in 2025-01
        f.write("D1010,R01,Acme Corporation,GTX Pro,100.00,USD,won,2025-01-02,2025-01-10,,\n")
    result = load_inputs(folder, "2025-03", Settings(), today=dt.date(2025, 4, 30))
    reasons = result.quarantine.loc[result.quarantine["table"].eq("deals"), "reason"].tolist()
    assert "no FX rate for CNY in 2025-01 (to convert to CNY, the plan currency of R01); add it to fx_rates" in reasons
    credited = credited_deals(result.deals, result.credit_splits, result.reps, result.fx_rates, "2025-03", Settings())
    assert "D1010" not in set(credited["deal_id"])
    assert set(credited.loc[credited["rep_id"].eq("R01"), "plan_currency"]) == {"CNY"}
