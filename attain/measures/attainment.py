"""Attainment: credited actual against the target in force, per metric, period and scope.

Metrics (actuals are int64: minor units of the plan currency for revenue, counts otherwise)
- ``revenue``: the credit of every credited row (owner, split and overlay rows).
- ``won_deals``: each credited row counts the deal once for its rep, so a split deal
  counts 1 for every sharer (and for an overlay rep). A roll-up counts each deal once
  per scope, however many of its members shared it.
- ``new_accounts``: an account whose first-ever won deal company-wide (earliest close
  date, then deal id; cancellations do not undo it) closes in the month, counted once
  for that deal's owner (``owner_id``; splits and overlays do not share it).

Roll-ups (team, manager = the manager's whole subtree including the manager, region,
company) use the roster in force in each month and sum the months for QTD and YTD.
Overlay rows count for the overlay rep only: they are left out of every roll-up,
because the owner or split rows of the same deal already carry 100% of it. Revenue is
never summed across currencies: a scope whose members have several plan currencies
gets one row per currency.

Targets: a rep's is its target in force (prorated); a team's is its set target or its
members' sum (:mod:`attain.measures.targets`); a manager's, region's and the company's is the
sum of their members' rep targets. QTD/YTD targets are sums of the months' targets
(<NA> when no month has one) and attainment = summed actual / summed target, never an
average of monthly ratios. ``attainment`` is a float for display and ranking only.

Rank and quartile (rep rows only) are by attainment, highest first, within the team
(as of the measured month) and within the company, per metric and period. Ties share
the best rank ("min" method); reps without a target are not ranked. Quartile
= floor(4 x (rank - 1) / number ranked) + 1: 1 is the top quarter and the best rep is
always in it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain import periods
from attain.measures.targets import METRICS
from attain.periods import month_keys
from attain.roster import SCOPES, active_in_month, memberships, roster_by_month
from attain.settings import Settings

ATTAINMENT_COLUMNS = [
    "month",
    "scope",
    "scope_id",
    "metric",
    "period",
    "currency",
    "actual",
    "target",
    "attainment",
    "rank_team",
    "quartile_team",
    "rank_company",
    "quartile_company",
]
_KEYS = ["scope", "scope_id", "metric", "currency"]


def first_won_accounts(deals: pd.DataFrame) -> pd.DataFrame:
    """The first-ever won deal of each account: ``account, deal_id, owner_id, close_date, month``."""
    won = deals.loc[
        deals["stage"].eq("won") & deals["close_date"].notna(), ["account", "deal_id", "owner_id", "close_date"]
    ]
    won = won[won["account"].fillna("").ne("")]
    earliest = won.groupby("account", sort=False)["close_date"].transform("min")
    first = won[won["close_date"].eq(earliest)].sort_values("deal_id", kind="stable").drop_duplicates("account")
    first = first.assign(month=month_keys(first["close_date"]))
    return first.reset_index(drop=True)


def scope_targets(in_force: pd.DataFrame, scopes: pd.DataFrame) -> pd.DataFrame:
    """Targets per ``month, scope, scope_id, metric, currency``: rep and team rows as in force,
    manager/region/company rows as sums of their members' rep targets (``scopes`` = memberships)."""
    rep = in_force[in_force["scope"].eq("rep")].rename(columns={"scope_id": "rep_id"})
    rolled = rep[["month", "rep_id", "metric", "currency", "target"]].merge(
        scopes.loc[scopes["scope"].isin(["manager", "region", "company"]), ["month", "rep_id", "scope", "scope_id"]],
        on=["month", "rep_id"],
    )
    rolled = rolled.groupby(["month", *_KEYS])["target"].sum(min_count=1).reset_index()
    direct = in_force[in_force["scope"].isin(["rep", "team"])][["month", *_KEYS, "target"]]
    return pd.concat([direct, rolled], ignore_index=True).astype({"target": "Int64"})


