"""The Maven CRM sample converted to the input contract: every deal kept, derived roster and targets."""

import csv
import datetime as dt
import statistics
from collections import Counter, defaultdict

import pandas as pd
import pytest

from attain.demo.maven import MAVEN_DIR, MAVEN_MONTH, PRODUCT_ALIASES, load_maven, person_id
from attain.ingest.raw import InputFileError

pytestmark = pytest.mark.skipif(
    not (MAVEN_DIR / "sales_pipeline.csv").is_file(), reason="the Maven sample is not at ../shared/datasets/maven-crm"
)


def _raw(name):
    with open(MAVEN_DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maven")
    paths = load_maven(MAVEN_DIR, folder)
    assert sorted(paths) == ["deals", "plans", "reps", "targets"]
    assert not (folder / "fx_rates.csv").exists() and not (folder / "surveys.csv").exists()
    return folder


@pytest.fixture(scope="module")
def t(out):
    return {
        name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("deals", "reps", "targets")
    }


def test_every_deal_kept_with_the_files_stage_counts(t):
    raw = _raw("sales_pipeline.csv")
    stages = Counter(row["deal_stage"] for row in raw)
    deals = t["deals"]
    assert len(deals) == len(raw) == 8800
    assert deals["stage"].value_counts().to_dict() == {
        "won": stages["Won"],
        "lost": stages["Lost"],
        "open": stages["Engaging"] + stages["Prospecting"],
    }
    assert deals["deal_id"].tolist() == [row["opportunity_id"] for row in raw]
    assert set(deals["currency"]) == {"USD"}


def test_gtxpro_is_aliased_and_every_product_is_in_the_catalogue(t):
    raw = Counter(row["product"] for row in _raw("sales_pipeline.csv"))
    catalogue = {row["product"] for row in _raw("products.csv")}
    products = t["deals"]["product"].value_counts()
    assert raw["GTXPro"] == 1480 and PRODUCT_ALIASES["GTXPro"] == "GTX Pro"
    assert "GTXPro" not in products and products["GTX Pro"] == 1480 + raw["GTX Pro"]
    assert set(products.index) <= catalogue


def test_amounts_dates_and_blanks_carried_over(t):
    deals = t["deals"].set_index("deal_id")
    assert deals.loc["Z063OYW0"].to_dict() == {
        "owner_id": "darcel-schlecht",
        "account": "Isdom",
        "product": "GTX Pro",
        "amount": "4514",
        "currency": "USD",
        "stage": "won",
        "created_date": "2016-10-25",
        "close_date": "2017-03-11",
        "cancelled_date": "",
        "cancel_reason": "",
    }
    open_deals = deals[deals["stage"] == "open"]
    assert (open_deals["amount"] == "").all() and (open_deals["close_date"] == "").all()
    assert (deals.loc[deals["stage"] == "lost", "amount"] == "0").all()
    assert (open_deals["account"] == "").sum() == 1088 + 337  # blank accounts kept, as in the file
    assert (open_deals["created_date"] == "").sum() == 500  # Prospecting deals have no engage date
    assert deals["close_date"].max() == "2017-12-31" and deals["close_date"].max()[:7] == MAVEN_MONTH


def test_roster_35_agents_under_6_managers(t):
    reps = t["reps"]
    agents, managers = reps[reps["role"] == "rep"], reps[reps["role"] == "manager"]
    assert len(agents) == 35 and len(managers) == 6
    assert set(agents["manager_id"]) == set(managers["rep_id"])
    assert (managers["manager_id"] == "").all()
    brinkmann = agents[agents["team"] == "Team Brinkmann"]
    assert sorted(brinkmann["name"]) == [
        "Anna Snelling",
        "Cecily Lampkin",
        "Lajuana Vencill",
        "Moses Frase",
        "Versie Hillebrand",
    ]
    assert set(brinkmann["manager_id"]) == {"dustin-brinkmann"} and set(brinkmann["region"]) == {"Central"}
    assert set(reps["region"]) == {"Central", "East", "West"}
    assert set(agents["plan_id"]) == {"ae_usd"} and set(managers["plan_id"]) == {"mgr_usd"}
    assert set(reps["locale"]) == {"en"} and set(reps["currency"]) == {"USD"}
    assert set(reps["hire_date"]) == {"2016-10-01"} and set(reps["leave_date"]) == {""}
    row = reps.set_index("rep_id").loc["mei-mei-johns"]
    assert row["email"] == "mei-mei.johns@maven.attain.example"
    assert set(t["deals"]["owner_id"]) <= set(agents["rep_id"])


def test_person_id_is_the_slug_of_the_name():
    assert person_id("Mei-Mei Johns") == "mei-mei-johns"
    assert person_id("  Rosie Papadopoulos ") == "rosie-papadopoulos"


def test_targets_are_the_medians_of_active_agent_months(t):
    # Recomputed straight from the raw file: won revenue and won count per (agent, close month)
    # over agent-months with at least one closed deal.
    revenue, won = defaultdict(int), defaultdict(int)
    for row in _raw("sales_pipeline.csv"):
        if row["deal_stage"] in ("Won", "Lost"):
            key = (row["sales_agent"], row["close_date"][:7])
            revenue[key] += int(row["close_value"]) if row["deal_stage"] == "Won" else 0
            won[key] += row["deal_stage"] == "Won"
    expected_revenue = round(statistics.median(revenue.values()) / 100) * 100
    expected_won = round(statistics.median(won.values()))
    managers = t["reps"].loc[t["reps"]["role"] == "manager", "rep_id"]
    no_quota = t["targets"][t["targets"]["scope_id"].isin(managers)]
    assert len(no_quota) == 6 * 10 and set(no_quota["amount"]) == {""}  # managers: explicit "no target"
    targets = t["targets"][~t["targets"]["scope_id"].isin(managers)]
    assert len(targets) == 35 * 10 * 3  # agents x 2017-03..2017-12 x metrics
    assert sorted(targets["month"].unique())[0] == "2017-03" and targets["month"].max() == MAVEN_MONTH
    by_metric = targets.groupby("metric")["amount"].unique()
    assert by_metric["revenue"].tolist() == [str(expected_revenue)] and expected_revenue == 28400
    assert by_metric["won_deals"].tolist() == [str(expected_won)]
    assert by_metric["new_accounts"].tolist() == [""]  # median 0: explicit "no target"
    assert (targets["effective_date"] == targets["month"] + "-01").all()
    assert (targets["reason"] != "").all() and (targets["author"] != "").all()


def test_unknown_product_is_named_with_its_row(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("sales_teams.csv", "products.csv"):
        (src / name).write_bytes((MAVEN_DIR / name).read_bytes())
    lines = (MAVEN_DIR / "sales_pipeline.csv").read_text(encoding="utf-8").splitlines()[:4]
    lines[3] = lines[3].replace("MG Special", "GTX Turbo")
    (src / "sales_pipeline.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"sales_pipeline.csv: row 4, column product: 'GTX Turbo'"):
        load_maven(src, tmp_path / "out")


def test_maven_folder_loads_with_nothing_quarantined(out):
    from attain.ingest.load import load_inputs
    from attain.settings import Settings

    result = load_inputs(out, MAVEN_MONTH, Settings(), today=dt.date(2026, 11, 1))
    assert result.quarantine.empty, result.quarantine[["source_row", "column", "reason"]].head().to_string()
    assert len(result.deals) == 8800
    assert result.deals["stage"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 2089}
    assert len(result.reps) == 41
