"""Validation of the deals table: the month's snapshot, product aliases, implausible amounts."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

from attain.fx import latest_rate
from attain.ingest.cells import (
    _BLANK,
    _OK,
    _TOO_PRECISE,
    _amount_problems,
    _blank,
    _dates,
    _factorize_text,
    _minor_units,
    _parse_dates,
)
from attain.ingest.contract import _DATE_COLUMNS, _NO_DATE
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _id_problems, _pandera, _Table, _unknown
from attain.money import MINOR_DIGITS, format_minor
from attain.settings import Settings, how_to_set


def _validate_deals(
    table: _Table,
    roster: tuple[pd.Index, pd.Index],
    end: pd.Timestamp,
    today: pd.Timestamp,
    owners_checked: bool = True,
    settings: Settings | None = None,
    fx_rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Validated deals of the snapshot; see the module docstring for the rules.

    ``owners_checked`` is False when there is no roster to check owners against
    (``attain validate`` of a lone deals file). ``settings`` give the product
    aliases and the limits of a plausible amount, ``fx_rates`` (validated) convert
    the amount ceiling to other currencies.
    """
    settings = settings or Settings()
    # Snapshot first: deals opened after the month did not exist at its end (not an error).
    created = _parse_dates(table.text["created_date"])
    later = (created > end).to_numpy()
    if later.any():
        table.later_ids = pd.Index(table.text["deal_id"][later].unique())
        table.text = table.text[~later]
        table.skipped += int(later.sum())
    _duplicates(table, ["deal_id"], "deal")
    # (owner_id needs no check of its own: it must be a rep_id of the roster, where ids are checked.)
    _id_problems(table, ("deal_id",), settings.text_max_length)
    text = table.text
    stage, currency = text["stage"], text["currency"]

    known_currency = currency.isin(MINOR_DIGITS).to_numpy()
    digits = currency.map(MINOR_DIGITS).fillna(2).astype("int64").to_numpy()
    units, status = _minor_units(text["amount"], digits)
    is_won = (stage == "won").to_numpy()
    # With an unknown currency the decimals cannot be judged; the currency problem says what to fix.
    status = np.where(~known_currency & (status == _TOO_PRECISE), _OK, status)
    _amount_problems(table, "amount", status, digits, currency, "amounts")
    _blank(
        table,
        "amount",
        pd.Series((status == _BLANK) & is_won, index=text.index),
        "amount is blank on a won deal; enter the deal's value",
    )

    amount_minor = pd.array(units, dtype="Int64")
    amount_minor[~np.isin(status, (_OK, _BLANK))] = pd.NA
    typed = pd.DataFrame(
        {
            "deal_id": text["deal_id"],
            "owner_id": text["owner_id"],
            "account": text["account"],
            "product": _aliased(table, text["product"], settings.product_aliases),
            "amount_minor": amount_minor,
            "currency": currency,
            "stage": stage,
            **{column: _dates(table, column) for column in _DATE_COLUMNS["deals"]},
            "cancel_reason": text["cancel_reason"],
        },
        index=text.index,
    )
    _pandera(table, typed)

    for column, event in (("close_date", "won or lost"), ("cancelled_date", "cancelled")):
        future = typed[column] > today
        if column == "close_date":
            future &= stage.isin(["won", "lost"])
        if future.any():
            values = text.loc[future, column]
            table.problems.add(
                values.index,
                column,
                values,
                [
                    f"{column} {v} is after today ({today.date()}); a deal cannot be {event} in the future: "
                    "correct the date" + (" or set the stage to open" if column == "close_date" else "")
                    for v in values
                ],
            )
    if owners_checked:
        _unknown(table, "owner_id", *roster, "rep_id in reps", "add the rep to reps or correct the owner")
    # A CRM export without an account column at all is read as before (its details say the column is absent).
    has_account = "account" in (table.column_names if table.profile else table.raw.df.columns)
    won_by_end = is_won & ~(typed["close_date"] > end).to_numpy() & has_account
    no_account = text.index[won_by_end & (text["account"] == "").to_numpy()]
    table.problems.add(
        no_account,
        "account",
        [""] * len(no_account),
        "a won deal needs an account: account is blank; enter the customer the deal was won with "
        "(new accounts and surveys are counted by it)",
    )
    _implausible_amounts(table, units, status == _OK, is_won, settings, fx_rates, end.strftime("%Y-%m"))

    deals = _drop_problem_rows(table, typed)
    # Snapshot: what was known at the month's end.
    decided_later = deals["close_date"] > end
    deals.loc[decided_later, "stage"] = "open"
    deals.loc[decided_later, "close_date"] = _NO_DATE
    cancelled_later = deals["cancelled_date"] > end
    deals.loc[cancelled_later, "cancelled_date"] = _NO_DATE
    deals.loc[cancelled_later, "cancel_reason"] = ""
    deals["amount_minor"] = deals["amount_minor"].fillna(0).astype("int64")
    return deals


