"""The public Maven CRM sample: our figures against an independent plain-Python computation.

For each 2017 month M the validated snapshot of M is built by hand (stages Won/Lost ->
won/lost, everything else open; a deal closing after M is still open in M), then won
revenue, won count, win rate and median sales cycle per agent, manager and regional
office are compared exactly with sums, counts and ``statistics.median`` over the raw rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from attain import periods
from attain.measures.attainment import attainment
from attain.measures.credit import credited_deals
from attain.measures.pipeline_health import pipeline_health
from attain.measures.targets import months_needed, targets_in_force
from tests.measures_builders import SETTINGS, targets

MAVEN = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "maven-crm"
pytestmark = pytest.mark.skipif(not (MAVEN / "sales_pipeline.csv").exists(), reason="Maven CRM sample not present")
MONTHS = periods.month_span("2017-03", "2017-12")


def _read(name: str) -> list[dict]:
    with open(MAVEN / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def maven():
    pipeline, teams = _read("sales_pipeline.csv"), _read("sales_teams.csv")
    managers = {t["manager"]: t["regional_office"] for t in teams}
    roster = [
        {
            "rep_id": t["sales_agent"],
            "role": "rep",
            "manager_id": t["manager"],
            "team": t["manager"],
            "region": t["regional_office"],
        }
        for t in teams
    ] + [
        {"rep_id": m, "role": "manager", "manager_id": "", "team": m, "region": office}
        for m, office in managers.items()
    ]
    reps = pd.DataFrame(roster).assign(
        name=lambda f: f["rep_id"],
        email="",
        hire_date=pd.Timestamp("2016-01-01"),
        leave_date=pd.NaT,
        plan_id="",
        locale="en",
        currency="USD",
        valid_from="",
    )
    return pipeline, teams, reps


def _snapshot(pipeline: list[dict], month: str) -> pd.DataFrame:
    """The validated deals as known at the end of ``month`` (data-model "Snapshot semantics")."""
    end = periods.month_end(month).isoformat()
    rows = []
    for p in pipeline:
        if p["engage_date"] and p["engage_date"] > end:
            continue
        closed = p["deal_stage"] in ("Won", "Lost") and p["close_date"] <= end
        rows.append(
            {
                "deal_id": p["opportunity_id"],
                "owner_id": p["sales_agent"],
                "account": p["account"],
                "product": p["product"],
                "amount_minor": int(p["close_value"] or 0) * 100 if closed else 0,
                "currency": "USD",
                "stage": p["deal_stage"].lower() if closed else "open",
                "created_date": p["engage_date"] or None,
                "close_date": p["close_date"] if closed else None,
                "cancelled_date": None,
                "cancel_reason": "",
            }
        )
    frame = pd.DataFrame(rows)
    for col in ("created_date", "close_date", "cancelled_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _expected(pipeline: list[dict], teams: list[dict], month: str) -> dict:
    """Independent figures per (scope, id): won revenue in cents, won, lost, cycle days."""
    place = {
        t["sales_agent"]: {"rep": t["sales_agent"], "team": t["manager"], "region": t["regional_office"]} for t in teams
    }
    out: dict = defaultdict(lambda: {"revenue": 0, "won": 0, "lost": 0, "cycles": []})
    for p in pipeline:
        if p["deal_stage"] not in ("Won", "Lost") or not p["close_date"].startswith(month):
            continue
        for scope, scope_id in place[p["sales_agent"]].items():
            figure = out[(scope, scope_id)]
            if p["deal_stage"] == "Won":
                figure["revenue"] += int(p["close_value"]) * 100
                figure["won"] += 1
                days = (dt.date.fromisoformat(p["close_date"]) - dt.date.fromisoformat(p["engage_date"])).days
                figure["cycles"].append(days)
            else:
                figure["lost"] += 1
    return out


@pytest.mark.parametrize("month", MONTHS)
def test_maven_month_figures_match_plain_python(maven, month):
    pipeline, teams, reps = maven
    deals = _snapshot(pipeline, month)
    tif = targets_in_force(targets(), reps, months_needed(month), SETTINGS).in_force
    credited = credited_deals(deals, None, reps, None, month, SETTINGS)
    table = attainment(credited, deals, tif, reps, month, SETTINGS)
    health = pipeline_health(deals, tif, reps, None, month, SETTINGS)
    expected = _expected(pipeline, teams, month)
    assert expected, f"no closed deals in {month}"

    actual = table[table["period"].eq("month")].set_index(["scope", "scope_id", "metric"])["actual"]
    health = health.set_index(["scope", "scope_id"])
    for (scope, scope_id), want in expected.items():
        assert actual[(scope, scope_id, "revenue")] == want["revenue"], (scope, scope_id)
        assert actual[(scope, scope_id, "won_deals")] == want["won"], (scope, scope_id)
        got = health.loc[(scope, scope_id)]
        assert (got.won_count, got.lost_count) == (want["won"], want["lost"])
        assert got.win_rate == want["won"] / (want["won"] + want["lost"])
        if want["cycles"]:
            assert got.median_cycle_days == statistics.median(want["cycles"])
        else:
            assert pd.isna(got.median_cycle_days)
    # a manager's subtree is the manager's team here: the two roll-ups must agree
    for team in {t["manager"] for t in teams}:
        assert actual[("manager", team, "revenue")] == actual[("team", team, "revenue")]
    company = sum(v["revenue"] for (s, _), v in expected.items() if s == "region")
    assert actual[("company", "company", "revenue")] == company
