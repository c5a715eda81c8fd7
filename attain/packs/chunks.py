"""The month's packs in chunks of whole teams, so that several machines can render one month at once.

A chunk is a few teams: each manager with a pack and the reps they manage that month. A team is never split,
so a manager's pack and their members' packs are rendered by the same worker, and the chunks are the same
for the same roster (a re-run or a re-execution renders the same people in each chunk).
"""

from __future__ import annotations

import pandas as pd

from attain.packs.render import REVIEW_PACK_COLUMNS, RenderedPacks
from attain.packs.review import pack_list
from attain.roster import roster_for_month


def team_chunks(month: str, reps: pd.DataFrame, teams_per_chunk: int) -> list[list[str]]:
    """The people with a pack in ``month`` (``pack_list``), by team, ``teams_per_chunk`` teams per chunk.

    A rep's team is their manager's (reps whose manager has no pack share the team of that manager id); a
    manager's is their own. Teams are taken in the order of their manager's id; each chunk lists its people
    by id. Every person with a pack is in exactly one chunk.
    """
    if teams_per_chunk < 1:
        raise ValueError(f"teams per chunk must be 1 or more, not {teams_per_chunk}")
    packs = pack_list(month, reps)
    if packs.empty:
        return []
    manager_of = roster_for_month(reps, month)["manager_id"].fillna("").astype(str)
    people = packs["person_id"].astype(str)
    team = people.where(packs["kind"] == "manager", people.map(manager_of).fillna(""))
    teams = sorted(people.groupby(team.to_numpy()).agg(list).items())
    return [
        sorted(person for _team, members in teams[i : i + teams_per_chunk] for person in members)
        for i in range(0, len(teams), teams_per_chunk)
    ]


def merge_chunks(parts: list[RenderedPacks]) -> RenderedPacks:
    """The chunks' packs as one month's, ordered as ``render_packs`` orders a whole month: the table by kind
    (reps, then managers) and person, the failures managers first."""
    frames = [part.table for part in parts if not part.table.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REVIEW_PACK_COLUMNS)
    table = table.sort_values(["kind", "person_id"], ascending=[False, True]).reset_index(drop=True)
    failed = [failure for part in parts for failure in part.failed]
    return RenderedPacks(table, sorted(failed, key=lambda f: (f.kind != "manager", f.person_id)))