def _aliased(table: _Table, product: pd.Series, aliases: dict[str, str]) -> pd.Series:
    """Deal products with ``settings.product_aliases`` applied (deal spelling -> the plans' name).

    Each alias used is listed in the table's warnings (original spelling, name, rows), so the original
    spelling stays traceable; the quarantine records keep the raw text.
    """
    if not aliases:
        return product
    codes, uniques = _factorize_text(product)
    used = [(i, u) for i, u in enumerate(uniques) if u in aliases and aliases[u] != u]
    if not used:
        return product
    counts = np.bincount(codes, minlength=len(uniques))
    table.warnings["product aliases"] = "; ".join(
        f"{u!r} read as {aliases[u]!r} ({counts[i]:,} row{'s' if counts[i] != 1 else ''})" for i, u in used
    )
    mapped = np.array([aliases.get(u, u) for u in uniques], dtype=object)
    return pd.Series(mapped[codes], index=product.index, dtype=object)


#: A rep's median won deal judges an amount only from this many won deals (in that currency) on.
MEDIAN_MIN_DEALS = 5
_INT64_MAX = np.iinfo(np.int64).max


def _amount_ceiling(
    currency: str, settings: Settings, fx_rates: pd.DataFrame | None, month: str
) -> tuple[int, str] | None:
    """The largest plausible amount in ``currency`` (minor units) and how it was found; None: unknown currency.

    ``settings.amount_ceilings[currency]`` when set (major units of the currency); else ``amount_ceiling``
    (major units of the base currency) converted at the currency's rate of ``month`` (or its latest rate
    before, else its latest rate at all); a currency without any FX rate reads ``amount_ceiling`` as its own
    major units (set ``amount_ceilings`` for a currency worth far less than the base currency).
    """
    digits = MINOR_DIGITS.get(currency)
    if digits is None:
        return None
    base = settings.base_currency
    if currency in settings.amount_ceilings:
        major, how = Decimal(settings.amount_ceilings[currency]), f"the ceiling set for {currency}"
    elif currency == base:
        major, how = Decimal(settings.amount_ceiling), "the ceiling of the base currency"
    else:
        chosen = latest_rate(fx_rates, currency, month)
        if chosen is not None:
            rate_month, rate = chosen
            major = Decimal(settings.amount_ceiling) / Decimal(rate)
            how = f"the ceiling of {settings.amount_ceiling} {base} at the {rate_month} rate {rate}"
        else:
            major = Decimal(settings.amount_ceiling)
            how = f"the ceiling of the base currency read as {currency}, which has no FX rate"
    minor = (major * 10**digits).to_integral_value(ROUND_FLOOR)
    return int(min(minor, _INT64_MAX)), how


