"""A self-contained HTML report: inline SVG charts drawn here, inline CSS, no
scripts and no links to fetch, so it opens offline and can be handed on. Every
chart has a title, a description and a table with the same numbers beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from itertools import count
from typing import Any, Final

import polars as pl

from cogov.audit.fairness import FairnessResult
from cogov.audit.metrics import METRICS_BY_NAME
from cogov.audit.report import AuditReport, rows

MAX_BARS: Final = 30
_ids = count(1)

CSS: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem}h2{margin-top:2.5rem;border-bottom:2px solid #1b1b1b}h3{margin-top:1.8rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #8a8a8a;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:600;padding:.3rem 0}
.flag{font-weight:700;color:#8c1d18}.small{color:#5c5c5c}
.note{background:#fff6d6;border-left:4px solid #b38600;padding:.5rem .8rem;margin:.5rem 0}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}
details{margin:.5rem 0 1rem}summary{cursor:pointer;font-weight:600}
svg text{font-family:inherit;font-size:12px;fill:#1b1b1b}
"""


def render_html(report: AuditReport) -> str:
    data = report.to_dict()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cogov audit: {escape(report.source or 'cases')}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Audit of {report.cases:,} cases from {escape(report.source or 'the data')}</h1>",
        _method_note(report),
    ]
    parts += [f'<p class="note">{escape(note)}</p>' for note in report.notes]
    parts.append(_efficiency_section(report, data))
    parts += [_fairness_section(result) for result in report.fairness]
    if report.coverage is not None:
        parts.append(_coverage_section(data["coverage"]))
    if report.responsibility:
        parts.append(_responsibility_section(data["responsibility"]))
    parts.append("</main></body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- sections


def _method_note(report: AuditReport) -> str:
    fair = report.options.fairness
    return (
        f'<p class="small">Generated {escape(report.generated_at)} by cogov. '
        f"Reference group: {escape(fair.reference)}; disparities outside "
        f"{fair.band[0]}–{fair.band[1]} are flagged; {fair.level:.0%} bootstrap intervals "
        f"from {fair.replicates} replicates; groups with fewer than {fair.min_group_size} "
        "cases are not judged.</p>"
    )


def _efficiency_section(report: AuditReport, data: dict[str, Any]) -> str:
    overall = data["efficiency"]["overall"]
    labels = {
        "cases": "cases",
        "median_hours_to_route": "median hours to route",
        "median_hours_to_first_response": "median hours to first response",
        "median_hours_to_close": "median hours to close",
        "p90_hours_to_close": "90th percentile hours to close",
        "open_share": "share still open",
        "on_time_rate": "on-time rate",
        "repeat_rate": "repeat-report rate (duplicates merged)",
        "without_human_share": "share handled without a human",
        "override_rate": "human override rate",
        "appeal_rate": "appeal rate",
        "upheld_appeal_rate": "upheld-appeal rate",
        "routing_accuracy": "routing accuracy",
        "median_draft_seconds": "median drafting seconds",
    }
    body = "".join(
        f"<tr><th scope='row'>{escape(label)}</th><td>{_fmt(key, overall.get(key))}</td></tr>"
        for key, label in labels.items()
        if overall.get(key) is not None
    )
    html = [
        "<section><h2>Efficiency</h2>",
        f"<table><caption>All cases</caption><tbody>{body}</tbody></table>",
    ]
    period = report.efficiency.by.get("period")
    if period is not None and period.height > 1:
        table = period.select("period", "cases", "median_hours_to_close", "on_time_rate")
        labels_p = [str(value) for value in table.get_column("period").to_list()]
        html.append(
            _column_chart(
                f"Cases per {report.efficiency.period}",
                f"Number of cases created in each {report.efficiency.period}.",
                labels_p,
                [float(v) for v in table.get_column("cases").to_list()],
            )
        )
        html.append(_details_table(f"Cases by {report.efficiency.period}", table))
    for name in ("service", "agent", "channel"):
        by_name = report.efficiency.by.get(name)
        if by_name is not None:
            keep = [
                c
                for c in (
                    name,
                    "cases",
                    "median_hours_to_close",
                    "on_time_rate",
                    "without_human_share",
                    "override_rate",
                    "routing_accuracy",
                    "repeat_rate",
                )
                if _has_values(by_name, c)
            ]
            html.append(
                _details_table(
                    f"By {name} (largest {min(MAX_BARS, by_name.height)} of {by_name.height})",
                    by_name.select(keep).head(MAX_BARS),
                )
            )
    routes = report.efficiency.routes
    if routes.height:
        html.append(
            _details_table(
                f"Routing by route: AI proposal against the human's final choice "
                f"(largest {min(MAX_BARS, routes.height)} of {routes.height})",
                routes.head(MAX_BARS),
            )
        )
    html.append("</section>")
    return "".join(html)


def _fairness_section(result: FairnessResult) -> str:
    html = [f"<section><h2>Fairness by {escape(result.group)}</h2>"]
    html += [f'<p class="note">{escape(text)}</p>' for text in result.warnings[:MAX_BARS]]
    if len(result.warnings) > MAX_BARS:
        html.append(
            f'<p class="note">… and {len(result.warnings) - MAX_BARS} more groups too small '
            "to judge (see the CSV).</p>"
        )
    for metric_name in result.table.get_column("metric").unique(maintain_order=True).to_list():
        block = result.table.filter(pl.col("metric") == metric_name)
        if block.get_column("value").null_count() == block.height:
            continue
        metric = METRICS_BY_NAME.get(metric_name)
        label = metric.label if metric else metric_name
        shown = block.head(MAX_BARS)
        reference = block.get_column("reference")[0]
        html.append(f"<h3>{escape(label)}</h3>")
        html.append(
            _disparity_chart(
                f"{label} by {result.group}: ratio to {reference}",
                f"Each bar is a group's {label} divided by that of {reference} (1 = the "
                "same). The shaded band is 0.8 to 1.25; whiskers are bootstrap intervals; "
                "flagged groups are marked ⚑.",
                rows(shown),
            )
        )
        table = shown.select(
            pl.col("group"),
            "cases",
            "n",
            "value",
            "ci_low",
            "ci_high",
            "disparity",
            "disparity_ci_low",
            "disparity_ci_high",
            pl.when(pl.col("flagged"))
            .then(pl.lit("⚑ flagged"))
            .when(pl.col("too_small"))
            .then(pl.lit("too small to judge"))
            .otherwise(pl.lit(""))
            .alias("judgement"),
        )
        html.append(
            _details_table(f"{label} by {result.group} (reference {reference})", table, open_=False)
        )
    html.append(_details_table(f"Spread across groups of {result.group}", result.summary))
    html.append("</section>")
    return "".join(html)


def _coverage_section(data: dict[str, Any]) -> str:
    areas = data["areas"]
    html = [
        "<section><h2>Coverage against the population</h2>",
        f"<p>Median {_num(data['median_rate_per_1000'])} requests per 1,000 residents; areas below "
        f"{_num(data['threshold_per_1000'])} ({data['fraction_of_median']:.0%} of the median) "
        f"are flagged as possibly unreached: {len(data['possibly_unreached'])} of "
        f"{len(areas)} areas. "
        f"{data['cases_without_area']:,} cases name no area.</p>",
    ]
    shown = areas[:MAX_BARS]
    html.append(
        _bar_chart(
            f"Requests per 1,000 residents, lowest {len(shown)} areas",
            "Horizontal bars; the dashed line marks the flagging threshold; flagged areas are "
            "marked ⚑ with the channels their requests came through.",
            [str(row["area"]) for row in shown],
            [row["rate_per_1000"] or 0.0 for row in shown],
            marks=[bool(row["possibly_unreached"]) for row in shown],
            threshold=data["threshold_per_1000"],
            notes=[_coverage_note(row) for row in shown],
        )
    )
    html.append(
        _details_table(
            "Areas (lowest rate first)",
            pl.DataFrame(areas).drop("key") if areas else pl.DataFrame(),
        )
    )
    if data["unmatched_case_areas"]:
        html.append(
            _details_table(
                "Case areas not found in the population table",
                pl.DataFrame(data["unmatched_case_areas"]),
            )
        )
    if data["channels_overall"]:
        html.append(_details_table("Channels, all areas", pl.DataFrame(data["channels_overall"])))
    html.append("</section>")
    return "".join(html)


def _coverage_note(row: dict[str, Any]) -> str:
    if not row["possibly_unreached"]:
        return ""
    if not row["requests"]:
        return "no requests at all"
    return str(row["channels"] or "")


def _responsibility_section(items: Sequence[dict[str, Any]]) -> str:
    html = ["<section><h2>Responsibility</h2>"]
    for item in items:
        html.append(f"<h3>Case {escape(str(item.get('case_id')))}</h3><ul>")
        for finding in item.get("findings", []):
            seqs = ", ".join(str(seq) for seq in finding.get("ledger_seqs", []))
            party = escape(str(finding.get("party")))
            who = escape(str(finding.get("who") or "unnamed"))
            reason = escape(str(finding.get("reason")))
            html.append(
                f"<li><strong>{party}</strong> ({who}): {reason} "
                f"<span class='small'>ledger entries {escape(seqs)}</span></li>"
            )
        html.append("</ul>")
    html.append("</section>")
    return "".join(html)


# ---------------------------------------------------------------- drawing


def _el(name: str, text: str = "", **attrs: object) -> str:
    """One SVG element; attribute names use _ for - and floats get one decimal."""
    rendered = " ".join(
        f'{key.rstrip("_").replace("_", "-")}="{_attr(value)}"' for key, value in attrs.items()
    )
    return f"<{name} {rendered}>{text}</{name}>" if text else f"<{name} {rendered}/>"


def _attr(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _svg(width: int, height: int, title: str, description: str, body: Sequence[str]) -> str:
    uid = next(_ids)
    head = (
        f'<svg role="img" aria-labelledby="t{uid} d{uid}" viewBox="0 0 {width} {height}" '
        f'width="100%"><title id="t{uid}">{escape(title)}</title>'
        f'<desc id="d{uid}">{escape(description)}</desc>'
    )
    figure = head + "".join(body) + "</svg>"
    return f"<figure>{figure}<figcaption>{escape(description)}</figcaption></figure>"


def _disparity_chart(title: str, description: str, items: list[dict[str, Any]]) -> str:
    width, left, right, bar, gap = 900, 230, 170, 16, 6
    plot = width - left - right
    highs = [float(i["disparity_ci_high"] or 0) for i in items] + [
        float(i["disparity"] or 0) for i in items
    ]
    top = min(4.0, math.ceil(max([2.0, *highs]) * 2) / 2)

    def x(value: float) -> float:
        return float(left + plot * min(value, top) / top)

    height = 30 + len(items) * (bar + gap) + 24
    bottom = height - 24
    body = [_el("rect", x=x(0.8), y=20, width=x(1.25) - x(0.8), height=height - 44, fill="#e7eef7")]
    for tick in _ticks(top):
        body.append(_el("line", x1=x(tick), y1=20, x2=x(tick), y2=bottom, stroke="#c8c8c8"))
        body.append(_el("text", f"{tick:g}", x=x(tick), y=height - 8, text_anchor="middle"))
    for index, item in enumerate(items):
        y = 24 + index * (bar + gap)
        text_y = y + bar - 4
        label = escape(_clip(str(item["group"]), 32))
        body.append(_el("text", label, x=left - 6, y=text_y, text_anchor="end"))
        value = item["disparity"]
        if value is None:
            body.append(_el("text", "no data", x=left + 4, y=text_y))
            continue
        colour = "#8c1d18" if item["flagged"] else ("#9a9a9a" if item["too_small"] else "#2b5f9e")
        body.append(
            _el("rect", x=left, y=y, width=max(0.5, x(value) - left), height=bar, fill=colour)
        )
        low, high = item["disparity_ci_low"], item["disparity_ci_high"]
        if low is not None and high is not None:
            mid = y + bar / 2
            body.append(
                _el(
                    "line",
                    x1=x(low),
                    y1=mid,
                    x2=x(high),
                    y2=mid,
                    stroke="#1b1b1b",
                    stroke_width=1.5,
                )
            )
        mark = " ⚑" if item["flagged"] else (" (too small)" if item["too_small"] else "")
        body.append(_el("text", f"{value:.2f}{escape(mark)}", x=width - right + 6, y=text_y))
    body.append(
        _el("line", x1=x(1), y1=18, x2=x(1), y2=bottom, stroke="#1b1b1b", stroke_dasharray="4 3")
    )
    return _svg(width, height, title, description, body)


def _column_chart(title: str, description: str, labels: list[str], values: list[float]) -> str:
    width, height, base, left = 900, 260, 220, 50
    top = max([*values, 1e-9])
    step = (width - left - 10) / max(1, len(values))
    body = []
    for index, value in enumerate(values):
        h = (base - 20) * value / top
        tip = _el("title", f"{escape(labels[index])}: {value:,.0f}")
        x, w = left + index * step, max(step - 1, 0.5)
        body.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="#2b5f9e">{tip}</rect>'
        )
    every = max(1, len(labels) // 10)
    for index in range(0, len(labels), every):
        body.append(
            _el("text", escape(_clip(labels[index], 10)), x=left + index * step, y=base + 16)
        )
    body.append(_el("text", f"{top:,.0f}", x=left - 6, y=24, text_anchor="end"))
    body.append(_el("text", "0", x=left - 6, y=base, text_anchor="end"))
    return _svg(width, height, title, description, body)


def _bar_chart(
    title: str,
    description: str,
    labels: list[str],
    values: list[float],
    *,
    marks: list[bool],
    threshold: float | None,
    notes: list[str] | None = None,
) -> str:
    width, left, right, bar, gap = 1000, 250, 330, 14, 5
    plot = width - left - right
    top = max([*values, threshold or 0.0, 1e-9])
    height = 20 + len(values) * (bar + gap) + 10
    body = []
    for index, value in enumerate(values):
        y = 14 + index * (bar + gap)
        flagged = marks[index]
        label = escape(_clip(labels[index], 36))
        body.append(_el("text", label, x=left - 6, y=y + bar - 3, text_anchor="end"))
        colour = "#8c1d18" if flagged else "#2b5f9e"
        body.append(
            _el("rect", x=left, y=y, width=max(0.5, plot * value / top), height=bar, fill=colour)
        )
        note = f"  {notes[index]}" if notes and notes[index] else ""
        shown = escape(f"{value:,.2f}{' ⚑' if flagged else ''}{_clip(note, 46)}")
        body.append(_el("text", shown, x=width - right + 6, y=y + bar - 3))
    if threshold is not None:
        tx = left + plot * threshold / top
        body.append(
            _el("line", x1=tx, y1=8, x2=tx, y2=height - 4, stroke="#1b1b1b", stroke_dasharray="4 3")
        )
    return _svg(width, height, title, description, body)


def _details_table(caption: str, table: pl.DataFrame, *, open_: bool = False) -> str:
    if table.is_empty():
        return ""
    head = "".join(f"<th scope='col'>{escape(name)}</th>" for name in table.columns)
    body = []
    for row in rows(table):
        cells = [f"<td>{_fmt(key, value)}</td>" for key, value in row.items()]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<details{' open' if open_ else ''}><summary>{escape(caption)} (table)</summary>"
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></details>"
    )


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if key.endswith(("rate", "share", "accuracy")) or (
            key.startswith("ci_") and abs(value) <= 1 and "hours" not in key
        ):
            return f"{value:.1%}" if key.endswith(("rate", "share", "accuracy")) else f"{value:.3g}"
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _ticks(top: float) -> list[float]:
    step = 0.5 if top <= 2.5 else 1.0
    return [round(step * i, 2) for i in range(int(top / step) + 1)]


def _has_values(table: pl.DataFrame, column: str) -> bool:
    return column in table.columns and table.get_column(column).null_count() < table.height
