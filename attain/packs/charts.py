"""Charts for the review packs as hand-built SVG: crisp at any zoom and well under 1 ms each.

The charts receive labels already formatted for the reader's locale (the renderer does that), so
this module knows no language. Every text element carries its own ``font-family``: WeasyPrint does
not let SVG text inherit the page's fonts, and Chinese month labels need the CJK family.
Labels are XML-escaped; nothing from the data can add markup.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

#: The font stack of the packs (also set on ``html`` in pack.css): a CJK family first, so
#: Chinese prints as real text, then sans-serif.
FONT_FAMILY = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'

#: Bar colours by attainment: met (>= 100%), near (>= 80%), below.
COLOUR_MET = "#2e7d4f"
COLOUR_NEAR = "#d08c1e"
COLOUR_BELOW = "#b5463c"
COLOUR_AXIS = "#8a8f98"
COLOUR_TEXT = "#333a44"


def attainment_colour(ratio: float) -> str:
    """Green at or above target, amber from 80%, red below: the same scale as the tables."""
    if ratio >= 1.0:
        return COLOUR_MET
    if ratio >= 0.8:
        return COLOUR_NEAR
    return COLOUR_BELOW


def _text(x: float, y: float, label: str, size: float = 8, anchor: str = "middle", colour: str = COLOUR_TEXT) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family={quoteattr(FONT_FAMILY)} font-size="{size}" '
        f'text-anchor="{anchor}" fill="{colour}">{escape(label)}</text>'
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def trend_chart(
    points: list[tuple[str, float | None, str]], title: str, no_target: str, width: int = 480, height: int = 150
) -> str:
    """Monthly attainment bars with the 100% target line.

    ``points``: ``(month label, attainment ratio or None, ratio label)`` oldest first; a month with
    no target has ratio None and is marked with ``no_target`` instead of a bar.
    """
    left, right, top, bottom = 34, 6, 14, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    ratios = [r for _, r, _ in points if r is not None]
    scale_max = max([1.2, *ratios]) * 1.08

    def y_of(r):
        return top + plot_h * (1 - r / scale_max)

    body: list[str] = []
    for tick in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        if tick > scale_max:
            break
        y = y_of(tick)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e6ea" stroke-width="0.6"/>'
        )
        body.append(_text(left - 4, y + 3, f"{tick:.0%}", size=7, anchor="end", colour=COLOUR_AXIS))
    slot = plot_w / max(len(points), 1)
    bar_w = slot * 0.62
    labels: list[str] = []
    for i, (label, ratio, ratio_label) in enumerate(points):
        cx = left + slot * (i + 0.5)
        labels.append(_text(cx, height - 8, label, size=7, colour=COLOUR_AXIS))
        if ratio is None:
            labels.append(_text(cx, y_of(0) - 4, no_target, size=7, colour=COLOUR_AXIS))
            continue
        y = y_of(max(ratio, 0.0))
        body.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{y_of(0) - y:.1f}" fill="{attainment_colour(ratio)}"/>'
        )
        inside = y_of(0) - y > 14  # tall bars carry their figure inside, clear of the target line
        labels.append(
            _text(cx, y + 9 if inside else y - 3, ratio_label, size=6.5, colour="#ffffff" if inside else COLOUR_TEXT)
        )
    target_y = y_of(1.0)
    body.append(
        f'<line x1="{left}" y1="{target_y:.1f}" x2="{width - right}" y2="{target_y:.1f}" '
        f'stroke="#1f2a44" stroke-width="1" stroke-dasharray="4 3"/>'
    )
    body.append(
        f'<line x1="{left}" y1="{y_of(0):.1f}" x2="{width - right}" y2="{y_of(0):.1f}" '
        f'stroke="{COLOUR_AXIS}" stroke-width="0.8"/>'
    )
    # Labels last, so the target line never crosses a bar's figure.
    body.extend(labels)
    return _svg(width, height, body, title)


def distribution_chart(buckets: list[tuple[str, int, str]], title: str, width: int = 480, height: int = 120) -> str:
    """Team members per attainment band as vertical bars with their counts.

    ``buckets``: ``(band label, member count, colour)`` in band order.
    """
    left, right, top, bottom = 10, 10, 16, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([c for _, c, _ in buckets] + [1])
    slot = plot_w / max(len(buckets), 1)
    bar_w = slot * 0.55
    base = top + plot_h
    body: list[str] = []
    for i, (label, count, colour) in enumerate(buckets):
        cx = left + slot * (i + 0.5)
        h = plot_h * count / peak
        body.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>'
        )
        body.append(_text(cx, base - h - 3, str(count), size=8))
        body.append(_text(cx, height - 8, label, size=7.5, colour=COLOUR_AXIS))
    body.append(
        f'<line x1="{left}" y1="{base:.1f}" x2="{width - right}" y2="{base:.1f}" '
        f'stroke="{COLOUR_AXIS}" stroke-width="0.8"/>'
    )
    return _svg(width, height, body, title)
