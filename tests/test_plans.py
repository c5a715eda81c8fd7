"""Plan files: loading, validation messages, effective-dated versions, the shipped examples."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from attain.pay.plans import PlanError, load_plans

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """\
plan_id: p
currency: USD
components:
  - id: commission
    kind: commission
    tiers:
      - {from: 0%, rate: 4%}
      - {from: 0.5, rate: 0.075}
"""


def write(tmp_path, text: str, name: str = "p.yaml"):
    folder = tmp_path / "plans"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_numbers_are_exact_and_percent_strings_are_fractions(tmp_path):
    plan = load_plans(write(tmp_path, MINIMAL)).for_rep("p", "2025-03")
    bands = plan.components[0].bands
    assert [b.lower for b in bands] == [Fraction(0), Fraction(1, 2)]
    assert [b.rate for b in bands] == [Decimal("0.04"), Decimal("0.075")]
    assert plan.components[0].method == "marginal" and plan.components[0].period == "month"


def test_bands_from_100_percent_are_accelerators_unless_said_otherwise(tmp_path):
    text = MINIMAL + "      - {from: 100%, rate: 10%}\n      - {from: 150%, rate: 5%, accelerator: false}\n"
    bands = load_plans(write(tmp_path, text)).for_rep("p", "2025-03").components[0].bands
    assert [b.accelerator for b in bands] == [False, False, True, False]


def test_effective_dated_versions(tmp_path):
    v2 = MINIMAL.replace("plan_id: p\n", "plan_id: p\neffective_from: 2025-07\n").replace("0.075", "0.09")
    folder = write(tmp_path, MINIMAL.replace("plan_id: p\n", "plan_id: p\neffective_from: 2025-01\n"))
    write(tmp_path, v2, "p_v2.yaml")
    book = load_plans(folder)
    assert book.for_rep("p", "2025-06").components[0].bands[1].rate == Decimal("0.075")
    assert book.for_rep("p", "2025-07").components[0].bands[1].rate == Decimal("0.09")
    with pytest.raises(PlanError, match=r"p\.yaml: effective_from: plan 'p' starts in 2025-01, after 2024-12"):
        book.for_rep("p", "2024-12")
    with pytest.raises(PlanError, match="no plan file defines plan_id 'q'"):
        book.for_rep("q", "2025-03")


@pytest.mark.parametrize(
    "text, message",
    [
        (
            MINIMAL.replace("rate: 4%", "rate: four"),
            "p.yaml: components[0].tiers[0].rate: 'four' is not a number; write a decimal such as 0.06 or \"6%\"",
        ),
        (MINIMAL.replace("    tiers:", "    tier:"), "p.yaml: components[0].tier: unknown key; did you mean 'tiers'?"),
        (
            MINIMAL.replace("kind: commission", "kind: comission"),
            "p.yaml: components[0].kind: 'comission' is not allowed; write one of: commission, bonus",
        ),
        (
            MINIMAL.replace("{from: 0%, rate: 4%}", "{from: 10%, rate: 4%}"),
            "p.yaml: components[0].tiers[0].from: the first band must start from 0",
        ),
        (
            MINIMAL.replace("0.5, rate", "0, rate"),
            "p.yaml: components[0].tiers[1].from: bands must be listed in increasing order",
        ),
        (
            MINIMAL.replace("currency: USD", "currency: XYZ"),
            "p.yaml: currency: currency 'XYZ' is not an active ISO 4217 currency code",
        ),
        (
            MINIMAL.replace("currency: USD", "currency: JPY\ncap: 10.5"),
            "p.yaml: cap: 10.5 JPY has more than 0 decimal places",
        ),
        (MINIMAL.replace("plan_id: p\n", ""), "p.yaml: plan_id: required key is missing"),
        (
            MINIMAL + "  - id: s\n    kind: spiff\n    products: [X]\n",
            "p.yaml: components[1]: write exactly one of per_deal",
        ),
        (
            MINIMAL + "  - id: pen\n    kind: penalty\n    when: {measure: csat, below: 3.5}\n    multiplier: 0.9\n",
            "p.yaml: components[1].when.measure: 'csat' is not allowed; write one of: attainment, actual, csat_pct",
        ),
        (
            MINIMAL
            + "  - id: pen\n    kind: penalty\n    when: {measure: csat_mean, below: 3.5}\n    multiplier: 1.1\n",
            "p.yaml: components[1].multiplier: 1.1 is outside 0-1",
        ),
        (
            MINIMAL + "  - id: pen\n    kind: penalty\n    when: {measure: csat_mean, below: 3.5}\n    amount: 5\n"
            "    applies_to: [bonus]\n",
            "p.yaml: components[1].applies_to: 'bonus' is not a component listed before this penalty",
        ),
        (
            MINIMAL + "  - id: commission\n    kind: bonus\n    milestones: [{at: 1, amount: 5}]\n",
            "p.yaml: components[1].id: id 'commission' is used twice",
        ),
        (
            MINIMAL + "clawback: {window_days: 90, window_months: 3}\n",
            "p.yaml: clawback: write exactly one of window_days or window_months",
        ),
        (
            MINIMAL + "draw: {kind: advance, amount: 100}\n",
            "p.yaml: draw.kind: 'advance' is not allowed; write one of: recoverable, guarantee",
        ),
        (
            MINIMAL.replace(
                "kind: commission",
                "kind: commission\n    gates:\n      - {measure: nps, at_least: 10, applies_to: everything}",
            ),
            "p.yaml: components[0].gates[0].applies_to: 'everything' is not allowed",
        ),
        ("plan_id: p\n  currency: [", "p.yaml: line 2: not valid YAML"),
        (
            MINIMAL.replace("rate: 4%", "rate: 4"),
            'p.yaml: components[0].tiers[0].rate: 4 would mean 400%; write "4%" or 0.04',
        ),
        (
            MINIMAL + "  - id: b\n    kind: bonus\n    milestones: [{at: 100, amount: 5}]\n",
            'p.yaml: components[1].milestones[0].at: 100 would mean 10000% of target; write it as a percentage ("100%")',
        ),
    ],
)
def test_errors_name_the_file_the_key_path_and_the_fix(tmp_path, text, message):
    with pytest.raises(PlanError) as caught:
        load_plans(write(tmp_path, text))
    assert str(caught.value).startswith(message)


def test_duplicate_versions_are_refused(tmp_path):
    folder = write(tmp_path, MINIMAL)
    write(tmp_path, MINIMAL, "copy.yaml")
    with pytest.raises(PlanError, match=r"p\.yaml: effective_from: plan 'p' .* also defined in copy\.yaml"):
        load_plans(folder)


def test_example_plans_load_and_cover_every_component_kind():
    book = load_plans(REPO / "docs" / "examples" / "plans")
    assert book.plan_ids == ["ae_cny", "ae_usd", "mgr_cny", "mgr_usd"]
    plans = [book.for_rep(pid, "2025-03") for pid in book.plan_ids]
    assert {p.currency for p in plans} == {"USD", "CNY"}
    kinds = {c.kind for p in plans for c in p.components}
    assert kinds == {"commission", "bonus", "spiff", "team_bonus", "penalty"}
    assert {p.draw.kind for p in plans if p.draw} == {"recoverable", "guarantee"}
    assert book.for_rep("ae_usd", "2026-07").components[0].bands[-1].rate == Decimal("0.12")
    assert set(book.texts) == {"ae_cny.yaml", "ae_usd.yaml", "mgr_cny.yaml", "mgr_usd.yaml"}