class _Codes:
    """Integer codes for rep-months, scopes, metrics and currencies, so roll-ups are int64 joins and sums.

    ``roster`` is :func:`roster_by_month` output: one row per rep and month, sorted by
    month then rep id, so the row of (month i, rep j) is ``i x reps + j``.
    """

    def __init__(self, roster: pd.DataFrame, scopes: pd.DataFrame, months: list[str], currencies) -> None:
        self.months = pd.Index(months)
        self.reps = pd.Index(roster["rep_id"].unique()).sort_values()
        kind, kinds = pd.factorize(scopes["scope"])
        ident, idents = pd.factorize(scopes["scope_id"])
        codes, pairs = pd.factorize(kind.astype(np.int64) * len(idents) + ident)
        self.scope_kind = kinds.to_numpy()[pairs // max(len(idents), 1)]
        self.scope_id = idents.to_numpy()[pairs % max(len(idents), 1)]
        self.scope_index = pd.MultiIndex.from_arrays([self.scope_kind, self.scope_id])
        self.pairs = pd.DataFrame(
            {
                "row": scopes["row"].to_numpy(),
                "scope": codes,
                "is_rep": scopes["scope"].eq("rep").to_numpy(),
                "is_team": scopes["scope"].eq("team").to_numpy(),
            }
        )
        self.currencies = pd.Index(sorted(set(currencies) | {""}))
        rows = self.pairs["row"].to_numpy()
        order = np.argsort(rows, kind="stable")
        self._pair_scope = codes[order]
        self._pair_is_rep = self.pairs["is_rep"].to_numpy()[order]
        self._pair_is_team = self.pairs["is_team"].to_numpy()[order]
        counts = np.bincount(rows[rows >= 0], minlength=len(self.months) * len(self.reps))
        self._pair_count = counts
        self._pair_start = np.cumsum(counts) - counts + int((rows < 0).sum())

    def spread(
        self, row: np.ndarray, overlay: np.ndarray | None = None, teams: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Join facts to every scope of their rep-month: ``(fact index, scope code)`` per pair.

        Overlay facts only reach the rep's own scope; ``teams=False`` leaves out team
        scopes (team targets are set or summed in :mod:`attain.measures.targets`, not here).
        """
        count = self._pair_count[row]
        fact = np.repeat(np.arange(len(row)), count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        pair = np.repeat(self._pair_start[row], count) + offset
        keep = np.ones(len(pair), dtype=bool)
        if overlay is not None:
            keep &= ~overlay[fact] | self._pair_is_rep[pair]
        if not teams:
            keep &= ~self._pair_is_team[pair]
        return fact[keep], self._pair_scope[pair[keep]]

    def row(self, month: pd.Series, rep_id: pd.Series) -> np.ndarray:
        """Roster row of each (month, rep); a rep missing from the roster is an error."""
        rep = self.reps.get_indexer(rep_id)
        if (rep < 0).any():
            raise ValueError(
                f"reps missing from the roster: {sorted(set(np.asarray(rep_id)[rep < 0]))[:5]}; add them to reps"
            )
        return self.months.get_indexer(month) * len(self.reps) + rep

    def metric(self, names) -> np.ndarray:
        return pd.Index(METRICS).get_indexer(names)

    def currency(self, names) -> np.ndarray:
        return self.currencies.get_indexer(names)

    def key(self, month: np.ndarray, scope: np.ndarray, metric: np.ndarray, currency: np.ndarray) -> np.ndarray:
        """One int64 per (month index, scope code, metric code, currency code)."""
        return ((month * len(self.scope_index) + scope) * len(METRICS) + metric) * len(self.currencies) + currency

    @property
    def month_stride(self) -> int:
        """Key distance between the same (scope, metric, currency) in consecutive months."""
        return len(self.scope_index) * len(METRICS) * len(self.currencies)

    def decode(self, key: np.ndarray) -> pd.DataFrame:
        rest, currency = np.divmod(key, len(self.currencies))
        rest, metric = np.divmod(rest, len(METRICS))
        month, scope = np.divmod(rest, len(self.scope_index))
        return pd.DataFrame(
            {
                "month": self.months.to_numpy()[month],
                "scope": self.scope_kind[scope],
                "scope_id": self.scope_id[scope],
                "metric": np.array(METRICS, dtype=object)[metric],
                "currency": self.currencies.to_numpy()[currency],
            }
        )


def _events(credited: pd.DataFrame, deals: pd.DataFrame, roster: pd.DataFrame, months: list[str], codes: _Codes):
    """Counted facts as integer codes: ``(plain, shared)``.

    ``plain``: ``row, metric, currency, overlay, value`` pre-summed per rep-month.
    ``shared``: the won-deal rows of split deals (``row, metric, currency, deal``), kept
    per deal so a roll-up counts a shared deal once. Zero facts for every rep employed
    in a month make sure each active rep (and each of its scopes) is reported.
    """
    rows = credited[credited["credit_month"].isin(months)]
    facts = pd.DataFrame(
        {
            "row": codes.row(rows["credit_month"], rows["rep_id"]),
            "currency": codes.currency(rows["plan_currency"]),
            "overlay": rows["role"].eq("overlay").to_numpy(),
            "value": rows["credit_minor"].to_numpy(np.int64),
        }
    )
    split = rows["role"].eq("split").to_numpy()
    none, (revenue, won, new) = codes.currency([""])[0], codes.metric(METRICS)
    first = first_won_accounts(deals)
    first = first[first["month"].isin(months)]
    active = np.flatnonzero(active_in_month(roster, roster["month"]).to_numpy())
    n = len(active)
    parts = [
        facts.assign(metric=revenue),
        facts[~split].assign(metric=won, currency=none, value=1),
        pd.DataFrame(
            {
                "row": codes.row(first["month"], first["owner_id"]),
                "currency": none,
                "overlay": False,
                "value": 1,
                "metric": new,
            }
        ),
        pd.DataFrame(
            {
                "row": active,
                "currency": codes.currency(roster["currency"].to_numpy()[active]),
                "overlay": False,
                "value": 0,
                "metric": revenue,
            }
        ),
        pd.DataFrame(
            {
                "row": np.tile(active, 2),
                "currency": none,
                "overlay": False,
                "value": 0,
                "metric": np.repeat([won, new], n),
            }
        ),
    ]
    plain = pd.concat(parts, ignore_index=True).astype(
        {"row": np.int64, "currency": np.int64, "metric": np.int64, "value": np.int64}
    )
    plain = plain.groupby(["row", "metric", "currency", "overlay"], sort=False)["value"].sum().reset_index()
    shared = pd.DataFrame(
        {
            "row": facts["row"].to_numpy()[split],
            "metric": won,
            "currency": none,
            "deal": rows["deal_id"].to_numpy()[split],
        }
    )
    return plain, shared


def monthly_figures(
    credited: pd.DataFrame,
    deals: pd.DataFrame,
    in_force: pd.DataFrame,
    reps: pd.DataFrame,
    months: list[str],
) -> pd.DataFrame:
    """Actual and target per ``month, scope, scope_id, metric, currency`` for each of ``months``.

    ``slot`` is an integer naming (scope, scope_id, metric, currency) for fast period sums.
    """
    roster = roster_by_month(reps, months)
    in_force = in_force[in_force["month"].isin(months)]
    team_targets = in_force[in_force["scope"].eq("team")]
    scopes = pd.concat([memberships(roster), team_targets[["scope", "scope_id"]].assign(row=-1)], ignore_index=True)
    codes = _Codes(
        roster,
        scopes,
        months,
        [*roster["currency"].unique(), *credited["plan_currency"].unique(), *in_force["currency"].unique()],
    )
    per_rep = len(codes.reps)

    plain, shared = _events(credited, deals, roster, months, codes)
    fact, scope = codes.spread(plain["row"].to_numpy(), plain["overlay"].to_numpy())
    plain_keys = codes.key(
        plain["row"].to_numpy()[fact] // per_rep,
        scope,
        plain["metric"].to_numpy()[fact],
        plain["currency"].to_numpy()[fact],
    )
    fact_s, scope_s = codes.spread(shared["row"].to_numpy())
    shared = pd.DataFrame(
        {
            "k": codes.key(
                shared["row"].to_numpy()[fact_s] // per_rep,
                scope_s,
                shared["metric"].to_numpy()[fact_s],
                shared["currency"].to_numpy()[fact_s],
            ),
            "deal": shared["deal"].to_numpy()[fact_s],
        }
    ).drop_duplicates()

    rep_targets = in_force[in_force["scope"].eq("rep")]
    t_row = codes.row(rep_targets["month"], rep_targets["scope_id"])
    fact_t, scope_t = codes.spread(t_row, teams=False)
    team_scope = codes.scope_index.get_indexer(
        pd.MultiIndex.from_arrays([team_targets["scope"], team_targets["scope_id"]])
    )
    parts = [
        _part(plain_keys, plain["value"].to_numpy(np.int64)[fact], None),
        _part(shared["k"].to_numpy(), np.ones(len(shared), dtype=np.int64), None),
        _part(
            codes.key(
                t_row[fact_t] // per_rep,
                scope_t,
                codes.metric(rep_targets["metric"])[fact_t],
                codes.currency(rep_targets["currency"])[fact_t],
            ),
            None,
            rep_targets["target"].iloc[fact_t],
        ),
        _part(
            codes.key(
                codes.months.get_indexer(team_targets["month"]),
                team_scope,
                codes.metric(team_targets["metric"]),
                codes.currency(team_targets["currency"]),
            ),
            None,
            team_targets["target"],
        ),
    ]
    sums = pd.concat(parts, ignore_index=True).groupby("k", sort=False).sum()
    figures = codes.decode(sums.index.to_numpy())
    figures["slot"] = sums.index.to_numpy() % codes.month_stride
    figures["actual"] = sums["actual"].to_numpy(np.int64)
    target = pd.array(sums["target"].to_numpy(np.int64), dtype="Int64")
    target[sums["has_target"].to_numpy() == 0] = pd.NA
    figures["target"] = target
    return figures


def _part(key: np.ndarray, actual: np.ndarray | None, target: pd.Series | None) -> pd.DataFrame:
    """Rows of ``k, actual, target, has_target`` to be summed per key (<NA> targets add 0 and are not counted)."""
    n = len(key)
    zeros = np.zeros(n, dtype=np.int64)
    return pd.DataFrame(
        {
            "k": key,
            "actual": zeros if actual is None else actual,
            "target": zeros if target is None else pd.Series(target).fillna(0).to_numpy(np.int64),
            "has_target": zeros if target is None else pd.Series(target).notna().to_numpy(np.int64),
        }
    )


def _by_period(figures: pd.DataFrame, period_months: dict[str, list[str]]) -> pd.DataFrame:
    """Sum months into periods: actual summed, target summed (<NA> when no month has one)."""
    labels = figures.drop_duplicates("slot").set_index("slot")[_KEYS]
    parts = []
    for period, months in period_months.items():
        sub = figures[figures["month"].isin(months)]
        agg = sub.groupby("slot", sort=False)[["actual", "target"]].sum(min_count=1)
        parts.append(
            labels.loc[agg.index].reset_index(drop=True).join(agg.reset_index(drop=True)).assign(period=period)
        )
    return pd.concat(parts, ignore_index=True)


def _rank(frame: pd.DataFrame, team_of: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    """Add ratio, ranks and quartiles; ``team_of`` = ``rank_month, rep_id, team``."""
    target = frame["target"].astype("Float64")
    frame["attainment"] = (frame["actual"] / target.where(target > 0)).astype(float)
    frame = frame.merge(team_of, left_on=["rank_month", "scope_id"], right_on=["rank_month", "rep_id"], how="left")
    ranked = frame["scope"].eq("rep") & frame["attainment"].notna()
    for suffix, keys in (("team", [*group, "team"]), ("company", group)):
        sub = frame[ranked]
        rank = sub.groupby(keys)["attainment"].rank(method="min", ascending=False)
        n = sub.groupby(keys)["attainment"].transform("size")
        frame[f"rank_{suffix}"] = pd.Series(rank, dtype="Int64").reindex(frame.index)
        frame[f"quartile_{suffix}"] = pd.Series(np.floor(4 * (rank - 1) / n) + 1, dtype="Int64").reindex(frame.index)
    return frame


def attainment(
    credited: pd.DataFrame,
    deals: pd.DataFrame,
    in_force: pd.DataFrame,
    reps: pd.DataFrame,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """The ``attainment`` table of partition ``month``: month, QTD and YTD under the fiscal calendar.

    ``in_force`` is ``targets_in_force(...).in_force`` covering the fiscal year to ``month``.
    """
    calendar = settings.calendar
    ytd = calendar.ytd(month)
    figures = monthly_figures(credited, deals, in_force, reps, ytd)
    table = _by_period(figures, {"month": [month], "qtd": calendar.qtd(month), "ytd": ytd})
    table["rank_month"] = month
    team_of = _team_of(reps, [month])
    table = _rank(table, team_of, ["metric", "period"]).assign(month=month)
    return _finish(table, ATTAINMENT_COLUMNS, ["period"])


def attainment_trend(
    credited: pd.DataFrame,
    deals: pd.DataFrame,
    in_force: pd.DataFrame,
    reps: pd.DataFrame,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """``attainment_trend``: period=month for each of the 12 months ending ``month`` (``trend_month``)."""
    months = periods.trailing(month, 12)
    figures = monthly_figures(credited, deals, in_force, reps, months)
    table = figures.rename(columns={"month": "trend_month"}).assign(period="month", month=month)
    table["rank_month"] = table["trend_month"]
    table = _rank(table, _team_of(reps, months), ["trend_month", "metric"])
    return _finish(table, [*ATTAINMENT_COLUMNS, "trend_month"], ["trend_month"])


def _team_of(reps: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    roster = roster_by_month(reps, months)
    return pd.DataFrame(
        {"rank_month": roster["month"], "rep_id": roster["rep_id"], "team": roster["team"].fillna("").astype(str)}
    )


def _finish(table: pd.DataFrame, columns: list[str], order: list[str]) -> pd.DataFrame:
    scope_order = {s: i for i, s in enumerate(SCOPES)}
    table = table.assign(_s=table["scope"].map(scope_order), target=table["target"].astype("Int64"))
    table = table.sort_values([*order, "metric", "_s", "scope_id", "currency"], kind="stable")
    return table[columns].reset_index(drop=True)
