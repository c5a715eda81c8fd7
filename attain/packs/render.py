"""Review packs as PDF: Jinja2 templates in ``report_templates/`` rendered by WeasyPrint.

One rendering path for every pack:

- ``Renderer`` compiles the templates and parses the stylesheet once; it renders a review dict
  (``attain.packs.review``) to HTML in the reader's locale (labels from the .po files, figures through
  Babel) and the HTML to PDF bytes.
- Safety: Jinja autoescapes everything, so a deal named ``<img src="file:///etc/passwd">`` prints
  as those characters; WeasyPrint fetches through ``TemplatesOnlyFetcher``, which serves files under
  the templates folder and refuses everything else (other files, http(s), data: URLs).
- Cost: layout time must grow linearly with the input. WeasyPrint's ``overflow-wrap: anywhere``
  costs the square of a word's length, so ``fit_texts`` cuts each text of the review to
  ``Settings.text_max_length`` characters and puts a zero-width space every ``WORD_CHUNK`` characters
  into longer runs of non-space characters before anything is laid out.
- Reproducibility: the PDF carries the month, the person and the input fingerprint in its metadata,
  its dates are the month's end (not the clock), and it has no random identifier, so the same inputs
  give the same bytes.
- ``render_packs`` renders every pack of a month in worker processes and writes each file atomically
  under ``<out_dir>/<month>/packs/``. Each pack has a time limit (``Settings.pack_time_limit``): a
  pack that exceeds it, or raises, fails alone (its worker is killed and replaced) and is reported.
- Each review is rendered once. A manager's pack is the team summary followed by the members' PDFs
  (their own rep packs, or, for a member who reads another language, their review rendered once in the
  manager's language), merged by ``merge_pack`` once those are written: one outline entry per member,
  "page X of Y" counted over the whole merged pack, and a member whose review failed replaced by a page
  saying so and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import mimetypes
import multiprocessing
import multiprocessing.connection
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlparse
from urllib.request import url2pathname

import babel.lists
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup
from pypdf import PdfReader
from weasyprint import CSS, HTML
from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from attain.files import write_atomic
from attain.packs import charts, i18n
from attain.packs.merge import merge_pack
from attain.packs.review import BANDS, ReviewTables, manager_review, pack_list, rep_review, team_members
from attain.periods import month_end
from attain.roster import roster_for_month
from attain.settings import Settings, how_to_set

#: The repository's templates folder (the renderer's default ``templates_dir``).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "report_templates"

#: The stylesheet every pack uses, relative to the templates folder.
STYLESHEET = "pack.css"

#: Longest run of non-space characters a pack lays out as one word; longer runs get a break opportunity
#: (a zero-width space) every this many characters. Shorter than a deals-table column is wide.
WORD_CHUNK = 30
ZERO_WIDTH_SPACE = "\u200b"
_LONG_RUN = re.compile(rf"[^\s{ZERO_WIDTH_SPACE}]{{{WORD_CHUNK + 1},}}")

#: Review keys whose texts Attain writes itself (the ledger's explanations): printed in full, only broken.
_PROSE_KEYS = frozenset({"explanation"})

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
        if (
            path is None
            or parsed.netloc not in ("", "localhost")
            or not path.is_relative_to(self.root)
            or not path.is_file()
        ):
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


def fit_text(text: str, max_length: int) -> str:
    """``text`` as a pack prints it: cut to ``max_length`` characters (the last one an ellipsis) when
    ``max_length`` is given, and with a zero-width space every ``WORD_CHUNK`` characters of a longer
    run of non-space characters, so that laying it out costs time in proportion to its length."""
    if max_length and len(text) > max_length:
        text = text[: max_length - 1] + "…"
    return _LONG_RUN.sub(
        lambda m: ZERO_WIDTH_SPACE.join(m[0][i : i + WORD_CHUNK] for i in range(0, len(m[0]), WORD_CHUNK)), text
    )


def fit_texts(value: object, max_length: int, key: str = "") -> object:
    """A review dict (or any part of it) with every text passed through ``fit_text``; the texts under
    ``_PROSE_KEYS`` keep their length (they are Attain's own sentences, not input data)."""
    if isinstance(value, str):
        return fit_text(value, 0 if key in _PROSE_KEYS else max_length)
    if isinstance(value, dict):
        return {k: fit_texts(v, max_length, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fit_texts(v, max_length, key) for v in value)
    return value


def _locale(ctx) -> str:
    return ctx["locale"]


@pass_context
def _money(ctx, minor: int, currency: str) -> str:
    return i18n.format_money(minor, currency, _locale(ctx))


@pass_context
def _pct(ctx, ratio: float | None, digits: int = 1) -> str:
    return i18n.format_percent(ratio, _locale(ctx), digits)


@pass_context
def _rate(ctx, ratio) -> str:
    """An exact rate or share (``"0.025"``) as the locale's percentage (``2.5%``); issue 13 item 5."""
    return i18n.format_rate(ratio, _locale(ctx))


@pass_context
def _explain(ctx, line: dict) -> str:
    """A statement line's explanation in the reader's language (issue 13 item 1); a line stored without its
    reason code (a ledger from before it was kept) prints its English ``explanation``."""
    if line.get("explain"):
        return i18n.explanation(line["explain"], _locale(ctx))
    return line.get("explanation") or ""


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
    points = [
        (i18n.format_month_short(p["trend_month"], loc), p["attainment"], i18n.format_percent(p["attainment"], loc, 0))
        for p in trend
    ]
    return Markup(charts.trend_chart(points, _("Revenue attainment, last 12 months"), i18n.MISSING))


@pass_context
def _distribution_chart(ctx, distribution: list[dict]) -> Markup:
    loc, _ = _locale(ctx), ctx["_"]
    bounds = [b for _id, b in BANDS[1:]]
    labels = {
        BANDS[0][0]: f"< {i18n.format_percent(bounds[0], loc, 0)}",
        BANDS[-1][0]: f"≥ {i18n.format_percent(bounds[-1], loc, 0)}",
        "none": _("no target"),
    }
    for (band, low), high in zip(BANDS[1:-1], bounds[1:], strict=True):
        labels[band] = f"{i18n.format_percent(low, loc, 0)}–{i18n.format_percent(high, loc, 0)}"
    lows = dict(BANDS)
    buckets = [
        (
            labels[d["band"]],
            d["count"],
            charts.COLOUR_AXIS if d["band"] == "none" else charts.attainment_colour(max(lows[d["band"]], 0)),
        )
        for d in distribution
    ]
    return Markup(charts.distribution_chart(buckets, _("Members by revenue attainment this month")))


@pass_context
def _smart_sentence(ctx, nt: dict, name: str) -> str:
    """Next month's target in one SMART sentence: metric and amount, the period's dates, who set it
    and why (the comparison with recent results is printed next to it)."""
    loc, _, ngettext = _locale(ctx), ctx["_"], ctx["ngettext"]
    goals = []
    for t in nt["targets"]:
        if t["metric"] == "revenue":
            goals.append(
                _("%(amount)s of credited revenue", amount=i18n.format_money(t["amount"], nt["currency"], loc))
            )
        elif t["metric"] == "won_deals":
            goals.append(ngettext("%(num)s won deal", "%(num)s won deals", t["amount"]))
        elif t["metric"] == "new_accounts":
            goals.append(ngettext("%(num)s new account", "%(num)s new accounts", t["amount"]))
    first = nt["targets"][0]
    return _(
        "%(name)s: reach %(goals)s on deals closed from %(start)s to %(end)s. "
        "Target set on %(set_on)s by %(author)s (%(reason)s).",
        name=name,
        goals=babel.lists.format_list(goals, locale=loc),
        start=i18n.format_date(nt["start"], loc),
        end=i18n.format_date(nt["end"], loc),
        set_on=i18n.format_date(first["effective_date"], loc),
        author=first["author"] or i18n.MISSING,
        reason=first["reason"] or i18n.MISSING,
    )


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

    def __init__(
        self, templates_dir: Path | str = TEMPLATES_DIR, text_max_length: int = Settings.text_max_length
    ) -> None:
        self.templates_dir = Path(templates_dir).resolve()
        self.text_max_length = text_max_length
        self.env = Environment(
            loader=FileSystemLoader(self.templates_dir),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            money=_money,
            pct=_pct,
            rate=_rate,
            explain=_explain,
            num=_num,
            date=_date,
            month=_month,
            metric_value=_metric_value,
            band_class=_band_class,
            css=css_string,
        )
        self.env.globals.update(
            trend_chart=_trend_chart, distribution_chart=_distribution_chart, smart_sentence=_smart_sentence
        )
        self.templates = {
            kind: self.env.get_template(f"{kind}.html") for kind in ("rep", "manager", "page-labels", "member-missing")
        }
        self._page_labels: dict[tuple[str, int], PdfReader] = {}
        self.fetcher = TemplatesOnlyFetcher(self.templates_dir)
        self.base_url = self.templates_dir.as_uri() + "/"
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(
            filename=str(self.templates_dir / STYLESHEET), url_fetcher=self.fetcher, font_config=self.font_config
        )

    def html(self, review: dict, locale: str, fingerprint: str) -> str:
        """The pack's HTML: ``review`` from ``rep_review`` or ``manager_review`` (its texts fitted by
        ``fit_texts``)."""
        review = cast("dict", fit_texts(review, self.text_max_length))  # fit_texts keeps the shape it is given
        gettext, ngettext = _gettext_functions(locale)
        person, month, kind = review["person"], review["month"], review["kind"]
        title = (
            gettext("Monthly review: %(name)s, %(month)s", name=person["name"], month=i18n.format_month(month, locale))
            if kind == "rep"
            else gettext(
                "Team review: %(name)s, %(month)s", name=person["name"], month=i18n.format_month(month, locale)
            )
        )
        if review.get("as_of"):  # issue 13 item 2: an as-of run's pack says so in its title
            title = gettext(
                "%(title)s (provisional, as of %(date)s)",
                title=title,
                date=i18n.format_date(review["as_of"]["date"], locale),
            )
        meta = {
            "title": title,
            "author": "Attain",
            "description": f"{kind} review pack {month} for {person['rep_id']}; input fingerprint {fingerprint}",
            "keywords": [month, str(person["rep_id"]), kind, f"fingerprint:{fingerprint}"],
            "created": month_end(month).isoformat(),
        }
        context = {
            "locale": locale,
            "_": gettext,
            "ngettext": ngettext,
            "meta": meta,
            "page_label": _page_label(gettext),
            "as_of": review.get("as_of"),
            "r" if kind == "rep" else "m": review,
        }
        return self.templates[kind].render(context)

    @staticmethod
    def _context(locale: str, meta: dict | None = None, **values: object) -> dict:
        """What the page frame (base.html, _page_label.html) needs, for the pages that are not a review."""
        gettext, ngettext = _gettext_functions(locale)
        return {
            "locale": locale,
            "_": gettext,
            "ngettext": ngettext,
            "meta": meta,
            "page_label": _page_label(gettext),
            "as_of": None,  # issue 13 item 2 (base.html's provisional banner): a page that is not a review has none
        } | values

    def missing_html(self, name: str, month: str, locale: str, reason: str, fingerprint: str) -> str:
        """The page a manager's pack prints in place of a member's review that failed: who, and why."""
        gettext, _ = _gettext_functions(locale)
        meta = {
            "title": gettext("Monthly review: %(name)s, %(month)s", name=name, month=i18n.format_month(month, locale)),
            "author": "Attain",
            "description": f"missing review {month}; input fingerprint {fingerprint}",
            "keywords": [month, f"fingerprint:{fingerprint}"],
            "created": month_end(month).isoformat(),
        }
        texts = cast("dict", fit_texts({"name": name, "reason": reason}, self.text_max_length))
        return self.templates["member-missing"].render(self._context(locale, meta, month=month, **texts))

    def page_labels(self, locale: str, pages: int) -> PdfReader:
        """A PDF of ``pages`` blank pages, each with only its "page X of Y" label in ``locale``, laid out
        exactly as in a pack (same stylesheet): what ``merge_pack`` stamps. Made once per process per size."""
        key = (locale, pages)
        if key not in self._page_labels:
            html = self.templates["page-labels"].render(self._context(locale, pages=pages))
            self._page_labels[key] = PdfReader(io.BytesIO(self.pdf(html)))
        return self._page_labels[key]

    def pdf(self, html: str) -> bytes:
        """PDF bytes of a pack's HTML (only files under the templates folder can be loaded)."""
        document = HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher)
        return document.write_pdf(stylesheets=[self.stylesheet], font_config=self.font_config)


def pack_path(month: str, kind: str, person_id: str, locale: str) -> str:
    """Where a pack goes, relative to the output folder: ``<month>/packs/<kind>-<id>.<locale>.pdf``
    (characters other than letters, digits, ``.``, ``_`` and ``-`` in the id become ``_``).
    Kind ``member`` (a member's review in their manager's language, only merged into the manager's pack)
    goes to ``<month>/pack-parts/`` and is removed once the run's manager packs are made."""
    safe_id = re.sub(r"[^\w.-]", "_", str(person_id), flags=re.ASCII)
    if kind == "member":
        return f"{month}/pack-parts/rep-{safe_id}.{locale}.pdf"
    return f"{month}/packs/{kind}-{safe_id}.{locale}.pdf"


def member_parts(roster: pd.DataFrame, manager_id: str, locale: str) -> dict[str, tuple[str, str, str]]:
    """For each member of ``manager_id``'s team, the rendering their section of the manager's pack (in
    ``locale``) is taken from, as a pack key ``(person_id, kind, locale)``: their own rep pack when it is in
    that locale, else their review rendered once in it (kind ``member``)."""
    people = roster.set_index("rep_id")
    return {
        member: (member, "rep", locale)
        if people.at[member, "role"] == "rep" and people.at[member, "locale"] == locale
        else (member, "member", locale)
        for member in team_members(roster, manager_id)
    }


class PackJob:
    """Everything a worker needs for one month's packs, built once per process; called with
    ``(person_id, kind, locale)`` it renders and writes that pack and returns its ``review_packs`` row.

    Kinds: ``rep`` (a rep's pack), ``member`` (a rep's review in their manager's language, for the manager's
    pack only), ``manager`` (the team summary merged with the members' renderings, which must be written
    first; ``missing`` maps a member whose rendering failed to the reason, printed in its place)."""

    def __init__(
        self, month: str, tables: ReviewTables, settings: Settings, out_dir: Path, fingerprint: str, templates_dir: Path
    ) -> None:
        self.month, self.tables, self.settings = month, tables, settings
        self.out_dir, self.fingerprint = Path(out_dir), fingerprint
        self.renderer = Renderer(templates_dir, settings.text_max_length)
        self.roster = roster_for_month(tables.reps, month)

    def review(self, person_id: str, kind: str) -> dict:
        build = rep_review if kind == "rep" else manager_review
        return build(person_id, self.month, self.tables, self.settings, self.roster)

    def __call__(self, person_id: str, kind: str, locale: str, missing: tuple[tuple[str, str], ...] = ()) -> dict:
        if kind == "manager":
            data = self.manager(person_id, locale, dict(missing))
        else:
            review = self.review(person_id, "rep")
            data = self.renderer.pdf(self.renderer.html(review, locale, self.fingerprint))
        rel = pack_path(self.month, kind, person_id, locale)
        write_atomic(self.out_dir / rel, data)
        return {
            "month": self.month,
            "person_id": person_id,
            "kind": kind,
            "locale": locale,
            "path": rel,
            "sha256": hashlib.sha256(data).hexdigest(),
        }

    def manager(self, manager_id: str, locale: str, missing: dict[str, str]) -> bytes:
        """A manager's pack: the team summary, then each member's rendering in ranking order (read from the
        files ``member_parts`` names), or the page saying why it is missing."""
        review = self.review(manager_id, "manager")
        parts = [self.renderer.pdf(self.renderer.html(review, locale, self.fingerprint))]
        sources = member_parts(self.roster, manager_id, locale)
        for member in review["members"]:
            person_id = member["person"]["rep_id"]
            if person_id in missing:
                name = member["person"]["name"]
                html = self.renderer.missing_html(name, self.month, locale, missing[person_id], self.fingerprint)
                parts.append(self.renderer.pdf(html))
            else:
                source_id, kind, source_locale = sources[person_id]
                parts.append((self.out_dir / pack_path(self.month, kind, source_id, source_locale)).read_bytes())
        return merge_pack(parts, lambda pages: self.renderer.page_labels(locale, pages))


@dataclass(frozen=True)
class PackFailure:
    """A pack that could not be made: whose, and why (in words for the run summary and the e-mail)."""

    person_id: str
    kind: str
    locale: str
    reason: str


@dataclass
class RenderedPacks:
    """What ``render_packs`` made: the ``review_packs`` table, and the packs that failed alone."""

    table: pd.DataFrame
    failed: list[PackFailure] = field(default_factory=list)


def _worker_loop(conn, make_job: Callable, args: tuple) -> None:
    """A render worker: prepare the month once, say "ready", then render the packs it is sent until
    it is sent ``None``. A pack that raises is answered with the error; the worker carries on."""
    try:
        job = make_job(*args)
    except Exception as error:  # the month cannot be rendered at all: the parent stops the run
        conn.send(("broken", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", None))
    while (pack := conn.recv()) is not None:
        person_id, kind, locale, missing = pack
        try:
            conn.send(("done", job(person_id, kind, locale, missing) if missing else job(person_id, kind, locale)))
        except Exception as error:
            conn.send(("error", f"{type(error).__name__}: {error}"))


class _Worker:
    """One render process and the pack it is working on (``deadline``: when it must be ready, then when its
    pack must be done)."""

    def __init__(
        self,
        ctx: multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext,
        make_job: Callable,
        args: tuple,
        limit: float,
    ) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_loop, args=(child, make_job, args), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.pack: tuple[str, str, str] | None = None
        self.deadline = time.monotonic() + limit

    def give(self, pack: tuple[str, str, str], limit: float, missing: tuple[tuple[str, str], ...]) -> None:
        self.conn.send((*pack, missing))
        self.pack, self.deadline = pack, time.monotonic() + limit

    def stop(self, kill: bool = False) -> None:
        if kill or not self.ready:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _too_slow(pack: tuple[str, str, str], name: str, limit: float) -> str:
    raised = math.ceil(limit * 2.5)
    who = f"{pack[0]} ({fit_text(name, 40)})" if name else pack[0]
    return (
        f"{pack[1]} pack for {who} took more than {limit:g} s and was stopped; "
        f"raise {how_to_set('pack_time_limit', raised)}"
    )


def _render_in_workers(
    jobs: list[tuple[str, str, str]],
    make_job: Callable,
    args: tuple,
    processes: int,
    limit: float,
    names: dict[str, str],
    report: Callable[[tuple[str, str, str]], None],
    needs: dict[tuple[str, str, str], list[tuple[str, str, str]]],
) -> tuple[list[dict], list[PackFailure]]:
    """Render ``jobs`` in ``processes`` worker processes, one pack at a time per worker, in order, except
    that a job waits until the jobs it ``needs`` are finished (it is then given the ones that failed, with
    their reasons). A worker whose pack takes longer than ``limit`` seconds, or that dies, is killed and
    replaced: that pack fails alone and the others go on."""
    ctx = _pool_context()
    pending = deque(jobs)
    workers = [_Worker(ctx, make_job, args, limit) for _ in range(max(1, min(processes, len(jobs))))]
    rows: list[dict] = []
    failed: list[PackFailure] = []
    finished: set[tuple[str, str, str]] = set()
    reasons: dict[tuple[str, str, str], str] = {}

    def next_job() -> tuple[tuple[str, str, str], tuple[tuple[str, str], ...]] | None:
        """The first pending job whose needs are finished, and the reasons of those that failed."""
        for job in pending:
            if finished.issuperset(needs.get(job, ())):
                pending.remove(job)
                return job, tuple((need[0], reasons[need]) for need in needs.get(job, ()) if need in reasons)
        return None

    def fail(worker: _Worker, reason: str) -> None:
        assert worker.pack is not None  # only a worker busy with a pack can fail it
        failed.append(PackFailure(*worker.pack, reason))
        finished.add(worker.pack)
        reasons[worker.pack] = reason
        report(worker.pack)
        worker.pack = None

    def replace_worker(worker: _Worker) -> None:
        worker.stop(kill=True)
        workers.remove(worker)
        if pending:
            workers.append(_Worker(ctx, make_job, args, limit))

    try:
        while pending or any(w.pack for w in workers):
            for worker in workers:
                if worker.ready and worker.pack is None and (job := next_job()):
                    worker.give(job[0], limit, job[1])
            busy = [w.deadline for w in workers if w.pack or not w.ready]
            if pending and not busy:
                raise RuntimeError(f"packs wait for packs that are not in this run: {list(pending)[:3]}")
            timeout = max(0.0, min(busy) - time.monotonic()) if busy else None
            answered = multiprocessing.connection.wait([w.conn for w in workers], timeout)
            for worker in [w for w in workers if w.conn in answered]:
                try:
                    kind, value = worker.conn.recv()
                except EOFError:  # the process died: killed from outside, out of memory, a crash in a library
                    if not worker.ready:
                        raise RuntimeError("a pack renderer stopped while starting") from None
                    if worker.pack:
                        fail(
                            worker,
                            f"the renderer of the {worker.pack[1]} pack for {worker.pack[0]} stopped "
                            f"unexpectedly (exit code {worker.process.exitcode})",
                        )
                    replace_worker(worker)
                    continue
                if kind == "broken":
                    raise RuntimeError(f"the packs cannot be rendered: {value}")
                if kind == "ready":
                    worker.ready = True
                elif kind == "done":
                    assert worker.pack is not None  # a worker reports only on the pack it was given
                    rows.append(value)
                    finished.add(worker.pack)
                    report(worker.pack)
                    worker.pack = None
                else:
                    assert worker.pack is not None  # a worker reports a failure only for the pack it was given
                    fail(worker, f"the {worker.pack[1]} pack for {worker.pack[0]} failed: {value}")
            now = time.monotonic()
            if any(not w.ready and w.deadline <= now for w in workers):
                raise RuntimeError(f"a pack renderer did not start within {limit:g} s")
            for worker in [w for w in workers if w.pack and w.deadline <= now]:
                assert worker.pack is not None  # chosen for having one
                fail(worker, _too_slow(worker.pack, names.get(worker.pack[0], ""), limit))
                replace_worker(worker)
    finally:
        for worker in workers:
            worker.stop()
    return rows, failed


def _pool_context() -> multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext:
    """``fork`` when this process runs a single thread (workers start in milliseconds and share
    the loaded libraries), else ``spawn``: forking a process with other threads (a Dagster step,
    a web server) can copy a lock held by one of them and hang the worker."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def render_packs(
    month: str,
    tables: ReviewTables,
    settings: Settings,
    out_dir: Path | str,
    fingerprint: str,
    processes: int = 2,
    templates_dir: Path | str = TEMPLATES_DIR,
    progress: Callable[[int, int], None] | None = None,
    make_job: Callable[..., Callable[[str, str, str], dict]] = PackJob,
    people: Collection[str] | None = None,
) -> RenderedPacks:
    """Render every pack of ``month`` (``attain.packs.review.pack_list``): the ``review_packs`` table and
    the packs that failed.

    The packs are spread over ``processes`` worker processes (at least one), each of which prepares
    templates, fonts and table indexes once (``make_job(*args)``, a ``PackJob``). Each review is rendered
    once: team by team, the members' packs first (and, for a member who reads another language than their
    manager, their review in the manager's language, kind ``member``), then the manager's pack, which merges
    them after the team summary. A pack that raises, or takes longer than ``settings.pack_time_limit``
    seconds (its worker is killed and replaced), fails alone with its reason; the others are rendered, and
    a manager's pack prints that reason in place of the member's review. ``progress(done, total)`` is called
    as each pack is written or fails (the CLI's progress bar). ``people``, when given, limits the packs to
    theirs (one chunk of whole teams, ``attain.packs.chunks``)."""
    packs = pack_list(month, tables.reps)
    if people is not None:
        packs = packs[packs["person_id"].isin(list(people))]
    roster = roster_for_month(tables.reps, month)
    keys = list(packs[["person_id", "kind", "locale"]].itertuples(index=False, name=None))
    jobs: list[tuple[str, str, str]] = []
    needs: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    manager_of = {member: key[0] for key in keys if key[1] == "manager" for member in team_members(roster, key[0])}

    def team_order(key: tuple[str, str, str]) -> tuple[str, bool, str]:
        """Team by team (a manager's pack after its members'), so manager packs are made all along the run."""
        team = key[0] if key[1] == "manager" else manager_of.get(key[0], key[0])
        return team, key[1] == "manager", key[0]

    for key in sorted(keys, key=team_order):
        if key[1] == "manager":
            needs[key] = list(member_parts(roster, key[0], key[2]).values())
            jobs += [part for part in needs[key] if part[1] == "member"]
        jobs.append(key)
    args = (month, tables, settings, Path(out_dir), fingerprint, Path(templates_dir))
    names = dict(zip(tables.reps["rep_id"].astype(str), tables.reps["name"].fillna("").astype(str), strict=True))
    finished = 0

    def report(key: tuple[str, str, str]) -> None:
        nonlocal finished
        if key[1] != "member":
            finished += 1
            if progress:
                progress(finished, len(keys))

    try:
        rows, failed = _render_in_workers(
            jobs, make_job, args, processes, settings.pack_time_limit, names, report, needs
        )
    finally:
        for part in (key for key in jobs if key[1] == "member"):
            path = Path(out_dir) / pack_path(month, part[1], part[0], part[2])
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: another chunk of teams is still using it
                path.parent.rmdir()
    rows = [row for row in rows if row["kind"] != "member"]
    failed = [f for f in failed if f.kind != "member"]
    table = pd.DataFrame(rows, columns=REVIEW_PACK_COLUMNS)
    table = table.sort_values(["kind", "person_id"], ascending=[False, True]).reset_index(drop=True)
    return RenderedPacks(table, sorted(failed, key=lambda f: (f.kind != "manager", f.person_id)))


def font_subsetter() -> str:
    """Which font subsetter WeasyPrint uses here: ``"harfbuzz-subset"`` (fast) or ``"fontTools"``
    (the silent fallback when the system library libharfbuzz-subset0 is missing: several times
    slower, much more so for CJK fonts)."""
    return "harfbuzz-subset" if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0) else "fontTools"