def _implausible_amounts(
    table: _Table,
    units: np.ndarray,
    parsed: np.ndarray,
    is_won: np.ndarray,
    settings: Settings,
    fx_rates: pd.DataFrame | None,
    month: str,
) -> None:
    """Quarantine amounts above the plausible ceiling, and won deals far above their owner's median won deal.

    The median is the owner's, per currency, over the won deals of the file (below the ceiling), and judges
    only owners with at least ``MEDIAN_MIN_DEALS`` of them: with fewer, one large deal is not an outlier.
    """
    text = table.text
    codes, currencies = _factorize_text(text["currency"])
    ceilings = [_amount_ceiling(c, settings, fx_rates, month) for c in currencies]
    limit = np.array([c[0] if c else _INT64_MAX for c in ceilings], dtype=np.int64)[codes]
    above = parsed & (units > limit)
    for row in np.flatnonzero(above):
        currency = currencies[codes[row]]
        ceiling, how = ceilings[codes[row]]
        value = text["amount"].iloc[row]
        suggestion = 10 ** len(str(units[row] // 10 ** MINOR_DIGITS[currency]))
        raise_it = (
            how_to_set("amount_ceiling", suggestion)
            if currency == settings.base_currency and currency not in settings.amount_ceilings
            else how_to_set("amount_ceilings", {currency: suggestion})
        )
        table.problems.add(
            [text.index[row]],
            "amount",
            [value],
            f"amount {value} {currency} is above the plausible ceiling of {format_minor(ceiling, currency)} "
            f"{currency} ({how}); correct the amount, or if the deal is real raise the ceiling: {raise_it}",
        )
    won = parsed & ~above & is_won
    if won.sum() < MEDIAN_MIN_DEALS:
        return
    frame = pd.DataFrame({"owner": text["owner_id"].to_numpy()[won], "code": codes[won], "units": units[won]})
    groups = frame.groupby(["owner", "code"], sort=False)["units"]
    size = groups.transform("size").to_numpy()
    # Twice the median is a whole number (the median of whole numbers is one or a half): compared exactly.
    twice_median = (groups.transform("median").to_numpy() * 2).round().astype(np.int64)
    multiple = settings.median_multiple
    far = (size >= MEDIAN_MIN_DEALS) & (2 * frame["units"].to_numpy() > multiple * twice_median)
    rows = np.flatnonzero(won)[far]
    for row, n, twice in zip(rows, size[far], twice_median[far], strict=True):
        currency = currencies[codes[row]]
        value = text["amount"].iloc[row]
        median = (Decimal(int(twice)) / 2).scaleb(-MINOR_DIGITS[currency])
        suggestion = _longer_multiple(int(units[row]) * 2 // max(int(twice), 1))
        table.problems.add(
            [text.index[row]],
            "amount",
            [value],
            f"amount {value} {currency} is more than {multiple:,} times the median of the {n:,} won deals of "
            f"{text['owner_id'].iloc[row]} in {currency} ({median} {currency}); correct the amount, or if the deal "
            f"is real raise the limit: {how_to_set('median_multiple', suggestion)}",
        )


def _longer_multiple(ratio: int) -> int:
    """A round multiple above ``ratio``, for the example in a message."""
    return 10 ** len(str(max(ratio, 1)))


def _deal_ids(deals_table: _Table, deals: pd.DataFrame) -> tuple[pd.Index, pd.Index, pd.Index]:
    """(accepted deal ids, ids whose rows were all quarantined, ids only outside the snapshot)."""
    accepted = pd.Index(deals["deal_id"])
    text = deals_table.text
    problem_rows = deals_table.problems.rows().intersection(text.index)
    rejected = pd.Index(text.loc[problem_rows, "deal_id"].unique()).difference(accepted)
    return accepted, rejected, deals_table.later_ids.difference(accepted).difference(rejected)


def _skip_rows(table: _Table, mask: pd.Series) -> None:
    """Leave rows out of the snapshot (not an error: they belong to a later month)."""
    if mask.any():
        table.text = table.text[~mask]
        table.skipped += int(mask.sum())
