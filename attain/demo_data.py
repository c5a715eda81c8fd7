"""The demo company: a deterministic, realistic data folder in the input contract.

``generate(out_dir)`` writes ``deals.csv``, ``credit_splits.csv``, ``reps.csv``,
``targets.csv``, ``fx_rates.csv`` and ``surveys.csv`` (docs/data-model.md, "Inputs")
and copies the example plans (``docs/examples/plans/*.yaml``) into ``out_dir/plans``.
It exists so that every stage, every pack and every demo can run on data that
looks like a real company's month end without anyone's real data.

The company (docs/demo-data.md describes it in full): 40 reps in six teams
under six managers and three regional heads, in Americas, EMEA and Greater
China. The two China teams have Chinese names, zh_CN packs and CNY plans and
deals; everyone else has an English pack and a USD plan, with EMEA deals mostly
in GBP and EUR and two yen deals in New York, so FX conversion matters. Over
the 24 months ending ``end_month`` it holds about 8,000 deals, with the cases
the pipeline has to handle on purpose: a hire and a leaver inside a month, a
team move (``valid_from``), target adjustments, a team target that disagrees
with its members' sum, an explicit "no target", splits and overlays,
cancellations (one inside ``end_month``), surveys (one rep with too few
responses) and a handful of bad deal rows for the quarantine (well under 5%).

Determinism: all randomness comes from one ``numpy.random.Generator`` seeded
with ``seed``; nothing reads the clock; every file is sorted; so the same
arguments always give byte-identical files. Amounts are generated as integer
minor units and written as exact decimal text.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attain.money import format_minor, minor_digits
from attain.periods import add_months, month_end, month_span, month_start

#: The month the demo is built to be run for (its data ends on this month's last day).
DEMO_MONTH = "2026-10"

#: Where the example incentive plans live (copied into every generated folder).
EXAMPLE_PLANS_DIR = Path(__file__).resolve().parents[1] / "docs" / "examples" / "plans"

#: Column order of each input file written (docs/data-model.md, "Inputs").
INPUT_COLUMNS: dict[str, list[str]] = {
    "deals": [
        "deal_id",
        "owner_id",
        "account",
        "product",
        "amount",
        "currency",
        "stage",
        "created_date",
        "close_date",
        "cancelled_date",
        "cancel_reason",
    ],
    "credit_splits": ["deal_id", "rep_id", "share", "role"],
    "reps": [
        "rep_id",
        "name",
        "email",
        "role",
        "manager_id",
        "team",
        "region",
        "hire_date",
        "leave_date",
        "plan_id",
        "locale",
        "currency",
        "valid_from",
    ],
    "targets": ["scope", "scope_id", "month", "metric", "amount", "effective_date", "reason", "author"],
    "fx_rates": ["month", "currency", "rate"],
    "surveys": ["response_id", "deal_id", "account", "response_date", "score", "scale", "comment"],
}

EMAIL_DOMAIN = "demo.attain.example"
GREATER_CHINA = "Greater China"


@dataclass(frozen=True)
class _Team:
    name: str
    region: str
    deal_currencies: tuple[tuple[str, float], ...]  # (currency, share of the team's deals)

    @property
    def chinese(self) -> bool:
        return self.region == GREATER_CHINA


TEAMS: tuple[_Team, ...] = (
    _Team("New York", "Americas", (("USD", 1.0),)),
    _Team("Toronto", "Americas", (("USD", 1.0),)),
    _Team("London", "EMEA", (("GBP", 0.7), ("EUR", 0.2), ("USD", 0.1))),
    _Team("Berlin", "EMEA", (("EUR", 0.75), ("USD", 0.25))),
    _Team("Shanghai", GREATER_CHINA, (("CNY", 1.0),)),
    _Team("Beijing", GREATER_CHINA, (("CNY", 1.0),)),
)
REGIONS = ("Americas", "EMEA", GREATER_CHINA)

# Who plays which part (team index, member index within the team).
_LEAVER = (0, 1)  # New York rep leaving inside end_month
_MOVER = (1, 0)  # Toronto rep moving to New York four months before end_month
_HIRE = (3, -1)  # Berlin rep hired in the middle of end_month - 2
_FEW_SURVEYS = (2, 0)  # London rep with only two survey responses
_LOW_CSAT = (5, 0)  # Beijing rep with poor satisfaction scores
_TEAM_TARGET_AGREES = 2  # London: team target = sum of members
_TEAM_TARGET_DISAGREES = 4  # Shanghai: team target 10% above the sum of members

#: List price in USD and share of deals, per product.
PRODUCTS: dict[str, tuple[int, float]] = {
    "Helio Core": (14_000, 0.28),
    "Helio Analytics": (9_000, 0.20),
    "Helio Enterprise": (52_000, 0.08),
    "Connector Pack": (3_200, 0.18),
    "Premium Support": (6_500, 0.14),
    "Onboarding Services": (11_000, 0.12),
}

#: Start-of-window value of 1 unit in USD, and the decimals the rate is quoted with.
FX_START: dict[str, tuple[float, int]] = {
    "CNY": (0.1390, 5),
    "EUR": (1.0850, 4),
    "GBP": (1.2700, 4),
    "JPY": (0.006700, 7),
}

_EN_FIRST = [
    "James",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "William",
    "Sophia",
    "Lucas",
    "Mia",
    "Henry",
    "Amelia",
    "Oliver",
    "Harper",
    "Elijah",
    "Evelyn",
    "Daniel",
    "Abigail",
    "Matthew",
    "Emily",
    "Samuel",
    "Grace",
    "David",
    "Chloe",
    "Joseph",
    "Victoria",
    "Thomas",
    "Hannah",
    "Andrew",
    "Zoe",
    "Ethan",
    "Nora",
    "Ryan",
    "Leah",
    "Nathan",
    "Claire",
    "Adam",
    "Laura",
    "Marcus",
    "Julia",
]
_EN_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Anderson",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Fischer",
    "Weber",
    "Dubois",
    "Rossi",
    "Murphy",
]
# (characters, pinyin) pairs; pinyin is unique within each list so e-mails never collide.
_ZH_SURNAME = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
)
_ZH_GIVEN = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀兰", "xiulan"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("晓东", "xiaodong"),
    ("子涵", "zihan"),
    ("雨轩", "yuxuan"),
    ("浩然", "haoran"),
    ("思远", "siyuan"),
    ("佳怡", "jiayi"),
)

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

_SALES_OPS = "Sales Operations"


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    end_month: str = DEMO_MONTH,
    months: int = 24,
    reps: int = 40,
) -> dict[str, Path]:
    """Write the demo company's input files into ``out_dir`` and return their paths.

    The keys are the table names (``deals``, ``credit_splits``, ``reps``,
    ``targets``, ``fx_rates``, ``surveys``) plus ``plans`` (the plans folder).
    ``reps`` counts sales reps (managers and heads come on top) and must be at
    least 12 so every team has the people its story needs.
    """
    if reps < 2 * len(TEAMS):
        raise ValueError(f"reps={reps}: the demo company needs at least {2 * len(TEAMS)} reps (two per team)")
    if months < 12:
        raise ValueError(f"months={months}: the demo needs at least 12 months of history")
    rng = np.random.default_rng(seed)
    window = month_span(add_months(end_month, -(months - 1)), end_month)
    fx = _fx_rates(rng, window)
    people = _people(rng, reps, window)
    deals = _deals(rng, people, fx, window)
    splits = _credit_splits(rng, deals, people)
    _cancel(rng, deals, window)
    surveys = _surveys(rng, deals, people, window)
    targets = _targets(deals, people, fx, window)
    deals_out = _with_bad_rows(deals, set(splits["deal_id"]) | set(surveys["deal_id"]), window)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "deals": deals_out,
        "credit_splits": splits,
        "reps": _roster(people, window),
        "targets": targets,
        "fx_rates": _fx_table(fx, window),
        "surveys": surveys,
    }
    paths = {name: write_input_csv(df, out_dir, name) for name, df in tables.items()}
    paths["plans"] = copy_example_plans(out_dir)
    return paths


def write_input_csv(df: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """Write table ``name`` as UTF-8 CSV in the contract's column order, ``\\n`` line ends."""
    path = Path(out_dir) / f"{name}.csv"
    df[INPUT_COLUMNS[name]].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def copy_example_plans(out_dir: Path, source: Path | None = None) -> Path:
    """Copy every ``*.yaml`` of ``source`` (default: the demo's ``docs/examples/plans``) into ``out_dir/plans``."""
    plans_dir = Path(out_dir) / "plans"
    plans_dir.mkdir(parents=True, exist_ok=True)
    for plan in sorted(Path(source or EXAMPLE_PLANS_DIR).glob("*.yaml")):
        shutil.copyfile(plan, plans_dir / plan.name)
    return plans_dir


