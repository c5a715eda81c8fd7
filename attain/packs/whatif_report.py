"""The what-if comparison as files: ``comparison.xlsx`` for the analyst, ``comparison.pdf`` for the plan committee.

Both are written under ``<out_dir>/whatif/<name>/``, atomically. The workbook goes through the finance export's
writer (``attain.pay.finance_export``): money cells are exact numbers with each currency's digits, text that
would start a formula is quote-prefixed, and a re-run writes the same bytes. The PDF is a Jinja2 template
(``report_templates/whatif.html``, autoescaped) laid out by WeasyPrint with the packs' stylesheet, loading only
files under the templates folder, dated the last day of the last month modelled (not the clock), so the same
figures give the same bytes too. Its charts are the packs' SVG charts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from attain.files import write_atomic
from attain.money import from_minor, money_text
from attain.packs import charts
from attain.packs.render import STYLESHEET, TEMPLATES_DIR, TemplatesOnlyFetcher
from attain.pay import whatif
from attain.pay.finance_export import _write_xlsx
from attain.periods import month_end

#: Money columns of the comparison frames and their headers in the workbook.
_MONEY = {
    "revenue_minor": "revenue",
    "now_minor": "paid_now",
    "draft_minor": "paid_draft",
    "difference_minor": "difference",
    "largest_gain_minor": "largest_gain",
    "largest_loss_minor": "largest_loss",
}
#: Bucket colours of the distribution chart: losses red, no change grey, gains green.
_BUCKET_COLOURS = (charts.COLOUR_BELOW,) * 3 + (charts.COLOUR_AXIS,) + (charts.COLOUR_MET,) * 3
#: Reps listed in the PDF's largest gains and losses.
_TOP = 10


def output_folder(out_dir: Path | str, name: str) -> Path:
    """``<out_dir>/whatif/<name>``; the name is kept to letters, digits, ``.``, ``_`` and ``-``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "whatif"
    return Path(out_dir) / "whatif" / safe


def _sheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns as exact major-unit Decimals under their export headers; text kept as text."""
    out = frame.copy()
    for column in _MONEY:
        if column in out:
            out[column] = [from_minor(int(m), c) for m, c in zip(out[column], out["currency"], strict=True)]
    return out.rename(columns=_MONEY).reset_index(drop=True)


def write_comparison(result: whatif.WhatIf, out_dir: Path | str, name: str, title: str) -> list[Path]:
    """Write ``comparison.xlsx`` and ``comparison.pdf`` of ``result``; returns the two paths."""
    folder = output_folder(out_dir, name)
    rows = result.rows
    span = f"{result.months[0]} to {result.months[-1]}" if result.months else ""
    summary = whatif.summary(rows)
    sheets = {
        "Summary": _sheet(summary.assign(months=span)),
        "Reps": _sheet(rows),
        "Teams": _sheet(whatif.grouped(rows, "team")),
        "Regions": _sheet(whatif.grouped(rows, "region")),
        "Months": _sheet(whatif.grouped(rows, "month")),
        "Distribution": _sheet(whatif.distribution(rows)),
        "Tier changes": _sheet(rows[rows["tier_change"] != ""]),
    }
    xlsx = folder / "comparison.xlsx"
    write_atomic(xlsx, lambda p: _write_xlsx(p, sheets, set(_MONEY.values())))
    pdf = folder / "comparison.pdf"
    write_atomic(pdf, _pdf_bytes(result, title, span, summary))
    return [xlsx, pdf]


def _pdf_bytes(result: whatif.WhatIf, title: str, span: str, summary: pd.DataFrame) -> bytes:
    """The committee's summary: figures per currency, the distribution and tier charts, the largest changes."""
    rows = result.rows
    reps = whatif.per_rep(rows)
    names = rows.drop_duplicates("rep_id").set_index("rep_id")["name"]
    distribution = whatif.distribution(rows)
    currencies = []
    for record in summary.to_dict("records"):
        ccy = record["currency"]
        mine = reps[reps["currency"] == ccy].assign(name=lambda f: names.reindex(f["rep_id"]).to_numpy())
        buckets = distribution[distribution["currency"] == ccy]
        months = whatif.grouped(rows[rows["currency"] == ccy], "month")
        crossings = rows[(rows["currency"] == ccy) & (rows["tier_change"] != "")]
        by_month = crossings.groupby("month").size().reindex(result.months, fill_value=0)
        currencies.append(
            {
                **record,
                "distribution_chart": Markup(
                    charts.distribution_chart(
                        [
                            (label, int(n), colour)
                            for label, n, colour in zip(
                                buckets["bucket"], buckets["reps"], _BUCKET_COLOURS, strict=True
                            )
                        ],
                        f"Reps by change in pay, {ccy}",
                        height=130,
                    )
                ),
                "tier_chart": Markup(
                    charts.distribution_chart(
                        [(m, int(n), charts.COLOUR_NEAR) for m, n in by_month.items()],
                        f"Tier crossings per month, {ccy}",
                        height=110,
                    )
                ),
                "months": months.to_dict("records"),
                "gains": mine[mine["difference_minor"] > 0].nlargest(_TOP, "difference_minor").to_dict("records"),
                "losses": mine[mine["difference_minor"] < 0].nsmallest(_TOP, "difference_minor").to_dict("records"),
                "crossings": crossings.head(3 * _TOP).to_dict("records"),
                "more_crossings": max(len(crossings) - 3 * _TOP, 0),
            }
        )
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined, trim_blocks=True
    )
    env.filters["money"] = lambda minor, ccy: money_text(int(minor), ccy)
    created = month_end(result.months[-1]).isoformat() if result.months else "2000-01-01"
    html = env.get_template("whatif.html").render(title=title, span=span, created=created, currencies=currencies)
    fetcher = TemplatesOnlyFetcher(TEMPLATES_DIR)
    fonts = FontConfiguration()
    sheet = CSS(filename=str(TEMPLATES_DIR / STYLESHEET), url_fetcher=fetcher, font_config=fonts)
    document = HTML(string=html, base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[sheet], font_config=fonts)
