"""Every word of a Chinese pack in Chinese (issue 13 item 1): ledger sentences from translated templates.

The ledger keeps each explanation's reason code and facts (``attain.pay.explain``); the pack writes the
sentence in its reader's language. These tests fill every sentence with facts, render a Chinese pack whose
statement has a line of every reason code, read the PDF back with pypdf and look for English words: runs
of three or more Latin letters left once the names (people, teams, accounts, products, plan and component
ids, currency codes) are taken out. ``test_month_end`` runs the same check on the demo month's packs.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

import pandas as pd
from pypdf import PdfReader

from attain.packs import i18n
from attain.packs.render import Renderer
from attain.packs.review import rep_review
from attain.pay import explain
from tests.test_review import MONTH, SETTINGS, make_tables

#: A run of Latin letters long enough to be an English word ("of", "x", "FY" are not).
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")

#: How the focused fixture fills a sentence's placeholders: typed facts by name, nested sentences by name.
_MONEY = "base credit target total amount cap earned earnings guarantee draw advance balance recovered floor owed"
_MONEY += " carried payable left outstanding now paid diff done granted claimed"
_PCT = {"rate", "low", "high", "threshold", "milestone", "limit", "cut"}
_DATES = {"closed", "cancelled", "leaves", "start", "end", "on"}
_MONTHS = {"period", "paid_in", "source", "for_month", "month"}
_NESTED = {
    "why": "condition.attainment",
    "label": "condition.team",
    "metric": "term.won_deals",
    "whose": "whose.manager",
    "window": "window.days",
    "how": "clawback.rate",
    "rule": "spiff.products_dates",
    "withheld": "commission.withheld",
    "what": "cap.component",
    "already": "adjustment.already",
    "measure": "term.csat_mean",
    "deals": "deals.more",
    "where": "dispute.line",
    "status": "term.partly_accepted",
}
_TEXTS = {
    "deal": "D-2001",
    "ids": "D-2001, D-2002",
    "band": "100%-120%",
    "ccy": "USD",
    "id": "D-17",
    "products": "GTX Pro",
    "components": "commission",
    "component": "commission",
    "team": "East",
    "op": ">=",
    "sign": "+",
    "multiplier": "0.9",
    "quarter": "FY2026 Q4",
    "value": "92.5%",
    "line": 2,
    "claim": "费率有误",
    "by": "陈梅",
}


def filled(code: str) -> explain.Sentence:
    """The sentence ``code`` with every placeholder filled with a fact of the right kind."""
    args: dict = {}
    for name in re.findall(r"%\((\w+)\)s", explain.SENTENCES[code]):
        if name in _MONEY.split():
            args[name] = explain.money(123_456, "USD")
        elif name in _PCT:
            args[name] = explain.pct("0.025")
        elif name == "att":
            args[name] = explain.att(1_234, 1_000)
        elif name in _DATES:
            args[name] = explain.date(pd.Timestamp("2026-10-05"))
        elif name in _MONTHS:
            args[name] = explain.month("2026-09")
        elif name in _NESTED:
            args[name] = filled(_NESTED[name]) if _NESTED[name] != code else ""
        elif name in ("n", "more", "days"):
            args[name] = 12
        else:
            args[name] = _TEXTS[name]
    return explain.sentence(code, **args)


def english_words(text: str, names: Iterable[str]) -> list[str]:
    """The English words of ``text`` once every name of ``names`` (longest first) is taken out; a name may
    wrap onto the next line (whitespace runs compare as one space, zero-width break opportunities as none)."""

    def squeeze(value: str) -> str:
        return " ".join(value.replace("\u200b", "").split())

    text = squeeze(text)
    for name in sorted({squeeze(n) for n in names if isinstance(n, str) and n}, key=len, reverse=True):
        text = text.replace(name, " ")
    return ENGLISH_WORD.findall(text)


def test_every_sentence_has_a_chinese_template_and_english_stays_the_record():
    chinese_catalogue = i18n.translator("zh_CN")
    for code, template in explain.SENTENCES.items():
        assert chinese_catalogue.pgettext(i18n.LEDGER_CONTEXT, template) != template, f"{code}: no Chinese template"
        sentence = filled(code)
        chinese = i18n.explanation(sentence, "zh_CN")
        assert english_words(chinese, _TEXTS.values()) == [], (code, chinese)
        assert i18n.explanation(sentence, "en") != chinese
    # The English record keeps the ledger's formats (money_text, exact percentages); the pack uses the locale's.
    sentence = filled("commission.between")
    assert explain.english(sentence).startswith("2.5% x 1,234.56 USD of credit between 2.5% and 2.5% of the ")
    assert i18n.explanation(sentence, "en").startswith("2.5% x $1,234.56 of credit between 2.5% and 2.5% of the ")
    assert i18n.explanation(sentence, "zh_CN").startswith("2.5% × US$1,234.56：2026年9月目标 US$1,234.56 的 ")
    assert "123.4%" in i18n.explanation(filled("bonus.reached"), "zh_CN")  # 1,234 / 1,000 to 0.1 %


def _kind(code: str) -> str:
    """The ledger kind a reason code belongs to (parts of sentences are shown on a commission line)."""
    head = code.split(".")[0]
    kinds = {"bonus": "bonus", "spiff": "spiff", "penalty": "penalty", "cap": "cap", "clawback": "clawback"}
    kinds |= {"guarantee": "guarantee", "draw": "draw", "draw_recovery": "draw_recovery"}
    kinds |= {
        "carry_forward": "carry_forward",
        "recovery": "recovery",
        "adjustment": "adjustment",
        "dispute": "adjustment",
    }
    return kinds.get(head, "commission")


def test_a_chinese_pack_with_every_reason_code_has_no_english_word():
    tables = make_tables()
    ledger = tables.incentive_ledger
    template = ledger[ledger["rep_id"] == "R2"].iloc[0].to_dict()
    lines = [
        {
            **template,
            "line_no": i,
            "kind": _kind(code),
            "component": "commission",
            "amount_minor": 100,
            "rate": "0.025" if _kind(code) == "commission" else "",
            "for_month": "2026-09" if code.startswith(("recovery", "adjustment")) else MONTH,
            "explanation": explain.english(filled(code)),
            "reason_code": code,
            "explain_args": json.dumps(filled(code)["args"]),
        }
        for i, code in enumerate(explain.SENTENCES, start=1)
    ]
    tables.incentive_ledger = pd.concat([ledger[ledger["rep_id"] != "R2"], pd.DataFrame(lines)], ignore_index=True)
    payouts = tables.payouts
    payouts.loc[payouts["rep_id"] == "R2", ["earnings_minor", "payable_minor"]] = 100 * len(lines)
    renderer = Renderer()
    review = rep_review("R2", MONTH, tables, SETTINGS)
    pdf = renderer.pdf(renderer.html(review, "zh_CN", "fp"))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    names = [*tables.reps["name"], *tables.reps["team"], *tables.reps["region"], *tables.deals["account"]]
    names += [*tables.deals["product"], *tables.deals["deal_id"], *_TEXTS.values(), "P-2026"]
    names += list(tables.targets["reason"])  # why a target was set: text a person typed into the targets file
    assert english_words(text, names) == []
    assert "加速费率 2.5% 不适用" in text and "2.5%" in text and "0.025" not in text  # rates as percentages
