"""Customers by ABC segment (issue 13 item 6): counts, revenue shares and satisfaction per segment, by hand."""

from __future__ import annotations

import io
import math

from pypdf import PdfReader

from attain.measures.credit import credited_deals
from attain.measures.satisfaction import account_segments
from attain.measures.segments import SEGMENT_SUMMARY_COLUMNS, segment_summary
from attain.packs.render import Renderer
from attain.packs.review import rep_review
from tests.measures_builders import SETTINGS, deals, reps, surveys
from tests.test_review import MONTH, make_tables

M = "2025-03"
#: r1's accounts and revenue (10,000 in all): A = P, Q, R (8,500: the accounts ranked before R make up 75%,
#: under 80%), B = S, T (1,300: before them 85% and 93%, under 95%), C = U (200: 98% before it).
AMOUNTS = {"P": 5_000, "Q": 2_500, "R": 1_000, "S": 800, "T": 500, "U": 200}


def summary(responses=()) -> dict:
    d = deals(
        *[
            {"deal_id": f"d{k}", "owner_id": "r1", "account": k, "amount_minor": v, "close_date": "2025-03-02"}
            for k, v in AMOUNTS.items()
        ]
    )
    segments = account_segments(credited_deals(d, None, reps({"rep_id": "r1"}), None, M, SETTINGS), M, SETTINGS)
    table = segment_summary(segments, surveys(*responses), d, M, SETTINGS)
    assert list(table.columns) == SEGMENT_SUMMARY_COLUMNS
    return {row.segment: row for row in table.itertuples()}


def test_counts_and_revenue_shares_per_segment():
    seg = summary()
    assert {s: (r.accounts, r.revenue_minor, r.share) for s, r in seg.items()} == {
        "A": (3, 8_500, 0.85),
        "B": (2, 1_300, 0.13),
        "C": (1, 200, 0.02),
    }
    assert all(r.responses == 0 and not r.enough and math.isnan(r.csat_pct) for r in seg.values())


def test_satisfaction_per_segment_only_from_enough_responses():
    responses = [
        # A: five CSAT responses, by deal (P) and by account (Q): 5, 5, 4 satisfied of 5 -> 60%
        ("a1", "dP", "", "2025-03-05", 5, "csat_1_5"),
        ("a2", "dP", "", "2025-03-06", 5, "csat_1_5"),
        ("a3", "", "Q", "2025-03-07", 4, "csat_1_5"),
        ("a4", "", "Q", "2025-03-08", 3, "csat_1_5"),
        ("a5", "dR", "", "2025-03-09", 2, "csat_1_5"),
        # B: two responses, under the minimum of five: no score
        ("b1", "dS", "", "2025-03-05", 5, "csat_1_5"),
        ("b2", "dT", "", "2025-03-05", 5, "csat_1_5"),
        # neither counts: a response dated before the 12 months, one about an account nobody sold to
        ("x1", "", "P", "2024-03-31", 1, "csat_1_5"),
        ("x2", "", "Nowhere", "2025-03-05", 1, "csat_1_5"),
    ]
    seg = summary(responses)
    assert (seg["A"].responses, seg["A"].csat_responses, seg["A"].csat_pct, seg["A"].enough) == (5, 5, 60.0, True)
    assert (seg["B"].responses, seg["B"].enough) == (2, False) and math.isnan(seg["B"].csat_pct)
    assert (seg["C"].responses, seg["C"].enough) == (0, False)


def test_rep_packs_print_the_segments_in_the_readers_language():
    """R1 (English) and R2 (Chinese) of the review fixture get the hand-computed segments above; the PDFs read
    back with the counts, shares and scores in each language."""
    rows = [
        {"deal_id": f"{rep}-{k}", "owner_id": rep, "account": k, "amount_minor": v, "close_date": "2026-10-02"}
        for rep in ("R1", "R2")
        for k, v in AMOUNTS.items()
    ]
    d = deals(*rows)
    credited = credited_deals(d, None, reps({"rep_id": "R1"}, {"rep_id": "R2"}), None, MONTH, SETTINGS)
    responses = [(f"a{i}", "R1-P", "", "2026-10-05", score, "csat_1_5") for i, score in enumerate([5, 5, 4, 3, 2])]
    responses.append(("b1", "R1-S", "", "2026-10-05", 5, "csat_1_5"))
    tables = make_tables()
    tables.segments = segment_summary(
        account_segments(credited, MONTH, SETTINGS), surveys(*responses), d, MONTH, SETTINGS
    )
    renderer = Renderer()

    def text(rep_id: str, locale: str) -> str:
        pdf = renderer.pdf(renderer.html(rep_review(rep_id, MONTH, tables, SETTINGS), locale, "fp"))
        return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())

    english = text("R1", "en")
    assert "Customers by segment" in english
    assert "A: the first 80% of revenue 3 $85.00 85.0% 5 60.0%" in english
    assert "B: the next 15% 2 $13.00 13.0% 1 not enough responses" in english
    assert "C: the rest 1 $2.00 2.0% 0 —" in english
    chinese = text("R2", "zh_CN")
    assert "客户分级" in chinese and "A 类：收入前 80% 的客户 3 US$85.00 85.0% 0 —" in chinese