# ---------------------------------------------------------------- helpers


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def _date_text(days: np.ndarray) -> np.ndarray:
    """ISO date text of a ``datetime64[D]`` array."""
    return np.datetime_as_string(days, unit="D").astype(object)


def _month_index(days: np.ndarray, window: list[str]) -> np.ndarray:
    """Position of each date's month in ``window``, clipped to the window's ends."""
    months = days.astype("datetime64[M]")
    first = np.datetime64(window[0], "M")
    return np.clip((months - first).astype(np.int64), 0, len(window) - 1)


def _unique_pairs(rng: np.random.Generator, first: int, second: int, n: int) -> list[tuple[int, int]]:
    """``n`` distinct (i, j) index pairs into two lists of sizes ``first`` and ``second``."""
    if n > first * second:
        raise ValueError(f"cannot make {n} distinct names from {first} x {second} name parts")
    flat = rng.choice(first * second, size=n, replace=False)
    return [(int(k) // second, int(k) % second) for k in flat]


# ---------------------------------------------------------------- FX


def _fx_rates(rng: np.random.Generator, window: list[str]) -> dict[str, np.ndarray]:
    """Monthly USD value of each non-base currency: a gentle random walk, quoted decimals."""
    rates = {}
    for ccy in sorted(FX_START):
        start, decimals = FX_START[ccy]
        steps = rng.normal(0.0, 0.012, len(window))
        steps[0] = 0.0
        rates[ccy] = np.round(start * np.exp(np.cumsum(steps)), decimals)
    return rates


def _fx_table(fx: dict[str, np.ndarray], window: list[str]) -> pd.DataFrame:
    rows = [
        {"month": month, "currency": ccy, "rate": f"{fx[ccy][i]:.{FX_START[ccy][1]}f}"}
        for i, month in enumerate(window)
        for ccy in sorted(fx)
    ]
    return pd.DataFrame(rows)


def _usd_rate(fx: dict[str, np.ndarray], currency: np.ndarray, month_idx: np.ndarray) -> np.ndarray:
    """USD per unit of each row's currency in each row's month (1 for USD)."""
    rate = np.ones(len(currency))
    for ccy, series in fx.items():
        mask = currency == ccy
        rate[mask] = series[month_idx[mask]]
    return rate


# ---------------------------------------------------------------- people


def _people(rng: np.random.Generator, reps: int, window: list[str]) -> pd.DataFrame:
    """Everyone on the roster, one row per person, with the generator's extra columns.

    Extra columns (not written): ``team_no`` (-1 for regional heads), ``hire``,
    ``leave``, ``active_to``, ``deals_per_month``, ``win_rate``, ``csat_mean``
    and the story flags (``leaver``, ``mover``, ``hire_story``, ``few_surveys``,
    ``low_csat``; ``regular`` = a rep employed throughout).
    """
    window_start = month_start(window[0])
    end = month_end(window[-1])
    sizes = [len(part) for part in np.array_split(np.arange(reps), len(TEAMS))]
    rows: list[dict] = []
    for region_no, region in enumerate(REGIONS):
        rows.append(
            {
                "rep_id": f"H{region_no + 1:02d}",
                "role": "manager",
                "region": region,
                "team": f"{region} leadership",
                "manager_id": "",
                "team_no": -1,
            }
        )
    for team_no, team in enumerate(TEAMS):
        head = f"H{REGIONS.index(team.region) + 1:02d}"
        rows.append(
            {
                "rep_id": f"M{team_no + 1:02d}",
                "role": "manager",
                "region": team.region,
                "team": team.name,
                "manager_id": head,
                "team_no": team_no,
            }
        )
    rep_no = 0
    for team_no, (team, size) in enumerate(zip(TEAMS, sizes, strict=True)):
        for _ in range(size):
            rep_no += 1
            rows.append(
                {
                    "rep_id": f"R{rep_no:03d}",
                    "role": "rep",
                    "region": team.region,
                    "team": team.name,
                    "manager_id": f"M{team_no + 1:02d}",
                    "team_no": team_no,
                }
            )
    people = pd.DataFrame(rows)
    people["chinese"] = people["region"] == GREATER_CHINA
    _name_people(rng, people)

    n = len(people)
    is_rep = people["role"].to_numpy() == "rep"
    # Hire dates: managers long-serving, reps spread over the years before the window.
    earliest = _day(dt.date(window_start.year - 8, 1, 1))
    latest = _day(window_start) - np.timedelta64(45, "D")
    span = int((latest - earliest).astype(np.int64))
    offsets = rng.integers(0, span, n)
    offsets = np.where(is_rep, offsets, offsets // 3)
    people["hire"] = earliest + offsets.astype("timedelta64[D]")
    people["leave"] = np.datetime64("NaT", "D")
    people["deals_per_month"] = np.where(is_rep, rng.uniform(6.5, 11.0, n), 0.0)
    people["win_rate"] = rng.uniform(0.26, 0.40, n)
    people["csat_mean"] = rng.uniform(3.8, 4.6, n)

    def locate(part: tuple[int, int]) -> int:
        team_no, member = part
        members = people.index[(people["team_no"] == team_no) & is_rep]
        return int(members[member])

    for flag, part in (
        ("leaver", _LEAVER),
        ("mover", _MOVER),
        ("hire_story", _HIRE),
        ("few_surveys", _FEW_SURVEYS),
        ("low_csat", _LOW_CSAT),
    ):
        people[flag] = False
        people.loc[locate(part), flag] = True
    end_start = month_start(window[-1])
    people.loc[people["leaver"], "leave"] = _day(end_start.replace(day=9))
    people.loc[people["hire_story"], "hire"] = _day(month_start(window[-3]).replace(day=17))
    people.loc[people["low_csat"], "csat_mean"] = 3.0
    people["regular"] = is_rep & ~people["leaver"] & ~people["hire_story"]
    people["active_to"] = people["leave"].fillna(pd.Timestamp(end))
    return people


def _name_people(rng: np.random.Generator, people: pd.DataFrame) -> None:
    """Give everyone a unique name and a firstname.lastname e-mail (pinyin for Chinese names)."""
    names = np.empty(len(people), dtype=object)
    emails = np.empty(len(people), dtype=object)
    zh = people["chinese"].to_numpy()
    for idx, (i, j) in zip(
        np.flatnonzero(zh), _unique_pairs(rng, len(_ZH_SURNAME), len(_ZH_GIVEN), zh.sum()), strict=True
    ):
        (sur, sur_py), (given, given_py) = _ZH_SURNAME[i], _ZH_GIVEN[j]
        names[idx] = sur + given
        emails[idx] = f"{given_py}.{sur_py}@{EMAIL_DOMAIN}"
    for idx, (i, j) in zip(
        np.flatnonzero(~zh), _unique_pairs(rng, len(_EN_FIRST), len(_EN_LAST), (~zh).sum()), strict=True
    ):
        names[idx] = f"{_EN_FIRST[i]} {_EN_LAST[j]}"
        emails[idx] = f"{_EN_FIRST[i].lower()}.{_EN_LAST[j].lower()}@{EMAIL_DOMAIN}"
    people["name"] = names
    people["email"] = emails


def _roster(people: pd.DataFrame, window: list[str]) -> pd.DataFrame:
    """The reps file: one row per person, plus the mover's second row from ``valid_from``."""
    chinese = people["chinese"].to_numpy()
    manager = people["role"].to_numpy() == "manager"
    roster = pd.DataFrame(
        {
            "rep_id": people["rep_id"],
            "name": people["name"],
            "email": people["email"],
            "role": people["role"],
            "manager_id": people["manager_id"],
            "team": people["team"],
            "region": people["region"],
            "hire_date": _date_text(people["hire"].to_numpy("datetime64[D]")),
            "leave_date": np.where(people["leave"].isna(), "", _date_text(people["leave"].to_numpy("datetime64[D]"))),
            "plan_id": np.where(
                manager, np.where(chinese, "mgr_cny", "mgr_usd"), np.where(chinese, "ae_cny", "ae_usd")
            ),
            "locale": np.where(chinese, "zh_CN", "en"),
            "currency": np.where(chinese, "CNY", "USD"),
            "valid_from": "",
        }
    )
    mover = people.index[people["mover"]][0]
    moved = roster.loc[[mover]].copy()
    moved["team"] = TEAMS[0].name
    moved["manager_id"] = "M01"
    moved["valid_from"] = _move_month(window)
    return pd.concat([roster, moved]).sort_values(["rep_id", "valid_from"], kind="stable")


def _move_month(window: list[str]) -> str:
    return window[-5]


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


# ---------------------------------------------------------------- targets


def _targets(deals, people, fx, window) -> pd.DataFrame:
    """Rep targets set a little above what each team's reps achieve, plus adjustments,
    team targets and explicit "no target" rows.

    - revenue: monthly, in the rep's plan currency, 5% above the team's average won
      revenue per rep-month, rounded to 1,000 USD or 10,000 CNY; the last twelve
      months' targets are 8% above the earlier ones;
    - won_deals: monthly, the team's average won deals per rep-month (+5%), at least 1;
    - new_accounts: a quarterly goal (accounts whose first-ever won deal closes, as
      :mod:`attain.attainment` counts them), set in the first month of each calendar
      quarter; the quarter's other months carry an explicit blank.
    """
    won = deals[deals["stage"] == "won"]
    close = won["close"].to_numpy("datetime64[D]")
    usd = won["amount_minor"].to_numpy() / 10.0 ** np.array([minor_digits(c) for c in won["currency"]])
    usd = usd * _usd_rate(fx, won["currency"].to_numpy(), _month_index(close, window))
    team_no = people["team_no"].to_numpy()[won["owner_row"].to_numpy()]
    first_won = won.assign(day=close).sort_values(["day", "deal_id"])
    first_won = first_won[first_won["account"] != ""].drop_duplicates("account")
    new_by_team = np.bincount(people["team_no"].to_numpy()[first_won["owner_row"].to_numpy()], minlength=len(TEAMS))
    sellers = people[people["role"] == "rep"]
    rep_months = np.bincount(sellers["team_no"], minlength=len(TEAMS)) * len(window)
    cny_per_usd = 1.0 / fx["CNY"].mean()
    growth = np.where(np.arange(len(window)) < len(window) - 12, 1.0, 1.08)

    rows = []
    for t, team in enumerate(TEAMS):
        in_team = team_no == t
        revenue = usd[in_team].sum() / rep_months[t] * 1.05
        revenue, step = (revenue * cny_per_usd, 10_000) if team.chinese else (revenue, 1_000)
        won_deals = max(1, round(in_team.sum() / rep_months[t] * 1.05))
        new_accounts = max(1, round(new_by_team[t] / rep_months[t] * 3))
        team_reps = sellers.loc[sellers["team_no"] == t, ["rep_id", "hire", "active_to", "leave"]]
        for rep_id, hire, active_to, leave in team_reps.itertuples(index=False):
            employed = [
                m for m in range(len(window)) if hire.strftime("%Y-%m") <= window[m] <= active_to.strftime("%Y-%m")
            ]
            if pd.isna(leave):
                employed.append(len(window))  # next month's target, agreed before the run month ends
            for m in employed:
                month = window[m] if m < len(window) else add_months(window[-1], 1)
                effective = month_start(month if m < len(window) else window[-1]).isoformat()
                new_accounts_row = (
                    (str(new_accounts), "annual plan: quarterly goal")
                    if int(month[5:]) % 3 == 1
                    else ("", "quarterly goal set in the quarter's first month")
                )
                rows += [
                    (
                        "rep",
                        rep_id,
                        month,
                        "revenue",
                        str(round(revenue * growth[min(m, len(window) - 1)] / step) * step),
                        effective,
                        "annual plan",
                        _SALES_OPS,
                    ),
                    ("rep", rep_id, month, "won_deals", str(won_deals), effective, "annual plan", _SALES_OPS),
                    (
                        "rep",
                        rep_id,
                        month,
                        "new_accounts",
                        new_accounts_row[0],
                        effective,
                        new_accounts_row[1],
                        _SALES_OPS,
                    ),
                ]
    targets = pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])
    targets = pd.concat(
        [
            targets,
            _adjustments(targets, people, window),
            _team_targets(targets, people, window),
            _no_targets(people, window),
        ],
        ignore_index=True,
    )
    return targets.sort_values(["scope", "scope_id", "month", "metric", "effective_date"], kind="stable").reset_index(
        drop=True
    )


def _head_name(people: pd.DataFrame, region: str) -> str:
    heads = people[(people["team_no"] == -1) & (people["region"] == region)]
    return str(heads["name"].iloc[0])


def _adjustments(targets, people, window) -> pd.DataFrame:
    """Mid-month revenue target changes, each with a reason and an author; one in the last month."""
    cases = (  # (team index, member, months before the end, factor, reason)
        (0, 0, 0, 0.85, "territory change: two accounts moved to Toronto"),
        (1, 1, 3, 1.10, "new key account assigned"),
        (4, 1, 5, 0.90, "区域调整：部分客户划归北京团队"),
        (3, 0, 8, 0.80, "parental leave from mid-month"),
    )
    rows = []
    for team_no, member, back, factor, reason in cases:
        person = people[(people["team_no"] == team_no) & people["regular"]].iloc[member]
        month = window[-1 - back]
        current = targets[
            (targets["scope_id"] == person["rep_id"]) & (targets["month"] == month) & (targets["metric"] == "revenue")
        ]
        step = 10_000 if person["chinese"] else 1_000
        amount = round(int(current["amount"].iloc[0]) * factor / step) * step
        rows.append(
            (
                "rep",
                person["rep_id"],
                month,
                "revenue",
                str(amount),
                month_start(month).replace(day=15).isoformat(),
                reason,
                _head_name(people, person["region"]),
            )
        )
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])


