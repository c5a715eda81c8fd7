"""The packs stage in chunks of whole teams (issue 12): who is rendered by which step, and the month's table."""

import pandas as pd
import pytest

from attain.packs.chunks import merge_chunks, team_chunks
from attain.packs.render import PackFailure, RenderedPacks
from attain.packs.review import pack_list
from tests.test_review import MONTH, make_tables


def _person(rep_id: str, role: str, manager_id: str, leave_date=None) -> dict:
    return dict(
        rep_id=rep_id,
        name=rep_id,
        email=f"{rep_id.lower()}@example.com",
        role=role,
        manager_id=manager_id,
        team=manager_id or rep_id,
        region="EMEA",
        hire_date="2020-01-01",
        leave_date=leave_date,
        plan_id="",
        locale="en",
        currency="EUR",
        valid_from=None,
    )


def test_chunks_hold_whole_teams_and_everyone_once():
    reps = pd.DataFrame(
        [_person(m, "manager", "") for m in ("M1", "M2", "M3")]
        + [_person(r, "rep", m) for r, m in (("R1", "M1"), ("R2", "M1"), ("R3", "M2"), ("R4", "M3"), ("R5", "M3"))]
        + [_person("R6", "rep", "M2", leave_date="2020-06-30")]  # gone before the month: no pack
    )
    assert team_chunks(MONTH, reps, 2) == [["M1", "M2", "R1", "R2", "R3"], ["M3", "R4", "R5"]]
    assert team_chunks(MONTH, reps, 1) == [["M1", "R1", "R2"], ["M2", "R3"], ["M3", "R4", "R5"]]
    assert team_chunks(MONTH, reps, 25) == [sorted(pack_list(MONTH, reps)["person_id"])]
    with pytest.raises(ValueError, match="teams per chunk"):
        team_chunks(MONTH, reps, 0)


def test_a_moved_rep_goes_with_the_team_of_the_month():
    reps = make_tables().reps  # R1 moved from M9's team to M1's in September
    chunks = team_chunks(MONTH, reps, 1)
    assert [p for p in next(c for c in chunks if "M1" in c) if p in ("M1", "R1")] == ["M1", "R1"]
    assert sorted(p for c in chunks for p in c) == sorted(pack_list(MONTH, reps)["person_id"])


def test_merged_chunks_are_ordered_as_a_whole_month():
    def part(rows, failed=()):
        table = pd.DataFrame(rows, columns=["month", "person_id", "kind", "locale", "path", "sha256"])
        return RenderedPacks(table, list(failed))

    late = PackFailure("R9", "rep", "en", "too slow")
    boss = PackFailure("M2", "manager", "en", "broken")
    merged = merge_chunks(
        [
            part([[MONTH, "R3", "rep", "en", "r3", "c"], [MONTH, "M2", "manager", "en", "m2", "d"]], [late]),
            part([[MONTH, "R1", "rep", "en", "r1", "a"], [MONTH, "M1", "manager", "en", "m1", "b"]], [boss]),
            part([]),
        ]
    )
    assert list(merged.table["person_id"]) == ["R1", "R3", "M1", "M2"]
    assert merged.failed == [boss, late]
    assert merge_chunks([]).table.empty
