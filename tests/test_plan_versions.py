"""Plan versions and approval (issue 14 item 4): approval fields, warnings, and `attain plans diff` in words."""

from __future__ import annotations

import hashlib

import pytest

from attain.pay.plan_diff import diff_paths
from attain.pay.plans import PlanError, load_plans, parse_plan_text, plan_versions, unapproved
from pipelines.cli import main

OLD = """\
plan_id: ae
currency: USD
effective_from: 2026-01
version: 3
approved_by: Sales compensation committee
approved_at: 2025-12-15
cap: 20000.00
components:
  - id: commission
    kind: commission
    tiers:
      - {from: 0%, rate: 4%}
      - {from: 50%, rate: 6%}
      - {from: 100%, rate: 10%}
  - id: quota_bonus
    kind: bonus
    milestones:
      - {at: 100%, amount: 1000.00}
"""


def test_approval_fields_are_read_and_their_types_checked_naming_file_and_field():
    (plan,) = parse_plan_text(OLD, "ae.yaml")
    assert (plan.version, plan.approved_by, plan.approved_at, plan.approved) == (
        "3",
        "Sales compensation committee",
        "2025-12-15",
        True,
    )
    for line, error in (
        ("approved_at: next week", "ae.yaml: approved_at: 'next week' is not a date; write YYYY-MM-DD"),
        ("approved_by: [a, b]", "ae.yaml: approved_by: expected a text value"),
        ("version: {major: 3}", "ae.yaml: version: expected a version label"),
    ):
        key = line.split(":")[0]
        text = "\n".join(row for row in OLD.splitlines() if not row.startswith(key + ":")) + f"\n{line}\n"
        with pytest.raises(PlanError, match=error):
            parse_plan_text(text, "ae.yaml")


def test_a_plan_without_approval_is_listed_with_its_file_hash(tmp_path):
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "ae.yaml").write_text(OLD.replace("approved_by: Sales compensation committee\n", ""))
    table = plan_versions(load_plans(folder), ["ae"], "2026-03")
    assert table.iloc[0]["sha256"] == hashlib.sha256((folder / "ae.yaml").read_bytes()).hexdigest()
    assert unapproved(table) == [
        "plan 'ae' (ae.yaml, version 3, in force in 2026-03) is not approved: add approved_by and approved_at "
        "to the plan file once it is"
    ]


def test_plans_diff_names_each_change_in_words(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    (old / "ae.yaml").write_text(OLD)
    (old / "legacy.yaml").write_text(OLD.replace("plan_id: ae", "plan_id: legacy"))
    changed = (
        OLD.replace("cap: 20000.00", "cap: 25000.00")
        .replace("{at: 100%, amount: 1000.00}", "{at: 100%, amount: 1500.00}")
        .replace("      - {from: 100%, rate: 10%}\n", "      - {from: 100%, rate: 10%}\n    cap: 9000.00\n")
    )
    version_2027 = (
        changed.replace("effective_from: 2026-01", "effective_from: 2027-01")
        .replace("version: 3", "version: 4")
        .replace("{from: 50%, rate: 6%}", "{from: 50%, rate: 7%}")
    )
    spiff = "  - {id: q4_spiff, kind: spiff, products: [Helio], per_deal: 250.00}\n"
    (new / "ae.yaml").write_text(changed + "---\n" + version_2027 + spiff)
    (new / "smb.yaml").write_text(OLD.replace("plan_id: ae", "plan_id: SMB"))
    assert diff_paths(old, new) == [
        "plan 'SMB' added (USD, 2 components) from 2026-01",
        "plan 'ae': cap 20,000.00 USD -> 25,000.00 USD from 2026-01",
        "plan 'ae': component 'commission' cap none -> 9,000.00 USD from 2026-01",
        "plan 'ae': component 'quota_bonus' milestone 1 amount 1,000.00 USD -> 1,500.00 USD from 2026-01",
        "plan 'ae': version 3 -> 4 from 2027-01",
        "plan 'ae': component 'q4_spiff' (spiff) added from 2027-01",
        "plan 'ae': component 'commission' tier 2 rate 6% -> 7% from 2027-01",
        "plan 'legacy' removed",
    ]
    # one file against another compares only the plans in them; the command prints the same sentences
    assert main(["plans", "diff", str(old / "ae.yaml"), str(new / "ae.yaml")]) == 0
    out = capsys.readouterr().out
    assert "tier 2 rate 6% -> 7% from 2027-01" in out and "removed" not in out
    assert main(["plans", "diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out == "no change: the plans pay alike\n"
    assert main(["plans", "diff", str(old), str(tmp_path / "nowhere.yaml")]) == 1
