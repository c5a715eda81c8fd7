"""Review packs as PDF: Jinja2 templates in ``report_templates/`` rendered by WeasyPrint.

One rendering path for every pack:

- ``Renderer`` compiles the templates and parses the stylesheet once; it renders a review dict
  (``attain.review``) to HTML in the reader's locale (labels from the .po files, figures through
  Babel) and the HTML to PDF bytes.
- Safety: Jinja autoescapes everything, so a deal named ``<img src="file:///etc/passwd">`` prints
  as those characters; WeasyPrint fetches through ``TemplatesOnlyFetcher``, which serves files under
  the templates folder and refuses everything else (other files, http(s), data: URLs).
- Reproducibility: the PDF carries the month, the person and the input fingerprint in its metadata,
  its dates are the month's end (not the clock), and it has no random identifier, so the same inputs
  give the same bytes.
- ``render_packs`` renders every pack of a month in a process pool and writes each file atomically
  under ``<out_dir>/<month>/packs/``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import multiprocessing
import os
import re
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse
from urllib.request import url2pathname

import babel.lists
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from attain import charts, i18n
from attain.periods import month_end
from attain.review import BANDS, ReviewTables, manager_review, pack_list, rep_review, roster_for_month
from attain.settings import Settings

#: The repository's templates folder (the renderer's default ``templates_dir``).
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "report_templates"

#: The stylesheet every pack uses, relative to the templates folder.
STYLESHEET = "pack.css"

#: Columns of the ``review_packs`` table (docs/data-model.md).
REVIEW_PACK_COLUMNS = ["month", "person_id", "kind", "locale", "path", "sha256"]


class FetchRefused(ValueError):
    """A URL the packs may not load: anything outside the templates folder."""


class TemplatesOnlyFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves files under ``root`` and refuses every other URL.

    Refusals raise ``FetchRefused``: WeasyPrint logs a warning and renders without the resource.
    ``refused`` lists the URLs turned away (for tests and logs). Files are read once and cached.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = Path(root).resolve()
        self.refused: list[str] = []
        self._cache: dict[Path, bytes] = {}

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """The file behind a ``file:`` URL inside ``root``; anything else raises ``FetchRefused``."""
        parsed = urlparse(url)
        path = Path(url2pathname(parsed.path)).resolve() if parsed.scheme == "file" else None
        if path is None or parsed.netloc not in ("", "localhost") or not path.is_relative_to(self.root) \
                or not path.is_file():
            self.refused.append(url)
            raise FetchRefused(f"review packs may only load files under {self.root}; refused {url[:200]!r}")
        if path not in self._cache:
            self._cache[path] = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, self._cache[path], headers={"Content-Type": content_type})


def css_string(text: str) -> Markup:
    """``text`` as a CSS string literal: everything but letters, digits and spaces hex-escaped,
    so nothing in it can close the string or the ``<style>`` element."""
    body = "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in str(text))
    return Markup(f'"{body}"')


def _locale(ctx) -> str:
    return ctx["locale"]


@pass_context
def _money(ctx, minor: int, currency: str) -> str:
    return i18n.format_money(minor, currency, _locale(ctx))


@pass_context
def _pct(ctx, ratio: float | None, digits: int = 1) -> str:
    return i18n.format_percent(ratio, _locale(ctx), digits)


@pass_context
def _num(ctx, value: float | None, digits: int = 0) -> str:
    return i18n.format_number(value, _locale(ctx), digits)


@pass_context
def _date(ctx, day) -> str:
    return i18n.format_date(day, _locale(ctx))


@pass_context
def _month(ctx, month: str) -> str:
    return i18n.format_month(month, _locale(ctx))


@pass_context
def _metric_value(ctx, value: int | None, metric: str, currency: str) -> str:
    """Revenue as money in its currency, counts as numbers."""
    if value is None:
        return i18n.MISSING
    if metric == "revenue":
        return i18n.format_money(value, currency, _locale(ctx))
    return i18n.format_number(value, _locale(ctx))


def _band_class(ratio: float | None) -> str:
    """The CSS class colouring an attainment: met, near or below (same scale as the charts)."""
    if ratio is None or pd.isna(ratio):
        return ""
    return {charts.COLOUR_MET: "met", charts.COLOUR_NEAR: "near"}.get(charts.attainment_colour(ratio), "below")


@pass_context
def _trend_chart(ctx, trend: list[dict]) -> Markup:
    loc, _ = _locale(ctx), ctx["_"]
    points = [(i18n.format_month_short(p["trend_month"], loc), p["attainment"],
               i18n.format_percent(p["attainment"], loc, 0)) for p in trend]
    return Markup(charts.trend_chart(points, _("Revenue attainment, last 12 months"), i18n.MISSING))


@pass_context
def _distribution_chart(ctx, distribution: list[dict]) -> Markup:
    loc, _ = _locale(ctx), ctx["_"]
    bounds = [b for _id, b in BANDS[1:]]
    labels = {BANDS[0][0]: f"< {i18n.format_percent(bounds[0], loc, 0)}",
              BANDS[-1][0]: f"≥ {i18n.format_percent(bounds[-1], loc, 0)}", "none": _("no target")}
    for (band, low), high in zip(BANDS[1:-1], bounds[1:]):
        labels[band] = f"{i18n.format_percent(low, loc, 0)}–{i18n.format_percent(high, loc, 0)}"
    lows = dict(BANDS)
    buckets = [(labels[d["band"]], d["count"],
                charts.COLOUR_AXIS if d["band"] == "none" else charts.attainment_colour(max(lows[d["band"]], 0)))
               for d in distribution]
    return Markup(charts.distribution_chart(buckets, _("Members by revenue attainment this month")))


@pass_context
def _smart_sentence(ctx, nt: dict, name: str) -> str:
    """Next month's target in one SMART sentence: metric and amount, the period's dates, who set it
    and why (the comparison with recent results is printed next to it)."""
    loc, _, ngettext = _locale(ctx), ctx["_"], ctx["ngettext"]
    goals = []
    for t in nt["targets"]:
        if t["metric"] == "revenue":
            goals.append(_("%(amount)s of credited revenue", amount=i18n.format_money(t["amount"], nt["currency"], loc)))
        elif t["metric"] == "won_deals":
            goals.append(ngettext("%(num)s won deal", "%(num)s won deals", t["amount"]))
        elif t["metric"] == "new_accounts":
            goals.append(ngettext("%(num)s new account", "%(num)s new accounts", t["amount"]))
    first = nt["targets"][0]
    return _("%(name)s: reach %(goals)s on deals closed from %(start)s to %(end)s. "
             "Target set on %(set_on)s by %(author)s (%(reason)s).",
             name=name, goals=babel.lists.format_list(goals, locale=loc),
             start=i18n.format_date(nt["start"], loc), end=i18n.format_date(nt["end"], loc),
             set_on=i18n.format_date(first["effective_date"], loc),
             author=first["author"] or i18n.MISSING, reason=first["reason"] or i18n.MISSING)


def _gettext_functions(locale: str) -> tuple:
    """``_(msgid, **values)`` and ``ngettext(singular, plural, n)`` for templates, in ``locale``;
    ``%(num)s`` in plural messages is the count formatted for the locale."""
    translations = i18n.translator(locale)

    def gettext(message: str, **values: object) -> str:
        text = translations.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
        return translations.ngettext(singular, plural, n) % {"num": i18n.format_number(n, locale), **values}

    return gettext, ngettext


def _page_label(gettext) -> tuple[str, str, str]:
    """The text around the page counters of "page X of Y" in the reader's language."""
    before, rest = gettext("page %(page)s of %(pages)s").split("%(page)s")
    middle, after = rest.split("%(pages)s")
    return before, middle, after


