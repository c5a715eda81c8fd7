"""Turn the public Maven Analytics CRM sample into an Attain data folder.

The sample (``../shared/datasets/maven-crm`` relative to the repo root; see its
README.md and data_dictionary.csv) is real-world input nobody on the team
wrote: 8,800 opportunities of 35 sales agents under 6 managers in 3 regional
offices, closing 2017-03 to 2017-12 (:data:`MAVEN_MONTH` is the last month).
``load_maven(src_dir, out_dir)`` writes ``deals.csv``, ``reps.csv`` and
``targets.csv`` in the input contract (docs/data-model.md) and copies the
example plans; every deal is kept with its stage. Everything the sample lacks
is derived by the rules below (docs/demo-data.md repeats them):

Deals (``sales_pipeline.csv``)
- ``deal_id`` = ``opportunity_id``; ``owner_id`` = :func:`person_id` of ``sales_agent``.
- ``product`` goes through :data:`PRODUCT_ALIASES` (the 1,480 "GTXPro" deals are
  "GTX Pro" in products.csv); any product still unknown is an error.
- ``amount`` = ``close_value`` in USD (blank on open deals, 0 on lost ones).
- ``deal_stage`` Won/Lost -> ``won``/``lost``; Engaging and Prospecting -> ``open``.
- ``created_date`` = ``engage_date`` (blank on Prospecting deals), ``close_date`` as is;
  ``account`` as is (blank on many open deals). No cancellations.

People (``sales_teams.csv``)
- ``rep_id`` = :func:`person_id` (the name's slug: lower case ASCII, every run of
  other characters one hyphen: "Mei-Mei Johns" -> ``mei-mei-johns``).
- e-mail ``first.last@maven.attain.example``: the slugs of the name before and
  after its last space.
- 35 agents (``role=rep``, plan ``ae_usd``) report to their manager; 6 managers
  (``role=manager``, plan ``mgr_usd``, no manager above). ``team`` = "Team <manager's
  last name>", ``region`` = ``regional_office``, locale ``en``, currency ``USD``.
- ``hire_date`` = the first day of the month of the earliest ``engage_date`` in the
  file (2016-10-01), so everyone is employed for the whole sample; nobody leaves.

Targets (the sample has none), for each agent and each month from the first close
month to :data:`MAVEN_MONTH`, effective on the month's first day. An *active
agent-month* is an agent with at least one won or lost deal closing that month:
- ``revenue`` = the median, over active agent-months, of won ``close_value``,
  rounded half-up to 100 USD;
- ``won_deals`` = the median of won deals over active agent-months, rounded half-up
  (at least 1);
- ``new_accounts`` = the median of new accounts (an account's first-ever won deal,
  by close date then id, counted for its owner as :mod:`attain.measures.attainment` does)
  over active agent-months, rounded half-up; when that median is 0 (the sample's
  85 accounts are nearly all won in its first months) the target is written as an
  explicit blank, "no target", since a zero target cannot be measured against.
Managers get an explicit "no target" revenue row each month: they are measured on their team.

No ``fx_rates`` (everything is USD), no surveys, no credit splits.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from attain.demo.basics import INPUT_COLUMNS
from attain.demo.company import copy_example_plans, write_input_csv
from attain.ingest.raw import InputFileError, RawTable
from attain.ingest.readers import read_table
from attain.periods import month_span, month_start

#: The last month with closed deals in the sample: the month to run it for.
MAVEN_MONTH = "2017-12"

#: Where the sample lives: ``../shared/datasets/maven-crm`` relative to the repo root.
#: Plan files for the sample's agents and managers (effective 2017, no survey-based rules).
MAVEN_PLANS_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "maven-plans"
MAVEN_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "maven-crm"

#: Product names in sales_pipeline.csv that mean a products.csv product.
PRODUCT_ALIASES: dict[str, str] = {"GTXPro": "GTX Pro"}

#: CRM stage -> contract stage.
STAGES: dict[str, str] = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}

EMAIL_DOMAIN = "maven.attain.example"
_TARGET_AUTHOR = "attain.maven"


def person_id(name: str) -> str:
    """The id rule for agents and managers: the slug of the name (``"Mei-Mei Johns"`` -> ``"mei-mei-johns"``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def load_maven(src_dir: Path, out_dir: Path) -> dict[str, Path]:
    """Convert the Maven CRM sample in ``src_dir`` into input files in ``out_dir``.

    Returns the paths of ``deals``, ``reps``, ``targets`` and ``plans`` (the
    folder of copied example plans). ``src_dir`` is normally :data:`MAVEN_DIR`.
    Raises :class:`InputFileError` naming the file, row and value when the
    sample does not look as documented.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    pipeline = read_table(src_dir / "sales_pipeline.csv")
    teams = read_table(src_dir / "sales_teams.csv")
    products = read_table(src_dir / "products.csv")

    reps = _reps(teams, pipeline)
    deals = _deals(pipeline, products, set(reps["rep_id"]))
    targets = _targets(deals, reps)

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: write_input_csv(df, out_dir, name)
        for name, df in (("deals", deals), ("reps", reps), ("targets", targets))
    }
    paths["plans"] = copy_example_plans(out_dir, MAVEN_PLANS_DIR)
    return paths


def _require(table: RawTable, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in table.df.columns]
    if missing:
        raise InputFileError(table.path, f"lacks column(s) {', '.join(missing)}; is this the Maven CRM sample?")
    return table.df


def _email(name: str) -> str:
    first, _, last = name.strip().rpartition(" ")
    return f"{person_id(first)}.{person_id(last)}@{EMAIL_DOMAIN}"


def _reps(teams: RawTable, pipeline: RawTable) -> pd.DataFrame:
    """Agents and managers as roster rows (rules in the module docstring)."""
    df = _require(teams, ["sales_agent", "manager", "regional_office"])
    engage = _require(pipeline, ["engage_date"])["engage_date"]
    hire_date = month_start(engage[engage != ""].min()[:7]).isoformat()
    team_of = {m: f"Team {m.split()[-1]}" for m in df["manager"]}
    agents = pd.DataFrame(
        {
            "rep_id": df["sales_agent"].map(person_id),
            "name": df["sales_agent"],
            "role": "rep",
            "manager_id": df["manager"].map(person_id),
            "team": df["manager"].map(team_of),
            "region": df["regional_office"],
            "plan_id": "ae_usd",
        }
    )
    managers = df.drop_duplicates("manager")
    managers = pd.DataFrame(
        {
            "rep_id": managers["manager"].map(person_id),
            "name": managers["manager"],
            "role": "manager",
            "manager_id": "",
            "team": managers["manager"].map(team_of),
            "region": managers["regional_office"],
            "plan_id": "mgr_usd",
        }
    )
    reps = pd.concat([agents, managers], ignore_index=True)
    clash = reps[reps["rep_id"].duplicated(keep=False)]
    if len(clash):
        raise InputFileError(teams.path, f"names {sorted(set(clash['name']))} give the same id; rename one of them")
    reps["email"] = reps["name"].map(_email)
    reps["hire_date"] = hire_date
    reps["leave_date"] = ""
    reps["locale"] = "en"
    reps["currency"] = "USD"
    reps["valid_from"] = ""
    return reps.sort_values("rep_id", kind="stable").reset_index(drop=True)


def _deals(pipeline: RawTable, products: RawTable, roster: set[str]) -> pd.DataFrame:
    """Every opportunity as a contract deal row (rules in the module docstring)."""
    df = _require(
        pipeline,
        [
            "opportunity_id",
            "sales_agent",
            "product",
            "account",
            "deal_stage",
            "engage_date",
            "close_date",
            "close_value",
        ],
    )
    known_products = set(_require(products, ["product"])["product"])
    product = df["product"].replace(PRODUCT_ALIASES)
    stage = df["deal_stage"].map(STAGES)
    owner = df["sales_agent"].map(person_id)
    for column, bad, fix in (
        ("product", ~product.isin(known_products), "add it to products.csv or to PRODUCT_ALIASES"),
        ("deal_stage", stage.isna(), f"use one of {', '.join(STAGES)}"),
        ("sales_agent", ~owner.isin(roster), "add the agent to sales_teams.csv"),
    ):
        if bad.any():
            row = bad.idxmax()
            raise InputFileError(
                pipeline.path,
                f"row {pipeline.row_number(row)}, column {column}: {df.at[row, column]!r} is unknown "
                f"({int(bad.sum())} rows like it); {fix}",
            )
    return pd.DataFrame(
        {
            "deal_id": df["opportunity_id"],
            "owner_id": owner,
            "account": df["account"],
            "product": product,
            "amount": df["close_value"],
            "currency": "USD",
            "stage": stage,
            "created_date": df["engage_date"],
            "close_date": df["close_date"],
            "cancelled_date": "",
            "cancel_reason": "",
        }
    )


def _half_up(value: float, step: int) -> int:
    """``value`` rounded half-up to a multiple of ``step`` (medians are exact .5 at worst)."""
    return int((Decimal(str(value)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step


def _targets(deals: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """One target per agent, month and metric, from medians over active agent-months."""
    closed = deals[deals["stage"].isin(["won", "lost"])]
    month = closed["close_date"].str[:7]
    won = closed["stage"] == "won"
    first_won = closed[won].sort_values(["close_date", "deal_id"]).drop_duplicates("account")
    is_new = closed.index.isin(first_won.index[first_won["account"] != ""])
    per_agent_month = (
        pd.DataFrame(
            {
                "owner_id": closed["owner_id"],
                "month": month,
                "revenue": np.where(won, closed["amount"].astype(np.int64), 0),
                "won_deals": won.astype(np.int64),
                "new_accounts": is_new.astype(np.int64),
            }
        )
        .groupby(["owner_id", "month"])
        .sum()
    )
    medians = per_agent_month.median()
    amounts = {
        "revenue": str(_half_up(medians["revenue"], 100)),
        "won_deals": str(max(1, _half_up(medians["won_deals"], 1))),
        "new_accounts": str(_half_up(medians["new_accounts"], 1) or ""),
    }
    reasons = {
        "revenue": "derived: median monthly won revenue per active agent, to 100 USD",
        "won_deals": "derived: median monthly won deals per active agent",
        "new_accounts": (
            "derived: median monthly new accounts per active agent"
            if amounts["new_accounts"]
            else "no target: the median monthly new accounts per active agent is 0"
        ),
    }
    agents = reps.loc[reps["role"] == "rep", "rep_id"]
    managers = reps.loc[reps["role"] == "manager", "rep_id"]
    months = month_span(month.min(), MAVEN_MONTH)
    rows = [
        ("rep", rep_id, m, metric, amounts[metric], month_start(m).isoformat(), reasons[metric], _TARGET_AUTHOR)
        for rep_id in agents
        for m in months
        for metric in amounts
    ]
    rows += [
        (
            "rep",
            rep_id,
            m,
            "revenue",
            "",
            month_start(m).isoformat(),
            "no target: managers are measured on their team",
            _TARGET_AUTHOR,
        )
        for rep_id in managers
        for m in months
    ]
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])
