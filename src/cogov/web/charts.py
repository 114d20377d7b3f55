"""Charts as inline SVG, drawn on the server: no script, no network, readable by
screen readers (role="img" with a title and a description), and every chart on a
page sits next to a table of the same numbers.

Colours meet WCAG 1.4.11 (>= 3:1 against white for graphical objects); labels are
text, never colour alone: a flagged bar is also marked with a "!" and its value.
Only presentation attributes are used (the pages' CSP forbids style attributes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

BAR = "#1d4f91"  # 8.2:1 on white
FLAG = "#a4161a"  # 7.4:1 on white
BAND = "#e7f4ea"
AXIS = "#4a5563"
INK = "#1b1f24"
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    shown: str  # the value as the reader reads it (already formatted)
    flagged: bool = False


def _frame(width: int, height: int, title: str, description: str, body: list[str]) -> Markup:
    number = next(_ids)
    title_id, desc_id = f"chart-title-{number}", f"chart-desc-{number}"
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    band: tuple[float, float] | None = None,
    reference: float | None = None,
) -> Markup:
    """Horizontal bars, one per label. ``band`` shades an acceptable range (e.g. the
    0.8-1.25 disparity band) and ``reference`` draws a line (e.g. parity at 1)."""
    label_width, plot_width, row, top = 190, 380, 30, 10
    width = label_width + plot_width + 90
    height = top * 2 + row * max(len(bars), 1)
    values = [bar.value for bar in bars if bar.value is not None]
    limits = [*values, *(band or ()), *([reference] if reference is not None else [])]
    high = max([*limits, 0.0]) or 1.0
    scale = plot_width / (high * 1.05)
    body: list[str] = []
    if band is not None:
        x0, x1 = label_width + band[0] * scale, label_width + band[1] * scale
        body.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" '
            f'height="{height - 2 * top}" fill="{BAND}"/>'
        )
    for index, bar in enumerate(bars):
        y = top + index * row
        body.append(
            f'<text x="{label_width - 8}" y="{y + row * 0.65:.1f}" text-anchor="end" '
            f'font-size="13" fill="{INK}">{escape(_clip(bar.label, 26))}</text>'
        )
        if bar.value is None:
            body.append(
                f'<text x="{label_width + 4}" y="{y + row * 0.65:.1f}" font-size="13" '
                f'fill="{AXIS}">{escape(bar.shown)}</text>'
            )
            continue
        length = max(bar.value * scale, 1.0)
        colour = FLAG if bar.flagged else BAR
        body.append(
            f'<rect x="{label_width}" y="{y + 5}" width="{length:.1f}" height="{row - 10}" '
            f'fill="{colour}"/>'
        )
        marker = " !" if bar.flagged else ""
        body.append(
            f'<text x="{label_width + length + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="13" '
            f'fill="{INK}">{escape(bar.shown + marker)}</text>'
        )
    if reference is not None:
        x = label_width + reference * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - top + 4}" '
            f'stroke="{AXIS}" stroke-width="2" stroke-dasharray="4 3"/>'
        )
    body.append(
        f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    return _frame(width, height, title, description, body)


def column_chart(bars: Sequence[Bar], *, title: str, description: str) -> Markup:
    """Vertical columns in order (e.g. cases per month)."""
    left, plot_height, bottom, top = 10, 180, 40, 24
    column = 56 if len(bars) <= 12 else max(14, 672 // max(len(bars), 1))
    width = left * 2 + column * max(len(bars), 1)
    height = top + plot_height + bottom
    high = max([bar.value or 0.0 for bar in bars] + [0.0]) or 1.0
    body: list[str] = []
    for index, bar in enumerate(bars):
        x = left + index * column
        size = (bar.value or 0.0) / high * plot_height
        y = top + plot_height - size
        body.append(
            f'<rect x="{x + 6}" y="{y:.1f}" width="{column - 12}" height="{max(size, 1):.1f}" '
            f'fill="{FLAG if bar.flagged else BAR}"/>'
        )
        body.append(
            f'<text x="{x + column / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">{escape(bar.shown)}</text>'
        )
        body.append(
            f'<text x="{x + column / 2:.1f}" y="{top + plot_height + 18}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">{escape(_clip(bar.label, 9))}</text>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - left}" '
        f'y2="{top + plot_height}" stroke="{AXIS}" stroke-width="1"/>'
    )
    return _frame(width, height, title, description, body)