class Renderer:
    """Templates, stylesheet and fonts prepared once; renders review dicts to HTML and PDF."""

    def __init__(self, templates_dir: Path | str = TEMPLATES_DIR) -> None:
        self.templates_dir = Path(templates_dir).resolve()
        self.env = Environment(
            loader=FileSystemLoader(self.templates_dir), autoescape=True, undefined=StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )
        self.env.filters.update(money=_money, pct=_pct, num=_num, date=_date, month=_month,
                                metric_value=_metric_value, band_class=_band_class, css=css_string)
        self.env.globals.update(trend_chart=_trend_chart, distribution_chart=_distribution_chart,
                                smart_sentence=_smart_sentence)
        self.templates = {kind: self.env.get_template(f"{kind}.html") for kind in ("rep", "manager")}
        self.fetcher = TemplatesOnlyFetcher(self.templates_dir)
        self.base_url = self.templates_dir.as_uri() + "/"
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(self.templates_dir / STYLESHEET), url_fetcher=self.fetcher,
                              font_config=self.font_config)

    def html(self, review: dict, locale: str, fingerprint: str) -> str:
        """The pack's HTML: ``review`` from ``rep_review`` or ``manager_review``."""
        gettext, ngettext = _gettext_functions(locale)
        person, month, kind = review["person"], review["month"], review["kind"]
        title = (gettext("Monthly review: %(name)s, %(month)s", name=person["name"], month=i18n.format_month(month, locale))
                 if kind == "rep" else
                 gettext("Team review: %(name)s, %(month)s", name=person["name"], month=i18n.format_month(month, locale)))
        meta = {
            "title": title,
            "author": "Attain",
            "description": f"{kind} review pack {month} for {person['rep_id']}; input fingerprint {fingerprint}",
            "keywords": [month, str(person["rep_id"]), kind, f"fingerprint:{fingerprint}"],
            "created": month_end(month).isoformat(),
        }
        context = {"locale": locale, "_": gettext, "ngettext": ngettext, "meta": meta,
                   "page_label": _page_label(gettext), "r" if kind == "rep" else "m": review}
        return self.templates[kind].render(context)

    def pdf(self, html: str) -> bytes:
        """PDF bytes of a pack's HTML (only files under the templates folder can be loaded)."""
        document = HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher)
        return document.write_pdf(stylesheets=[self.stylesheet], font_config=self.font_config)


