"""Ledger explanations as structured facts: a reason code, its arguments, and the English record.

Every statement line says why it pays what it pays. The ledger keeps that reason twice:

- ``reason_code`` and ``explain_args`` (JSON): which sentence of ``SENTENCES`` and the facts it states
  (amounts, rates, attainments, dates, months, deal ids, nested sentences such as a gate's condition);
- ``explanation``: the sentence in English, the record the finance export and ``attain statement`` print.

Review packs render the sentence again from the same code and arguments in the reader's language
(``attain.packs.i18n.explanation``: the English template below is the gettext ``msgid``, context
``ledger``, of ``report_templates/locale/<locale>/LC_MESSAGES/messages.po``), so a Chinese pack states
the same facts as the English record without a word of English.

An argument is one of: a ``str`` printed as it is (names and ids: deal ids, products, components, plans,
currency codes, band labels), an ``int`` (a count), a nested sentence (a dict from :func:`sentence`), or a
typed value (a list whose first item is its type): ``["money", minor, currency]``, ``["pct", "0.025"]``
(an exact ratio), ``["att", actual, target]`` (an attainment, rounded half-up to 0.1 % from the integers),
``["date", "2026-10-05"]``, ``["month", "2026-10"]``. ``["cap", sentence]`` is a nested sentence whose
first letter English capitalises (it starts the sentence).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from attain.money import money_text


def pgettext(context: str, message: str) -> str:
    """Marks ``message`` for the catalogues (``pybabel extract`` collects ``pgettext`` calls; ``context`` is
    ``ledger``) and returns it unchanged: the English sentence is the msgid, translated when a pack prints it."""
    return message


#: Each reason code and its sentence in English (the gettext msgid of the translations, context ``ledger``).
SENTENCES: dict[str, str] = {
    # commission lines: rate x base, and what credit the base is
    "commission.per_deal": pgettext(
        "ledger", "%(rate)s x %(base)s of deal %(deal)s's %(credit)s credit in the %(band)s %(ccy)s band%(withheld)s"
    ),
    "commission.flat": pgettext("ledger", "%(rate)s x %(base)s of %(period)s credit (%(deals)s)%(withheld)s"),
    "commission.retro_attainment": pgettext(
        "ledger",
        "%(rate)s x %(base)s all credit of %(period)s: attainment %(att)s reached the "
        "%(band)s band (%(deals)s)%(withheld)s",
    ),
    "commission.retro_total": pgettext(
        "ledger",
        "%(rate)s x %(base)s all credit of %(period)s: total credit %(total)s reached the "
        "%(band)s band (%(deals)s)%(withheld)s",
    ),
    "commission.between": pgettext(
        "ledger",
        "%(rate)s x %(base)s of credit between %(low)s and %(high)s of the %(target)s target of "
        "%(period)s (%(deals)s)%(withheld)s",
    ),
    "commission.above": pgettext(
        "ledger",
        "%(rate)s x %(base)s of credit above %(low)s of the %(target)s target of %(period)s (%(deals)s)%(withheld)s",
    ),
    "commission.amount_band": pgettext(
        "ledger", "%(rate)s x %(base)s of %(period)s credit in the %(band)s %(ccy)s band (%(deals)s)%(withheld)s"
    ),
    "commission.withheld": pgettext("ledger", "; accelerator rate %(rate)s withheld: %(why)s"),
    "commission.not_paid": pgettext("ledger", "Not paid: %(why)s."),
    "commission.no_target": pgettext(
        "ledger",
        "No revenue target for %(period)s: the attainment bands cannot be applied; ask sales operations to set one.",
    ),
    "commission.below_threshold": pgettext(
        "ledger", "Attainment %(att)s is below the %(threshold)s threshold: nothing is paid."
    ),
    "commission.below_amount": pgettext(
        "ledger", "Credit %(total)s is below the %(threshold)s threshold: nothing is paid."
    ),
    "commission.no_credit": pgettext("ledger", "No credited revenue in %(period)s."),
    # the period a component pays on, the deals a line lists
    "period.qtd": pgettext("ledger", "%(quarter)s (QTD)"),
    "deals.one": pgettext("ledger", "deal %(ids)s"),
    "deals.many": pgettext("ledger", "deals %(ids)s"),
    "deals.more": pgettext("ledger", "deals %(ids)s and %(more)s more"),
    # conditions (gates and penalties)
    "condition.rep": pgettext("ledger", "%(period)s %(metric)s"),
    "condition.team": pgettext("ledger", "team %(period)s %(metric)s"),
    "condition.managed": pgettext("ledger", "managed team %(period)s %(metric)s"),
    "condition.actual": pgettext("ledger", "%(label)s %(value)s (needs %(op)s %(limit)s)"),
    "condition.attainment": pgettext("ledger", "%(label)s attainment %(att)s (needs %(op)s %(limit)s)"),
    "condition.no_target": pgettext("ledger", "%(label)s attainment: no target"),
    "condition.few_responses": pgettext("ledger", "%(measure)s: not enough responses"),
    "condition.score": pgettext("ledger", "%(measure)s %(value)s (needs %(op)s %(limit)s)"),
    "term.month": pgettext("ledger", "month"),
    "term.QTD": pgettext("ledger", "QTD"),
    "term.YTD": pgettext("ledger", "YTD"),
    "term.revenue": pgettext("ledger", "revenue"),
    "term.won_deals": pgettext("ledger", "won_deals"),
    "term.new_accounts": pgettext("ledger", "new_accounts"),
    "term.csat_pct": pgettext("ledger", "CSAT"),
    "term.csat_mean": pgettext("ledger", "CSAT mean"),
    "term.nps": pgettext("ledger", "NPS"),
    # milestone and team bonuses
    "whose.rep": pgettext("ledger", "your"),
    "whose.team": pgettext("ledger", "team %(team)s's"),
    "whose.manager": pgettext("ledger", "your managed team's"),
    "bonus.reached": pgettext(
        "ledger", "Milestone bonus: %(whose)s %(period)s %(metric)s attainment %(att)s reached %(milestone)s"
    ),
    "bonus.no_target": pgettext(
        "ledger", "No %(metric)s target for %(whose)s %(period)s: no milestone can be reached."
    ),
    "bonus.below": pgettext(
        "ledger", "%(whose)s %(period)s %(metric)s attainment %(att)s is below the first milestone (%(milestone)s)."
    ),
    # SPIFFs
    "spiff.per_deal.one": pgettext("ledger", "SPIFF: %(n)s qualifying deal%(rule)s x %(amount)s (%(deals)s)"),
    "spiff.per_deal.many": pgettext("ledger", "SPIFF: %(n)s qualifying deals%(rule)s x %(amount)s (%(deals)s)"),
    "spiff.rate": pgettext("ledger", "SPIFF: %(rate)s x %(base)s of credit on qualifying deals%(rule)s (%(deals)s)"),
    "spiff.products": pgettext("ledger", " (product %(products)s)"),
    "spiff.dates": pgettext("ledger", " (closed %(start)s to %(end)s)"),
    "spiff.products_dates": pgettext("ledger", " (product %(products)s; closed %(start)s to %(end)s)"),
    # penalties and caps
    "penalty.multiplier": pgettext(
        "ledger", "Penalty: %(why)s: variable pay %(base)s (%(components)s) x %(multiplier)s, a reduction of %(cut)s"
    ),
    "penalty.fixed": pgettext("ledger", "Penalty: %(why)s: fixed deduction of %(amount)s"),
    "cap": pgettext("ledger", "Cap: %(what)s pays at most %(cap)s; %(earned)s earned, %(cut)s cut off"),
    "cap.component": pgettext("ledger", "component %(id)s"),
    "cap.plan": pgettext("ledger", "plan %(id)s"),
    # clawbacks
    "clawback": pgettext(
        "ledger",
        "Clawback: deal %(deal)s closed %(closed)s, cancelled %(cancelled)s (%(days)s days, within "
        "%(window)s): returns %(how)s paid in %(paid_in)s (%(component)s%(band)s)",
    ),
    "clawback.rate": pgettext("ledger", "%(rate)s x %(base)s"),
    "clawback.per_deal": pgettext("ledger", "%(amount)s per deal"),
    "clawback.band": pgettext("ledger", ", band %(band)s"),
    "clawback.outside": pgettext(
        "ledger", "Deal %(deal)s cancelled %(cancelled)s, outside %(window)s: nothing is clawed back."
    ),
    "clawback.unpaid": pgettext(
        "ledger", "Deal %(deal)s cancelled %(cancelled)s: no commission or SPIFF was paid on it, nothing to claw back."
    ),
    "window.none": pgettext("ledger", "this plan has no clawback window"),
    "window.days": pgettext("ledger", "the %(n)s-day clawback window"),
    "window.months": pgettext("ledger", "the %(n)s-month clawback window"),
    # draws and guarantees
    "guarantee": pgettext(
        "ledger", "Guarantee: earnings %(earnings)s topped up to the %(guarantee)s guarantee (not recovered later)"
    ),
    "draw": pgettext(
        "ledger",
        "Recoverable draw: earnings %(earnings)s below the %(draw)s draw; %(advance)s advanced, outstanding "
        "balance now %(balance)s",
    ),
    "draw_recovery": pgettext(
        "ledger",
        "Draw recovery: %(recovered)s of earnings above %(floor)s recovers the outstanding %(owed)s "
        "draw; balance now %(balance)s",
    ),
    # carried balances
    "carry_forward": pgettext(
        "ledger",
        "Carried forward: this month's lines sum to %(total)s (more recovered than earned), so nothing "
        "is paid and %(carried)s becomes a balance recovered from later earnings; balance now %(balance)s",
    ),
    "recovery": pgettext(
        "ledger",
        "Recovery of the balance carried forward from %(source)s: %(recovered)s of this month's %(payable)s "
        "payable; %(left)s of it still to recover",
    ),
    "recovery.not_recovered": pgettext(
        "ledger",
        "Not recovered: the rep leaves on %(leaves)s with %(outstanding)s of carried balance "
        "outstanding; it is reported here for finance to settle, not forgiven",
    ),
    # adjustments of closed months
    "adjustment": pgettext(
        "ledger",
        "Adjustment for %(for_month)s (%(component)s): recomputed with later data %(now)s, %(paid)s paid "
        "when %(for_month)s was closed%(already)s: %(sign)s%(diff)s",
    ),
    "adjustment.already": pgettext("ledger", ", %(done)s already adjusted"),
    # decided disputes paid as adjustment lines (attain.pay.disputes, issue 14)
    "dispute": pgettext(
        "ledger",
        "Dispute %(id)s about %(where)s (%(claim)s): %(status)s by %(by)s on %(on)s; %(granted)s of %(claimed)s claimed.",
    ),
    "dispute.line": pgettext("ledger", "%(month)s, line %(line)s"),
    "dispute.deal": pgettext("ledger", "%(month)s, deal %(deal)s"),
    "term.accepted": pgettext("ledger", "accepted"),
    "term.partly_accepted": pgettext("ledger", "partly accepted"),
}

#: A sentence: ``{"code": reason code, "args": {name: argument}}``.
Sentence = dict[str, Any]


def sentence(code: str, **args: Any) -> Sentence:
    """The sentence ``code`` (a key of ``SENTENCES``) stating ``args``."""
    assert code in SENTENCES, code  # a code without a sentence is a programming error
    return {"code": code, "args": args}


def money(minor: int, currency: str) -> list:
    """An amount in minor units of ``currency``."""
    return ["money", int(minor), str(currency)]


def pct(ratio: Decimal | Fraction | str) -> list:
    """An exact ratio printed as a percentage (``0.025`` -> 2.5 %)."""
    if isinstance(ratio, Fraction):
        ratio = Decimal(ratio.numerator) / Decimal(ratio.denominator)
    return ["pct", format(Decimal(ratio).normalize(), "f")]


def att(actual: int, target: int) -> list:
    """``actual`` / ``target`` as an attainment (both integers, target > 0)."""
    return ["att", int(actual), int(target)]


def date(day: Any) -> list:
    """A calendar day (anything with ``strftime``)."""
    return ["date", f"{day:%Y-%m-%d}"]


def month(value: str) -> list:
    """A month ``YYYY-MM``."""
    return ["month", str(value)]


def cap(nested: Sentence) -> list:
    """A nested sentence that starts its sentence (English capitalises its first letter)."""
    return ["cap", nested]


def deals(ids: str, shown: int = 5) -> Sentence:
    """The deals a line lists (``;``-joined ids): the first ``shown`` by id, and how many more."""
    parts = ids.split(";") if ids else []
    listed = ", ".join(parts[:shown])
    more = len(parts) - shown
    if more > 0:
        return sentence("deals.more", ids=listed, more=more)
    return sentence("deals.many" if len(parts) > 1 else "deals.one", ids=listed)


#: One encoder for every line (``json.dumps`` with options builds a new one per call).
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def args_json(nested: Sentence) -> str:
    """The ``explain_args`` column: the sentence's arguments as compact, key-sorted JSON."""
    return _JSON.encode(nested["args"])


