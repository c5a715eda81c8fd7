"""The demo's people: reps, managers and regional heads, their names (English and Chinese), the roster."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from attain.demo.basics import (
    _FEW_SURVEYS,
    _HIRE,
    _LEAVER,
    _LOW_CSAT,
    _MOVER,
    EMAIL_DOMAIN,
    GREATER_CHINA,
    REGIONS,
    TEAMS,
    _date_text,
    _day,
    _unique_pairs,
)
from attain.periods import month_end, month_start

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


_SALES_OPS = "Sales Operations"

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