def pack_path(month: str, kind: str, person_id: str, locale: str) -> str:
    """Where a pack goes, relative to the output folder: ``<month>/packs/<kind>-<id>.<locale>.pdf``
    (characters other than letters, digits, ``.``, ``_`` and ``-`` in the id become ``_``)."""
    safe_id = re.sub(r"[^\w.-]", "_", str(person_id), flags=re.ASCII)
    return f"{month}/packs/{kind}-{safe_id}.{locale}.pdf"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


class _PackJob:
    """Everything a worker needs for one month's packs, built once per process."""

    def __init__(self, month: str, tables: ReviewTables, settings: Settings, out_dir: Path,
                 fingerprint: str, templates_dir: Path) -> None:
        self.month, self.tables, self.settings = month, tables, settings
        self.out_dir, self.fingerprint = Path(out_dir), fingerprint
        self.renderer = Renderer(templates_dir)
        self.roster = roster_for_month(tables.reps, month)

    def review(self, person_id: str, kind: str) -> dict:
        build = rep_review if kind == "rep" else manager_review
        return build(person_id, self.month, self.tables, self.settings, self.roster)

    def __call__(self, person_id: str, kind: str, locale: str) -> dict:
        html = self.renderer.html(self.review(person_id, kind), locale, self.fingerprint)
        data = self.renderer.pdf(html)
        rel = pack_path(self.month, kind, person_id, locale)
        write_atomic(self.out_dir / rel, data)
        return {"month": self.month, "person_id": person_id, "kind": kind, "locale": locale,
                "path": rel, "sha256": hashlib.sha256(data).hexdigest()}


_WORKER: _PackJob | None = None


def _init_worker(*args) -> None:
    global _WORKER
    _WORKER = _PackJob(*args)


def _run_worker(pack: tuple[str, str, str]) -> dict:
    return _WORKER(*pack)


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` when this process runs a single thread (workers start in milliseconds and share
    the loaded libraries), else ``spawn``: forking a process with other threads (a Dagster step,
    a web server) can copy a lock held by one of them and hang the worker."""
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")


def render_packs(month: str, tables: ReviewTables, settings: Settings, out_dir: Path | str,
                 fingerprint: str, processes: int = 2, templates_dir: Path | str = TEMPLATES_DIR,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Render every pack of ``month`` (``attain.review.pack_list``) and return the ``review_packs``
    table. With ``processes > 1`` the packs are spread over a pool of worker processes, each of
    which prepares templates, fonts and table indexes once; manager packs (the longest) go first.
    ``progress(done, total)`` is called as packs complete (the CLI's progress bar)."""
    packs = pack_list(month, tables.reps).sort_values(["kind", "person_id"])
    jobs = list(packs[["person_id", "kind", "locale"]].itertuples(index=False, name=None))
    args = (month, tables, settings, Path(out_dir), fingerprint, Path(templates_dir))
    report = progress or (lambda done, total: None)
    rows = []
    if processes <= 1 or len(jobs) <= 1:
        job = _PackJob(*args)
        for pack in jobs:
            rows.append(job(*pack))
            report(len(rows), len(jobs))
    else:
        with ProcessPoolExecutor(processes, mp_context=_pool_context(), initializer=_init_worker,
                                 initargs=args) as pool:
            chunk = max(1, min(16, len(jobs) // (processes * 8)))
            for row in pool.map(_run_worker, jobs, chunksize=chunk):
                rows.append(row)
                report(len(rows), len(jobs))
    table = pd.DataFrame(rows, columns=REVIEW_PACK_COLUMNS)
    return table.sort_values(["kind", "person_id"], ascending=[False, True]).reset_index(drop=True)


def font_subsetter() -> str:
    """Which font subsetter WeasyPrint uses here: ``"harfbuzz-subset"`` (fast) or ``"fontTools"``
    (the silent fallback when the system library libharfbuzz-subset0 is missing: several times
    slower, much more so for CJK fonts)."""
    return "harfbuzz-subset" if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0) else "fontTools"
