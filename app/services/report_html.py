"""The quarterly report as one self-contained HTML page: inline CSS and SVG, no external resources.

Made to be pasted into a paper for the Police and Crime Panel, or printed from the browser on A4: the
figures table (periods as columns, as the published papers lay it out, split into several tables of at
most PERIODS_PER_TABLE periods so each fits the page), then per measure a trend chart with the Wilson
95% interval as a band, and the narrative. Every chart's y axis runs from 0 to 100%, so charts side by
side are never read against different scales. Periods without surveys are gaps marked u/a, never
zero; small samples are hollow and carry no arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from app.clock import today
from app.domain.narrative import one_decimal
from app.services.report import MeasureFigures, MeasureInfo, Report, comparison_note

#: Periods in one table: with the label column this fits A4 portrait at the print font size.
PERIODS_PER_TABLE = 6

CSS = """
body { font-family: Arial, Helvetica, sans-serif; color: #1b1b1b; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; }
p.meta { color: #505a5f; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 1rem 0; }
th, td { border: 1px solid #b1b4b6; padding: 0.3rem 0.5rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; }
thead th { background: #1d3a5f; color: #fff; }
tr.measure td { font-weight: bold; background: #f3f2f1; }
tr.detail td:first-child { padding-left: 1.5rem; color: #505a5f; }
td.ua { color: #505a5f; font-style: italic; }
td.small { background: #fff4d6; }
.rise { color: #00703c; } .fall { color: #d4351c; } .too-few { color: #505a5f; font-style: italic; }
.notes { font-size: 0.85rem; color: #505a5f; }
.warning { border-left: 4px solid #d4351c; padding-left: 0.5rem; }
figure { margin: 0.5rem 0; }
svg { max-width: 100%; height: auto; }
svg text { font-family: Arial, Helvetica, sans-serif; font-size: 11px; fill: #1b1b1b; }
@page { size: A4 portrait; margin: 15mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h1 { font-size: 15pt; } h2 { font-size: 12pt; break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; margin: 0.5rem 0; }
  th, td { padding: 0.15rem 0.3rem; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  section.measure { break-inside: avoid; page-break-inside: avoid; }
  figure svg { max-height: 62mm; width: auto; }  /* two measures to a page, labels kept */
  thead th, tr.measure td, td.small { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

WIDTH, HEIGHT = 680, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 20, 56
#: Below the plot when the labels are rotated (many periods): room for "12 months to 27 Nov 26".
BOTTOM_ROTATED = 92
LINE, BAND = "#1d3a5f", "#c5d4e6"
CHANGE_TEXT = {
    "rise": "▲ rise",
    "fall": "▼ fall",
    "in_line": "in line",
    "too_few": "too few",
    "unavailable": "–",
}
GROUP_TEXT = {**CHANGE_TEXT, "rise": "▲ above the rest", "fall": "▼ below the rest"}


def render_html(report: Report) -> str:
    where = f"Division: {report.division}" if report.division else "Force-wide"
    by = f"by {report.by_field.replace('_', ' ')}" if report.by_field else f"by {_unit_name(report)}"
    heading = f"{report.title}: satisfaction {by}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(heading)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(heading)}</h1>",
        f'<p class="meta">{escape(where)}; completed surveys from {report.start:%d %B %Y} to'
        f" {report.end:%d %B %Y}; produced {today():%d %B %Y}.</p>",
    ]
    parts += [f'<p class="notes warning">{escape(w)}</p>' for w in report.warnings]
    for first in range(0, len(report.periods), PERIODS_PER_TABLE):
        parts.append(_table(report, first, first + PERIODS_PER_TABLE))
    parts.append(_notes(report))
    for info in report.measures:
        parts.append('<section class="measure">')
        parts.append(f"<h2>{escape(info.label)}</h2>")
        parts.append(_chart(report, info))
        parts.append(f"<p>{escape(report.narrative(info.id))}</p>")
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _unit_name(report: Report) -> str:
    return "rolling 12 months" if report.by.value == "rolling12" else report.by.value


# ------------------------------------------------------------------ the table


def _pct_cell(value: float | None, small: bool = False) -> str:
    if value is None:
        return '<td class="ua">u/a</td>'
    marker = "*" if small else ""
    css = ' class="small"' if small else ""
    return f"<td{css}>{one_decimal(value):.1f}%{marker}</td>"


def _interval_cell(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return '<td class="ua">u/a</td>'
    low, high = (one_decimal(v) for v in interval)
    return f"<td>{low:.1f} – {high:.1f}</td>"


def _change_cell(report: Report, figures: MeasureFigures, excluding_neutral: bool = False) -> str:
    change = figures.change_excl_neutral if excluding_neutral else figures.change
    direction = change.direction.value
    text = (GROUP_TEXT if report.by_field else CHANGE_TEXT)[direction]
    return f'<td class="{direction.replace("_", "-")}">{text}</td>'


def _table(report: Report, first: int, last: int) -> str:
    periods = report.periods[first:last]
    head = "".join(f"<th>{escape(p.period.label)}</th>" for p in periods)
    rows = [
        "<tr><td>Surveys</td>"
        + "".join(
            f"<td{' class=small' if p.small_sample else ''}>{p.surveys}{'*' if p.small_sample else ''}</td>"
            for p in periods
        )
        + "</tr>"
    ]
    for info in report.measures:
        cells = [p.measure(info.id) for p in periods]
        rows.append(
            f'<tr class="measure"><td>{escape(info.label)}</td>'
            + "".join(_pct_cell(m.pct, m.small_sample) for m in cells)
            + "</tr>"
        )
        details = [
            ("95% confidence interval", [_interval_cell(m.ci95) for m in cells]),
            ("change", [_change_cell(report, m) for m in cells]),
            ("excluding neutral answers", [_pct_cell(m.pct_excl_neutral, m.small_sample) for m in cells]),
            ("95% confidence interval", [_interval_cell(m.ci95_excl_neutral) for m in cells]),
            ("change", [_change_cell(report, m, True) for m in cells]),
            ("not recorded", [f"<td>{m.not_recorded}</td>" for m in cells]),
        ]
        for name, html_cells in details:
            rows.append(f'<tr class="detail"><td>{name}</td>{"".join(html_cells)}</tr>')
    first_column = report.by_field.replace("_", " ").capitalize() if report.by_field else "Measure"
    return (
        f'<table><thead><tr><th scope="col">{escape(first_column)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _notes(report: Report) -> str:
    base = "the Division's surveys" if report.division else "all surveys"
    return (
        f'<p class="notes">Percentages are of {base} in the period, as published; "excluding neutral"'
        f" leaves the neutral answers out. u/a: no surveys in the period. * fewer than {report.small_cell}"
        " surveys: too small to publish on its own, and no change is tested (too few). A change is"
        " called a rise or a fall only when it is statistically significant at 95% (Newcombe's interval"
        " for the difference excludes zero); otherwise it is in line."
        f" {escape(comparison_note(report))}</p>"
    )


# ------------------------------------------------------------------ the chart


def _chart(report: Report, info: MeasureInfo) -> str:
    cells = [p.measure(info.id) for p in report.periods]
    labels = [p.period.label for p in report.periods]
    rotate = len(cells) > 8
    bottom = BOTTOM_ROTATED if rotate else BOTTOM
    height = HEIGHT - BOTTOM + bottom
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(cells), 1)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / 100)

    out = [
        f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(info.label)}: trend with 95%'
        f' confidence interval"><title>{escape(info.label)}</title>'
    ]
    for tick in range(0, 101, 20):
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}%</text>'
        )
    connect = report.by_field is None  # groups are not a series: no line between them
    for run in _runs(cells):
        if len(run) == 1 or not connect:
            for point in run:
                out.append(
                    f'<rect x="{x(point.index) - 6:.1f}" y="{y(point.high):.1f}" width="12"'
                    f' height="{y(point.low) - y(point.high):.1f}" fill="{BAND}"/>'
                )
            continue
        band = [f"{x(p.index):.1f},{y(p.high):.1f}" for p in run]
        band += [f"{x(p.index):.1f},{y(p.low):.1f}" for p in reversed(run)]
        out.append(f'<polygon points="{" ".join(band)}" fill="{BAND}"/>')
        line = " ".join(f"{x(p.index):.1f},{y(p.pct):.1f}" for p in run)
        out.append(f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    show_values = len(cells) <= 12  # more would overlap; each point keeps its value as a tooltip
    for i, m in enumerate(cells):
        if m.pct is None:
            out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h - 6:.1f}" text-anchor="middle">u/a</text>')
            continue
        fill = "#fff" if m.small_sample else LINE
        shown = f"{one_decimal(m.pct):.1f}"
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(m.pct):.1f}" r="4" fill="{fill}" stroke="{LINE}"'
            f' stroke-width="2"><title>{escape(labels[i])}: {shown}% ({m.positive} of {m.surveys})</title>'
            "</circle>"
        )
        if show_values:
            out.append(f'<text x="{x(i):.1f}" y="{y(m.pct) - 8:.1f}" text-anchor="middle">{shown}</text>')
    for i, label in enumerate(labels):
        base = TOP + plot_h + 16
        if rotate:
            out.append(
                f'<text x="{x(i):.1f}" y="{base:.1f}" text-anchor="end"'
                f' transform="rotate(-45 {x(i):.1f} {base:.1f})">{escape(label)}</text>'
            )
        else:
            out.append(f'<text x="{x(i):.1f}" y="{base:.1f}" text-anchor="middle">{escape(label)}</text>')
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#505a5f"/>'
    )
    out.append("</svg>")
    out.append(
        f"<figcaption class=notes>{escape(info.label)}: % of surveys (0 to 100%), with the 95% confidence"
        " interval shaded; hollow points have too few surveys to publish.</figcaption></figure>"
    )
    return "".join(out)


@dataclass(frozen=True)
class _Point:
    index: int
    pct: float
    low: float
    high: float


def _runs(cells: Sequence[MeasureFigures]) -> list[list[_Point]]:
    """Consecutive periods with surveys; a period without any breaks the line and the band."""
    runs: list[list[_Point]] = []
    current: list[_Point] = []
    for i, m in enumerate(cells):
        if m.pct is None or m.ci95 is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(_Point(i, m.pct, m.ci95[0], m.ci95[1]))
    if current:
        runs.append(current)
    return runs