@functools.lru_cache(maxsize=4096)
def percent_text(value: Decimal | Fraction | str) -> str:
    """An exact ratio as a percentage with no trailing zeros: 0.075 -> ``"7.5%"``."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{format((Decimal(value) * 100).normalize(), 'f')}%"


def attainment_tenths(actual: int, target: int) -> int:
    """Attainment in tenths of a percent, rounded half-up from the exact integers (925 = 92.5 %)."""
    return (2 * 1000 * int(actual) + int(target)) // (2 * int(target))


#: How the English record prints each typed value.
_ENGLISH: dict[str, Callable[..., str]] = {
    "money": money_text,
    "pct": percent_text,
    "att": lambda a, t: f"{attainment_tenths(a, t) / 10:.1f}%",
    "date": str,
    "month": str,
}


def render(
    nested: Sentence,
    template: Callable[[str], str],
    typed: Mapping[str, Callable[..., str]],
    number: Callable[[int], str],
    capitalise: bool = False,
) -> str:
    """``nested`` as text: ``template(code)`` filled with its arguments, each printed by ``typed[type]``
    (typed values), ``number`` (counts) or rendered in turn (nested sentences)."""

    def value(arg: Any) -> str:
        if isinstance(arg, dict):
            return render(arg, template, typed, number)
        if isinstance(arg, list):
            if arg[0] == "cap":
                return render(arg[1], template, typed, number, capitalise=True)
            return typed[arg[0]](*arg[1:])
        if isinstance(arg, bool) or not isinstance(arg, int):
            return str(arg)
        return number(arg)

    text = template(nested["code"]) % {name: value(arg) for name, arg in nested["args"].items()}
    return text[:1].upper() + text[1:] if capitalise else text


def english(nested: Sentence) -> str:
    """The English record of a sentence (the ledger's ``explanation``)."""
    return render(nested, SENTENCES.__getitem__, _ENGLISH, str)
