"""The demo's accounts, deals, credit splits, cancellations, surveys and the few bad rows for the quarantine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attain.demo.basics import (
    GREATER_CHINA,
    INPUT_COLUMNS,
    PRODUCTS,
    REGIONS,
    TEAMS,
    _date_text,
    _day,
    _month_index,
    _unique_pairs,
    _usd_rate,
)
from attain.money import format_minor, minor_digits
from attain.periods import month_end, month_start

_EN_ACCOUNT_A = [
    "North",
    "Blue",
    "Silver",
    "Red",
    "Iron",
    "Cedar",
    "Summit",
    "Harbor",
    "Bright",
    "Oak",
    "Stone",
    "River",
    "Pine",
    "Golden",
    "Eagle",
    "Maple",
    "Crystal",
    "Falcon",
    "Atlas",
    "Orion",
]
_EN_ACCOUNT_B = ["wind", "peak", "field", "gate", "bridge", "line", "works", "point", "crest", "view"]
_EN_ACCOUNT_C = [
    "Systems",
    "Logistics",
    "Foods",
    "Health",
    "Energy",
    "Retail",
    "Capital",
    "Labs",
    "Motors",
    "Media",
    "Partners",
    "Industries",
]
_ACCOUNT_LEGAL = {"Americas": ("Inc.", "LLC", "Corp."), "EMEA": ("Ltd", "GmbH", "plc", "S.A.", "B.V.")}
_ZH_ACCOUNT_CITY = ("上海", "北京", "深圳", "杭州", "广州", "成都", "苏州", "南京")
_ZH_ACCOUNT_BRAND = ("华信", "嘉禾", "天行", "博远", "中科", "恒达", "瑞丰", "金桥", "盛世", "云图", "启明", "东方")
_ZH_ACCOUNT_TRADE = ("科技", "电子", "物流", "医疗", "制造", "软件")
_ACCOUNTS_PER_REGION = {"Americas": 110, "EMEA": 100, GREATER_CHINA: 90}
_JPY_ACCOUNT = "Sakura Robotics K.K."

_CANCEL_REASONS = (
    "customer cancelled within the trial period",
    "refund: duplicate order",
    "contract rescinded after legal review",
    "payment default",
)
_CANCEL_REASONS_ZH = ("客户在试用期内取消", "重复下单退款", "合同经法务审核后撤销")
_COMMENTS = (
    "Great onboarding, very responsive.",
    "Pricing discussion took too long.",
    "Solid product, support could be faster.",
    "Would recommend to peers.",
)
_COMMENTS_ZH = ("服务很及时，非常满意。", "报价流程有点慢。", "产品稳定，希望培训更多。")


# ---------------------------------------------------------------- accounts and deals


@dataclass(frozen=True)
class _Accounts:
    """One region's customers, ordered by the day they become reachable.

    ``weights`` (Zipf-like, shuffled against arrival) and ``size`` (a deal-size
    factor, larger for the heavier accounts) give the ABC revenue skew;
    ``arrival`` lets new accounts appear all through the window, so the
    ``new_accounts`` metric has something to count in every quarter.
    """

    names: np.ndarray
    weights: np.ndarray
    size: np.ndarray
    arrival: np.ndarray  # datetime64[D], ascending

    def pick(self, rng: np.random.Generator, created: np.ndarray) -> np.ndarray:
        """For each creation day, an account among those arrived by then, by weight."""
        available = np.searchsorted(self.arrival, created, side="right")
        cumulative = np.cumsum(self.weights)
        draw = rng.random(len(created)) * cumulative[available - 1]
        return np.minimum(np.searchsorted(cumulative, draw, side="right"), available - 1)


def _accounts(rng: np.random.Generator, first_day: np.datetime64, last_day: np.datetime64) -> dict[str, _Accounts]:
    """Per region: ~100 named customers, a third known from ``first_day``, the rest arriving later."""
    out = {}
    for region in REGIONS:
        n = _ACCOUNTS_PER_REGION[region]
        if region == GREATER_CHINA:
            parts = (_ZH_ACCOUNT_CITY, _ZH_ACCOUNT_BRAND, _ZH_ACCOUNT_TRADE)
            picks = rng.choice(np.prod([len(p) for p in parts]), size=n, replace=False)
            names = []
            for k in picks:
                k, t = divmod(int(k), len(parts[2]))
                c, b = divmod(k, len(parts[1]))
                names.append(f"{parts[0][c]}{parts[1][b]}{parts[2][t]}有限公司")
        else:
            legal = _ACCOUNT_LEGAL[region]
            pairs = _unique_pairs(rng, len(_EN_ACCOUNT_A) * len(_EN_ACCOUNT_B), len(_EN_ACCOUNT_C), n)
            names = [
                f"{_EN_ACCOUNT_A[i // len(_EN_ACCOUNT_B)]}{_EN_ACCOUNT_B[i % len(_EN_ACCOUNT_B)]} "
                f"{_EN_ACCOUNT_C[j]} {legal[(i + j) % len(legal)]}"
                for i, j in pairs
            ]
        weight_rank = rng.permutation(n)
        weights = 1.0 / (weight_rank + 1) ** 0.9
        size = ((weight_rank + 1) / (n / 4)) ** -0.35 * rng.lognormal(0.0, 0.3, n)
        span = int((last_day - first_day).astype(np.int64))
        arrival = first_day + np.where(np.arange(n) < n // 3, 0, rng.integers(0, span, n)).astype("timedelta64[D]")
        order = np.argsort(arrival, kind="stable")
        out[region] = _Accounts(
            np.array(names, dtype=object)[order], weights[order] / weights.sum(), size[order], arrival[order]
        )
    return out


def _deals(rng, people, fx, window) -> pd.DataFrame:
    """Deals created from 75 days before the window to its end, closed 10-120 days later.

    A deal whose close would fall after the window's end is open; a few younger
    deals stall open. Won or lost follows each rep's win rate. The leaver's
    deals still open or closing after the leave date are handed to a teammate.
    """
    window_start = _day(month_start(window[0]))
    end = _day(month_end(window[-1]))
    sellers = people[people["role"] == "rep"]
    created_from = window_start - np.timedelta64(75, "D")
    active_from = np.maximum(sellers["hire"].to_numpy("datetime64[D]"), created_from)
    active_to = sellers["active_to"].to_numpy("datetime64[D]")
    active_days = (active_to - active_from).astype(np.int64) + 1
    counts = rng.poisson(sellers["deals_per_month"].to_numpy() * active_days / 30.4)
    seller = np.repeat(np.arange(len(sellers)), counts)
    created = active_from[seller] + (rng.random(len(seller)) * active_days[seller]).astype("timedelta64[D]")
    cycle = np.clip(np.rint(rng.lognormal(np.log(38), 0.55, len(seller))), 10, 120).astype(np.int64)
    close = created + cycle.astype("timedelta64[D]")
    keep = close >= window_start
    seller, created, close = seller[keep], created[keep], close[keep]
    n = len(seller)
    accounts = _accounts(rng, created_from, end - np.timedelta64(45, "D"))

    stalled = (rng.random(n) < 0.04) & (created >= end - np.timedelta64(180, "D"))
    is_open = (close > end) | stalled

    owner_row = sellers.index.to_numpy()[seller]
    leaver = people.index[people["leaver"]][0]
    handed = (owner_row == leaver) & ((close > _day(people.at[leaver, "active_to"])) | is_open)
    heir = people.index[people["regular"] & (people["team_no"] == people.at[leaver, "team_no"])][0]
    owner_row = np.where(handed, heir, owner_row)
    won = ~is_open & (rng.random(n) < people["win_rate"].to_numpy()[owner_row])
    stage = np.where(is_open, "open", np.where(won, "won", "lost"))

    products = np.array(list(PRODUCTS), dtype=object)
    price = np.array([p for p, _ in PRODUCTS.values()], dtype=float)
    share = np.array([s for _, s in PRODUCTS.values()])
    product_no = rng.choice(len(products), size=n, p=share / share.sum())

    team_no = people["team_no"].to_numpy()[owner_row]
    region = people["region"].to_numpy()[owner_row]
    account = np.empty(n, dtype=object)
    size = np.empty(n)
    currency = np.empty(n, dtype=object)
    for name in REGIONS:
        mask = region == name
        pick = accounts[name].pick(rng, created[mask])
        account[mask], size[mask] = accounts[name].names[pick], accounts[name].size[pick]
    for t, team in enumerate(TEAMS):
        mask = team_no == t
        ccys = np.array([c for c, _ in team.deal_currencies], dtype=object)
        shares = np.array([s for _, s in team.deal_currencies])
        currency[mask] = ccys[rng.choice(len(ccys), size=mask.sum(), p=shares)]

    # Two won New York deals with a Japanese customer, billed in yen.
    ny_won = np.flatnonzero((team_no == 0) & won)
    jpy = rng.choice(ny_won, size=2, replace=False)
    currency[jpy], account[jpy] = "JPY", _JPY_ACCOUNT

    china_discount = np.where(region == GREATER_CHINA, 0.8, 1.0)
    usd_value = price[product_no] * size * china_discount * rng.lognormal(0.0, 0.35, n)
    ref_day = np.where(is_open, end, close)
    rate = _usd_rate(fx, currency, _month_index(ref_day, window))
    digits = np.array([minor_digits(c) for c in currency], dtype=np.int64)
    whole_units = np.maximum(np.rint(usd_value / rate), 1).astype(np.int64)
    with_cents = (rng.random(n) < 0.15) & (digits > 0)
    minor = whole_units * 10**digits + np.where(with_cents, rng.integers(1, 100, n), 0)
    amount = np.array([format_minor(int(m), c) for m, c in zip(minor, currency, strict=True)], dtype=object)

    open_idx = np.flatnonzero(is_open)
    amount[open_idx[rng.random(len(open_idx)) < 0.08]] = ""
    account[open_idx[rng.random(len(open_idx)) < 0.12]] = ""
    no_created = open_idx[rng.random(len(open_idx)) < 0.01]

    order = np.lexsort((owner_row, created))
    deals = (
        pd.DataFrame(
            {
                "owner_row": owner_row,
                "owner_id": people["rep_id"].to_numpy()[owner_row],
                "account": account,
                "product": products[product_no],
                "amount": amount,
                "amount_minor": minor,
                "currency": currency,
                "stage": stage,
                "created": created,
                "close": np.where(is_open, np.datetime64("NaT"), close),
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    deals.insert(0, "deal_id", [f"D{100001 + i}" for i in range(n)])
    created_text = _date_text(deals["created"].to_numpy("datetime64[D]"))
    created_text[np.isin(order, no_created)] = ""
    deals["created_date"] = created_text
    deals["close_date"] = np.where(deals["close"].isna(), "", _date_text(deals["close"].to_numpy("datetime64[D]")))
    deals["cancelled_date"] = ""
    deals["cancel_reason"] = ""
    return deals


def _credit_splits(rng, deals, people) -> pd.DataFrame:
    """Splits on ~4% of won deals (owner + teammates, shares summing to 100) and
    overlays on ~2% of analytics/enterprise deals (a rep of the sister team)."""
    won = deals.index[deals["stage"] == "won"].to_numpy()
    regular = people[people["regular"]]
    team_members = {t: regular.index[regular["team_no"] == t].to_numpy() for t in range(len(TEAMS))}
    owner_team = people["team_no"].to_numpy()[deals["owner_row"].to_numpy()]
    share_patterns = (("60", "40"), ("50", "50"), ("70", "30"), ("33.34", "33.33", "33.33"))
    rows = []
    for d in won[rng.random(len(won)) < 0.04]:
        pattern = share_patterns[rng.integers(len(share_patterns))]
        owner = deals.at[d, "owner_row"]
        mates = team_members[owner_team[d]]
        mates = mates[mates != owner]
        if len(mates) < len(pattern) - 1:  # a tiny team: no one (or not enough) to share with
            continue
        partners = rng.choice(mates, size=len(pattern) - 1, replace=False)
        for person, share in zip((owner, *partners), pattern, strict=True):
            rows.append((deals.at[d, "deal_id"], people.at[person, "rep_id"], share, "split"))
    overlay_products = deals["product"].isin(["Helio Analytics", "Helio Enterprise"]).to_numpy()
    # These products are ~28% of deals, so 8% of them is ~2% of all won deals.
    for d in won[(rng.random(len(won)) < 0.08) & overlay_products[won]]:
        team = owner_team[d]
        sister = team + 1 if team % 2 == 0 else team - 1
        specialist = rng.choice(team_members[sister])
        rows.append(
            (deals.at[d, "deal_id"], people.at[specialist, "rep_id"], ("100", "50")[rng.integers(2)], "overlay")
        )
    splits = pd.DataFrame(rows, columns=INPUT_COLUMNS["credit_splits"])
    return splits.sort_values(["deal_id", "role", "rep_id"], kind="stable").reset_index(drop=True)


def _cancel(rng, deals, window) -> None:
    """Cancel ~1.2% of won deals 5-90 days after close, and one deal inside the last month."""
    end = _day(month_end(window[-1]))
    last_start = _day(month_start(window[-1]))
    won = deals.index[deals["stage"] == "won"].to_numpy()
    close = deals["close"].to_numpy("datetime64[D]")
    picked = won[rng.random(len(won)) < 0.012]
    when = close[picked] + rng.integers(5, 91, len(picked)).astype("timedelta64[D]")
    picked, when = picked[when <= end], when[when <= end]
    inside_last = (when >= last_start).any()
    if not inside_last:
        recent = (close[won] >= last_start - np.timedelta64(60, "D")) & (close[won] < last_start)
        candidates = np.setdiff1d(won[recent], picked)
        extra = rng.choice(candidates)
        picked = np.append(picked, extra)
        when = np.append(when, last_start + np.timedelta64(11, "D"))
    chinese = deals["currency"].to_numpy()[picked] == "CNY"
    zh_reason = np.array(_CANCEL_REASONS_ZH, dtype=object)[rng.integers(len(_CANCEL_REASONS_ZH), size=len(picked))]
    en_reason = np.array(_CANCEL_REASONS, dtype=object)[rng.integers(len(_CANCEL_REASONS), size=len(picked))]
    reasons = np.where(chinese, zh_reason, en_reason)
    deals.loc[picked, "cancelled_date"] = _date_text(when)
    deals.loc[picked, "cancel_reason"] = reasons


def _surveys(rng, deals, people, window) -> pd.DataFrame:
    """Responses on ~70% of won, not cancelled deals 2-21 days after close (CSAT 1-5 or
    NPS 0-10, scores around the owner's satisfaction level), a few account-level
    responses, and only the latest two responses for the ``few_surveys`` rep."""
    end = _day(month_end(window[-1]))
    surveyed = deals[(deals["stage"] == "won") & (deals["cancelled_date"] == "")]
    surveyed = surveyed[rng.random(len(surveyed)) < 0.7]
    when = surveyed["close"].to_numpy("datetime64[D]") + rng.integers(2, 22, len(surveyed)).astype("timedelta64[D]")
    keep = when <= end
    surveyed, when = surveyed[keep], when[keep]
    few = people.index[people["few_surveys"]][0]
    of_few = np.flatnonzero(surveyed["owner_row"].to_numpy() == few)
    drop = np.zeros(len(surveyed), dtype=bool)
    drop[of_few[:-2]] = True
    surveyed, when = surveyed[~drop], when[~drop]

    n = len(surveyed)
    latent = people["csat_mean"].to_numpy()[surveyed["owner_row"].to_numpy()] + rng.normal(0.0, 0.8, n)
    nps = rng.random(n) < 0.4
    score = np.where(nps, np.clip(np.rint((latent - 1.0) * 2.5), 0, 10), np.clip(np.rint(latent), 1, 5))
    chinese = surveyed["currency"].to_numpy() == "CNY"
    comment = np.where(
        rng.random(n) < 0.2,
        np.where(
            chinese,
            np.array(_COMMENTS_ZH, dtype=object)[rng.integers(len(_COMMENTS_ZH), size=n)],
            np.array(_COMMENTS, dtype=object)[rng.integers(len(_COMMENTS), size=n)],
        ),
        "",
    )
    responses = pd.DataFrame(
        {
            "day": when,
            "deal_id": surveyed["deal_id"].to_numpy(),
            "account": "",
            "score": score.astype(np.int64),
            "scale": np.where(nps, "nps_0_10", "csat_1_5"),
            "comment": comment,
        }
    )
    # A few responses about an account rather than a deal (credited to its latest won-deal owner).
    by_account = surveyed[surveyed["account"] != ""].drop_duplicates("account").head(8)
    account_level = pd.DataFrame(
        {
            "day": by_account["close"].to_numpy("datetime64[D]") + np.timedelta64(30, "D"),
            "deal_id": "",
            "account": by_account["account"].to_numpy(),
            "score": rng.integers(3, 6, len(by_account)),
            "scale": "csat_1_5",
            "comment": "",
        }
    )
    account_level = account_level[account_level["day"] <= end]
    responses = pd.concat([responses, account_level], ignore_index=True)
    responses = responses.sort_values(["day", "deal_id", "account"], kind="stable").reset_index(drop=True)
    responses["response_id"] = [f"S{i + 1:05d}" for i in range(len(responses))]
    responses["response_date"] = _date_text(responses["day"].to_numpy("datetime64[D]"))
    responses["score"] = responses["score"].astype(str)
    return responses


# ---------------------------------------------------------------- bad rows


def _with_bad_rows(deals: pd.DataFrame, referenced: set[str], window: list[str]) -> pd.DataFrame:
    """The deals file: the good deals plus five rows the quarantine must catch or collapse.

    A negative amount, an unknown owner, an impossible date, a repeated id with
    conflicting data (both rows are quarantined) and a repeated id with identical
    data (collapsed, not quarantined). The repeated deals are ones no split or
    survey refers to, so only deal rows are quarantined.
    """
    good = deals[INPUT_COLUMNS["deals"]]
    won = good[(good["stage"] == "won") & (good["cancelled_date"] == "") & ~good["deal_id"].isin(referenced)]
    template = won.iloc[len(won) // 2]
    next_id = len(good) + 100001  # after the last good id
    negative = template.copy()
    negative["deal_id"], negative["amount"] = f"D{next_id}", "-1200.00"
    unknown = template.copy()
    unknown["deal_id"], unknown["owner_id"] = f"D{next_id + 1}", "R999"
    bad_date = template.copy()
    bad_date["deal_id"], bad_date["close_date"] = f"D{next_id + 2}", f"{window[-2]}-32"
    conflicting = won.iloc[len(won) // 3].copy()
    conflicting["amount"] = format_minor(12345678, conflicting["currency"])
    identical = won.iloc[len(won) // 4].copy()
    bad = pd.DataFrame([negative, unknown, bad_date, conflicting, identical])
    return pd.concat([good, bad]).sort_values("deal_id", kind="stable").reset_index(drop=True)
