"""Benchmark: a 1,000,000-row Salesforce report export vs the same deals in the contract layout.

Writes two data folders holding the same roster, targets and deals: one with
``deals.csv`` in the contract layout (ISO dates, plain amounts, won/lost/open),
one with ``deals.csv`` as a Salesforce report export (``Opportunity Owner``
names, ``$22,700.00`` amounts, ``4/15/2025`` dates, vendor stage names,
15-character opportunity ids). Times, best of ``--runs``:

- contract ingest: ``load_inputs`` on the contract folder (read + validate);
- export ingest: ``load_inputs`` on the export folder (read + adapt + validate);
- adapt alone: ``crm_profiles.adapt`` on the already-read export.

The issue's bound: adapt must add no more than 2x the contract ingest time.

    .venv/bin/python benchmarks/crm_ingest.py [--deals 1000000] [--reps 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from attain.ingest.crm import adapt
from attain.ingest.load import load_inputs
from attain.ingest.readers import read_table
from attain.settings import Settings

MONTH = "2025-12"
TODAY = dt.date(2026, 1, 15)
_OPEN_STAGES = np.array(["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review"], dtype=object)


def synthetic(n_deals: int, n_reps: int, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(roster, contract deals, the same deals as a Salesforce report export)."""
    rng = np.random.default_rng(seed)
    rep_ids = np.array([f"R{i:04d}" for i in range(n_reps)], dtype=object)
    names = np.array([f"Rep{i:04d} Surname{i % 97}" for i in range(n_reps)], dtype=object)
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": names,
            "email": [f"r{i:04d}@acme.example" for i in range(n_reps)],
            "role": "rep",
            "manager_id": "",
            "team": "T1",
            "region": "NA",
            "hire_date": "2020-01-01",
            "leave_date": "",
            "plan_id": "",
            "locale": "en",
            "currency": "USD",
            "valid_from": "",
        }
    )
    owner = rng.integers(0, n_reps, n_deals)
    created = np.datetime64("2024-01-01") + rng.integers(0, 700, n_deals).astype("timedelta64[D]")
    close = created + rng.integers(1, 60, n_deals).astype("timedelta64[D]")
    cents = rng.integers(100, 10_000_000, n_deals)
    stage = rng.choice(np.array(["won", "lost", "open"], dtype=object), n_deals, p=[0.4, 0.3, 0.3])
    ids = np.char.add("0065g0000", np.char.zfill(np.arange(n_deals).astype(str), 6)).astype(object)
    accounts = np.array([f"Account {i}" for i in range(20_000)], dtype=object)[rng.integers(0, 20_000, n_deals)]
    whole, frac = cents // 100, cents % 100
    plain = pd.Series(whole.astype(str), dtype=object) + "." + pd.Series(frac.astype(str), dtype=object).str.zfill(2)
    contract = pd.DataFrame(
        {
            "deal_id": ids,
            "owner_id": rep_ids[owner],
            "account": accounts,
            "product": "GTX Pro",
            "amount": plain,
            "currency": "USD",
            "stage": stage,
            "created_date": pd.DatetimeIndex(created).strftime("%Y-%m-%d"),
            "close_date": pd.DatetimeIndex(close).strftime("%Y-%m-%d"),
            "cancelled_date": "",
            "cancel_reason": "",
        }
    )
    vendor_stage = np.where(
        stage == "won",
        "Closed Won",
        np.where(stage == "lost", "Closed Lost", _OPEN_STAGES[rng.integers(0, len(_OPEN_STAGES), n_deals)]),
    )
    grouped = pd.Series(whole).map("{:,}".format).astype(object)
    export = pd.DataFrame(
        {
            "Opportunity Owner": names[owner],
            "Account Name": accounts,
            "Opportunity Name": "Renewal",
            "Stage": vendor_stage,
            "Fiscal Period": "Q1-2025",
            "Amount": "$" + grouped + "." + pd.Series(frac.astype(str), dtype=object).str.zfill(2),
            "Probability (%)": "50",
            "Product Name": "GTX Pro",
            "Close Date": pd.DatetimeIndex(close).strftime("%-m/%-d/%Y"),
            "Created Date": pd.DatetimeIndex(created).strftime("%-m/%-d/%Y"),
            "Opportunity ID": ids,
        }
    )
    return reps, contract, export


def write_folder(folder: Path, reps: pd.DataFrame, deals: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    reps.to_csv(folder / "reps.csv", index=False)
    pd.DataFrame(
        {
            "scope": "rep",
            "scope_id": reps["rep_id"],
            "month": MONTH,
            "metric": "revenue",
            "amount": "100000",
            "effective_date": "2025-01-01",
        }
    ).to_csv(folder / "targets.csv", index=False)
    deals.to_csv(folder / "deals.csv", index=False)


def best(runs: int, work) -> tuple[float, object]:
    """Best wall time of ``runs`` calls of ``work`` and its last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    reps, contract, export = synthetic(args.deals, args.reps)
    with tempfile.TemporaryDirectory() as tmp:
        plain, crm = Path(tmp) / "contract", Path(tmp) / "salesforce"
        write_folder(plain, reps, contract)
        write_folder(crm, reps, export)
        settings = Settings()

        t_contract, result_plain = best(args.runs, lambda: load_inputs(plain, MONTH, settings, today=TODAY))
        t_export, result_crm = best(args.runs, lambda: load_inputs(crm, MONTH, settings, today=TODAY))
        t_read_export, raw = best(args.runs, lambda: read_table(crm / "deals.csv"))
        t_adapt, adapted = best(args.runs, lambda: adapt(raw, reps))

    same = result_plain.deals["amount_minor"].sum() == result_crm.deals["amount_minor"].sum() and len(
        result_plain.deals
    ) == len(result_crm.deals)
    print(
        f"deals: {args.deals:,} rows, {args.reps} reps, profile {adapted.profile}, "
        f"rows accepted by adapt: {adapted.notes['rows_accepted']:,}"
    )
    print(f"contract ingest (read + validate):        {t_contract:6.2f} s")
    print(f"export ingest (read + adapt + validate):  {t_export:6.2f} s")
    print(f"  read the export:                        {t_read_export:6.2f} s")
    print(f"  adapt alone:                            {t_adapt:6.2f} s  = {t_adapt / t_contract:.2f}x contract ingest")
    print(f"same validated deals and total amount:    {same}")
    print("bound (adapt <= 2x contract ingest):      " + ("met" if t_adapt <= 2 * t_contract else "NOT MET"))


if __name__ == "__main__":
    main()