def _team_targets(targets, people, window) -> pd.DataFrame:
    """Monthly team revenue targets for London (= its members' sum) and Shanghai (10% above it)."""
    rows = []
    for team_no, factor in ((_TEAM_TARGET_AGREES, 1.0), (_TEAM_TARGET_DISAGREES, 1.1)):
        team = TEAMS[team_no]
        members = people.loc[(people["team_no"] == team_no) & (people["role"] == "rep"), "rep_id"]
        revenue = targets[targets["scope_id"].isin(members) & (targets["metric"] == "revenue")]
        sums = revenue.assign(value=revenue["amount"].astype(np.int64)).groupby("month")["value"].sum()
        step = 10_000 if team.chinese else 1_000
        author = _head_name(people, team.region)
        for month in window:
            amount = round(sums[month] * factor / step) * step
            rows.append(
                (
                    "team",
                    team.name,
                    month,
                    "revenue",
                    str(amount),
                    month_start(month).isoformat(),
                    "annual plan",
                    author,
                )
            )
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])


def _no_targets(people, window) -> pd.DataFrame:
    """Managers and regional heads carry no personal revenue quota: an explicit blank target each month."""
    managers = people.loc[people["role"] == "manager", "rep_id"]
    rows = [
        (
            "rep",
            rep_id,
            month,
            "revenue",
            "",
            month_start(month).isoformat(),
            "managers carry no personal quota",
            _SALES_OPS,
        )
        for rep_id in managers
        for month in window
    ]
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])


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
