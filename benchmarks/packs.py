"""Review-pack rendering speed on a synthetic month: packs per second, and what Python adds to WeasyPrint.

    .venv/bin/python benchmarks/packs.py                    # 1,000 reps in teams of 10, 2 processes
    .venv/bin/python benchmarks/packs.py --reps 200 --sample 40

Prints, for the record in README:
1. Python-side cost (review figures, charts, templating) against WeasyPrint alone on the *same*
   HTML, one process, over ``--sample`` rep packs; target: at most 15% on top of WeasyPrint.
2. ``render_packs`` with 1 and with 2 processes on the same sub-month (``--sample`` reps and their
   managers); target: 2 processes at least 1.6x one.
3. ``render_packs`` for the whole month (``--reps`` reps plus one manager per team) on
   ``--processes`` processes: packs per second, against the floor: WeasyPrint alone
   (``HTML(string=...).write_pdf()`` with the pack stylesheet) on the same month's rep packs (the same
   HTML), on as many processes, measured just before and just after (the mean is the floor).
and which font subsetter WeasyPrint used (libharfbuzz-subset or the slow fontTools fallback).
The last line is ``month throughput: R of floor``: whole-month packs per second divided by the floor's
rep packs per second (target >= 0.9). A manager's pack costs its team summary and a merge, plus one extra
rendering for each member who reads another language than the manager (``--mixed``: the share of reps in a
team whose language differs from their manager's; 30% of teams read Chinese).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from attain.packs.render import STYLESHEET, TEMPLATES_DIR, Renderer, TemplatesOnlyFetcher, font_subsetter, render_packs
from attain.packs.review import ReviewTables, rep_review
from attain.periods import add_months, trailing
from attain.settings import Settings

MONTH = "2026-10"


def synthetic_month(n_reps: int, team_size: int = 10, seed: int = 7, mixed: float = 0.1) -> ReviewTables:
    """A month's computed tables for ``n_reps`` reps (docs/data-model.md columns), built with
    vectorised numpy: a manager per ``team_size`` reps, 30% of teams reading Chinese and a ``mixed`` share
    of reps reading the other language than their manager, ~10 closed deals per rep, three statement
    lines per rep whose sum is the payout."""
    rng = np.random.default_rng(seed)
    n_teams = -(-n_reps // team_size)
    rep_ids = np.array([f"R{i:05d}" for i in range(n_reps)])
    mgr_ids = np.array([f"M{i:04d}" for i in range(n_teams)])
    team_of = np.arange(n_reps) // team_size
    team_chinese = rng.random(n_teams) < 0.3
    rep_chinese = team_chinese[team_of] ^ (rng.random(n_reps) < mixed)
    locale = np.where(np.concatenate([team_chinese, rep_chinese]), "zh_CN", "en")
    people = pd.DataFrame(
        {
            "rep_id": np.concatenate([mgr_ids, rep_ids]),
            "name": [f"Manager {i}" for i in range(n_teams)]
            + [f"Rep {i} 销售" if loc == "zh_CN" else f"Rep {i}" for i, loc in enumerate(locale[n_teams:])],
            "role": ["manager"] * n_teams + ["rep"] * n_reps,
            "manager_id": np.concatenate([np.full(n_teams, ""), mgr_ids[team_of]]),
            "team": np.concatenate([[f"Team {t}" for t in range(n_teams)], [f"Team {t}" for t in team_of]]),
        }
    ).assign(
        email=lambda d: d["rep_id"].str.lower() + "@example.com",
        region="EMEA",
        hire_date="2020-01-01",
        leave_date=None,
        plan_id="P-2026",
        locale=locale,
        currency="USD",
        valid_from=None,
    )

    target = rng.integers(50, 150, n_reps) * 10_000
    ratio = rng.uniform(0.3, 1.6, (n_reps, 12))
    actual = (ratio * target[:, None]).round().astype(np.int64)
    months = trailing(MONTH, 12)
    trend = pd.DataFrame(
        {
            "month": MONTH,
            "scope": "rep",
            "scope_id": np.repeat(rep_ids, 12),
            "metric": "revenue",
            "period": "month",
            "currency": "USD",
            "actual": actual.ravel(),
            "target": np.repeat(target, 12),
            "trend_month": np.tile(months, n_reps),
        }
    )
    trend["attainment"] = trend["actual"] / trend["target"]
    ytd_actual, ytd_target = actual[:, -10:].sum(axis=1), target * 10
    periods = {"month": (actual[:, -1], target), "qtd": (actual[:, -1], target), "ytd": (ytd_actual, ytd_target)}
    attainment = pd.concat(
        [
            pd.DataFrame(
                {
                    "month": MONTH,
                    "scope": "rep",
                    "scope_id": rep_ids,
                    "metric": "revenue",
                    "period": p,
                    "currency": "USD",
                    "actual": a,
                    "target": t,
                    "attainment": a / t,
                }
            )
            for p, (a, t) in periods.items()
        ]
        + [
            pd.DataFrame(
                {
                    "month": MONTH,
                    "scope": "manager",
                    "scope_id": mgr_ids,
                    "metric": "revenue",
                    "period": "month",
                    "currency": "USD",
                    "actual": np.bincount(team_of, actual[:, -1]).astype(np.int64),
                    "target": np.bincount(team_of, target).astype(np.int64),
                }
            )
        ]
    )
    attainment["attainment"] = attainment["actual"] / attainment["target"]
    month_rows = attainment["period"].eq("month") & attainment["scope"].eq("rep")
    attainment.loc[month_rows, "rank_company"] = attainment.loc[month_rows, "attainment"].rank(ascending=False)
    attainment.loc[month_rows, "quartile_company"] = np.ceil(4 * attainment.loc[month_rows, "rank_company"] / n_reps)
    attainment.loc[month_rows, "rank_team"] = (
        attainment.loc[month_rows].groupby(team_of)["attainment"].rank(ascending=False).to_numpy()
    )
    attainment["quartile_team"] = np.nan

    n_deals = 10
    deal_owner = np.repeat(rep_ids, n_deals)
    stage = np.where(rng.random(n_reps * n_deals) < 0.6, "won", "lost")
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i:07d}" for i in range(n_reps * n_deals)],
            "owner_id": deal_owner,
            "account": [f"Account {i % 997} Ltd" for i in range(n_reps * n_deals)],
            "product": "GTX Pro",
            "amount_minor": rng.integers(1_000, 500_000, n_reps * n_deals) * 10,
            "currency": "USD",
            "stage": stage,
            "created_date": pd.Timestamp("2026-07-01"),
            "close_date": pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(0, 31, n_reps * n_deals), "D"),
            "cancelled_date": pd.NaT,
            "cancel_reason": "",
            "source_file": "deals.csv",
            "source_row": np.arange(2, n_reps * n_deals + 2),
        }
    )
    won = (stage == "won").reshape(n_reps, n_deals).sum(axis=1)
    pipeline = pd.DataFrame(
        {
            "month": MONTH,
            "scope": "rep",
            "scope_id": rep_ids,
            "won_count": won,
            "lost_count": n_deals - won,
            "win_rate": won / n_deals,
            "avg_won_minor": 250_000,
            "currency": "USD",
            "median_cycle_days": 45.0,
            "open_count": 5,
            "open_pipeline_minor": target * 3,
            "next_month_target_minor": target,
            "coverage": 3.0,
        }
    )
    pipeline = pd.concat([pipeline, pipeline.iloc[:1].assign(scope="company", scope_id="ALL", win_rate=0.6)])
    responses = rng.integers(0, 15, n_reps)
    satisfaction = pd.concat(
        [
            pd.DataFrame(
                {
                    "month": MONTH,
                    "rep_id": rep_ids,
                    "responses": responses,
                    "csat_responses": responses,
                    "csat_pct": rng.uniform(0.5, 1.0, n_reps),
                    "csat_mean": rng.uniform(3, 5, n_reps),
                    "nps_responses": responses,
                    "nps": rng.uniform(-20, 70, n_reps),
                    "enough": responses >= 5,
                    "window": w,
                }
            )
            for w in ("month", "trailing_12")
        ]
    )
    commission = (actual[:, -1] * 5 + 50) // 100
    bonus = np.where(actual[:, -1] >= target, 50_000, 0)
    penalty = -rng.integers(0, 3, n_reps) * 1_000
    amounts = np.stack([commission, bonus, penalty], axis=1)
    ledger = pd.DataFrame(
        {
            "month": MONTH,
            "rep_id": np.repeat(rep_ids, 3),
            "plan_id": "P-2026",
            "currency": "USD",
            "component": np.tile(["commission", "milestone_100", "quality_penalty"], n_reps),
            "kind": np.tile(["commission", "bonus", "penalty"], n_reps),
            "deal_ids": "",
            "base_minor": np.repeat(actual[:, -1], 3),
            "band": "",
            "rate": np.tile(["0.05", "", ""], n_reps),
            "amount_minor": amounts.ravel(),
            "for_month": MONTH,
            "line_no": np.tile([1, 2, 3], n_reps),
            "explanation": np.tile(
                ["5% of credited revenue", "Bonus for reaching 100% of target", "Quality penalty: late CRM updates"],
                n_reps,
            ),
        }
    )
    payable = amounts.sum(axis=1)
    payouts = pd.DataFrame(
        {
            "month": MONTH,
            "rep_id": rep_ids,
            "name": people["name"].iloc[n_teams:].to_numpy(),
            "email": "",
            "currency": "USD",
            "earnings_minor": payable,
            "draws_minor": 0,
            "adjustments_minor": 0,
            "payable_minor": payable,
            "draw_balance_minor": 0,
        }
    )
    targets = pd.DataFrame(
        {
            "scope": "rep",
            "scope_id": rep_ids,
            "month": add_months(MONTH, 1),
            "metric": "revenue",
            "amount": [f"{t / 100:.2f}" for t in target],
            "effective_date": pd.Timestamp("2026-10-01"),
            "reason": "initial",
            "author": "Sales operations",
        }
    )
    return ReviewTables(
        reps=people,
        attainment=attainment,
        attainment_trend=trend,
        pipeline_health=pipeline,
        satisfaction=satisfaction,
        incentive_ledger=ledger,
        payouts=payouts,
        deals=deals,
        targets=targets,
        quarantine=None,
    )


def python_vs_weasyprint(tables: ReviewTables, settings: Settings, sample: int) -> None:
    """Time figures + charts + templating against WeasyPrint on the same HTML, one process.

    The two are timed pack by pack in the same loop, so both see the same machine load; a second
    pass re-renders the stored HTML with WeasyPrint alone as a cross-check."""
    renderer = Renderer()
    reps = tables.reps[tables.reps["role"] == "rep"].head(sample)
    renderer.pdf(renderer.html(rep_review(reps.iloc[0]["rep_id"], MONTH, tables, settings), "en", "warm-up"))
    htmls, t_python, t_weasy = [], 0.0, 0.0
    for rep_id, locale in zip(reps["rep_id"], reps["locale"], strict=True):
        start = time.perf_counter()
        html = renderer.html(rep_review(rep_id, MONTH, tables, settings), locale, "bench")
        mid = time.perf_counter()
        renderer.pdf(html)
        t_python += mid - start
        t_weasy += time.perf_counter() - mid
        htmls.append(html)
    start = time.perf_counter()
    for html in htmls:
        renderer.pdf(html)
    t_alone = time.perf_counter() - start
    n = len(htmls)
    print(
        f"1. one process, {n} rep packs: Python side (figures, charts, templating) {1000 * t_python / n:.1f} "
        f"ms/pack, WeasyPrint {1000 * t_weasy / n:.0f} ms/pack: {100 * t_python / t_weasy:.1f}% on top of "
        f"WeasyPrint (target <= 15%); cross-check, WeasyPrint alone on the same HTML: {1000 * t_alone / n:.0f} ms/pack"
    )


_FLOOR_HTML: list[str] = []
_FLOOR: dict = {}  # per floor process: fonts, fetcher, stylesheet


def _floor_setup() -> None:
    """A floor process: the pack stylesheet parsed and fonts configured once, as WeasyPrint alone would."""
    fonts, fetcher = FontConfiguration(), TemplatesOnlyFetcher(TEMPLATES_DIR)
    css = CSS(filename=str(TEMPLATES_DIR / STYLESHEET), font_config=fonts, url_fetcher=fetcher)
    _FLOOR.update(fonts=fonts, fetcher=fetcher, css=css)


def _floor_pdf(index: int) -> int:
    html = HTML(string=_FLOOR_HTML[index], base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=_FLOOR["fetcher"])
    return len(html.write_pdf(stylesheets=[_FLOOR["css"]], font_config=_FLOOR["fonts"]))


def floor_seconds(htmls: list[str], processes: int) -> float:
    """Seconds WeasyPrint alone takes for ``htmls`` on ``processes`` processes (started and warmed first)."""
    _FLOOR_HTML[:] = htmls
    with multiprocessing.get_context("fork").Pool(processes, initializer=_floor_setup) as pool:
        pool.map(_floor_pdf, range(min(processes, len(htmls))), chunksize=1)  # warm: fonts loaded
        start = time.perf_counter()
        pool.map(_floor_pdf, range(len(htmls)), chunksize=4)
        return time.perf_counter() - start


def timed_render(tables: ReviewTables, settings: Settings, processes: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        packs = render_packs(MONTH, tables, settings, out, "bench", processes=processes).table
        return len(packs), time.perf_counter() - start


def sub_month(tables: ReviewTables, n_reps: int) -> ReviewTables:
    """The same month restricted to the first ``n_reps`` reps and their managers."""
    reps = tables.reps[tables.reps["role"] == "rep"].head(n_reps)
    keep = set(reps["rep_id"]) | set(reps["manager_id"])
    people = tables.reps[tables.reps["rep_id"].isin(keep)]
    return ReviewTables(
        **{
            **{
                f: getattr(tables, f)
                for f in (
                    "attainment",
                    "attainment_trend",
                    "pipeline_health",
                    "satisfaction",
                    "incentive_ledger",
                    "payouts",
                    "deals",
                    "targets",
                    "quarantine",
                )
            },
            "reps": people,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=60, help="reps for the 1-vs-2-process and overhead runs")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--mixed", type=float, default=0.1, help="share of reps reading another language")
    parser.add_argument("--skip", action="store_true", help="only the whole month and its floor (3.)")
    args = parser.parse_args()
    settings = Settings()
    print(
        f"font subsetter: {font_subsetter()} (libharfbuzz-subset0 "
        f"{'present' if font_subsetter() == 'harfbuzz-subset' else 'MISSING: slow fontTools path'}); "
        f"{os.cpu_count()} CPUs"
    )
    start = time.perf_counter()
    tables = synthetic_month(args.reps, mixed=args.mixed)
    print(f"synthetic month: {args.reps} reps, {len(tables.deals)} deals in {time.perf_counter() - start:.2f} s")
    if not args.skip:
        python_vs_weasyprint(tables, settings, args.sample)
        small = sub_month(tables, args.sample)
        n, one = timed_render(small, settings, 1)
        _, two = timed_render(small, settings, 2)
        print(
            f"2. {n} packs ({args.sample} reps + their managers): 1 process {n / one:.2f} packs/s, "
            f"2 processes {n / two:.2f} packs/s: {one / two:.2f}x (target >= 1.6x)"
        )
    renderer = Renderer()
    people = tables.reps.set_index("rep_id")
    reps = people[people["role"] == "rep"]
    htmls = [renderer.html(rep_review(r, MONTH, tables, settings), reps.at[r, "locale"], "bench") for r in reps.index]
    managers = people.loc[people["role"] == "manager", "locale"]
    other = (reps["locale"] != managers.reindex(reps["manager_id"]).to_numpy()).sum()
    before = floor_seconds(htmls, args.processes)
    n, elapsed = timed_render(tables, settings, args.processes)
    after = floor_seconds(htmls, args.processes)
    floor = len(htmls) / ((before + after) / 2)
    print(
        f"3. whole month: {n} packs ({args.reps} reps + {n - args.reps} manager packs; {other} reps read another "
        f"language than their manager) on {args.processes} processes in {elapsed:.1f} s = {n / elapsed:.2f} packs/s; "
        f"floor, WeasyPrint alone on the {len(htmls)} rep packs: {len(htmls) / before:.2f} packs/s before, "
        f"{len(htmls) / after:.2f} after"
    )
    print(f"month throughput: {n / elapsed / floor:.2f} of floor")


if __name__ == "__main__":
    main()
