"""Charts of a page's checked outputs, drawn as inline SVG when the site is built.

A chart is a comment right under a block's shown output (the box the doc tests compare with
what the block prints), so the chart draws the numbers the tests check and cannot drift from
the code:

    <!-- chart: title="Training loss" x="step" y="loss" series="full; LoRA r=8"
         rows="^ *(?P<x>\\d+) +(?P<y0>[\\d.]+) +(?P<y1>[\\d.]+)$" points="6" -->

- ``rows``: a regular expression tried on every line of the output (``re.search``); each line
  it matches is a point: ``x`` and one group per series, ``y0``, ``y1``..., in order. A line it
  does not match is skipped (a header, a note), so the expression says which lines are data.
- ``series``: the names of the series, separated by ``;``, one per ``y`` group.
- ``points``: how many lines ``rows`` must match. A value that turns into ``nan`` or loses its
  digits no longer matches; the count makes that fail instead of a point quietly missing.
- ``kind``: ``line`` (the default; ``x`` is a number), ``bar`` (horizontal bars, one series;
  ``x`` is each bar's label) or ``grid`` (one small square picture per matched line, labelled
  by ``x``: ``y0`` holds the picture's n x n values, row by row, separated by spaces, as a
  convolution filter prints; each picture is scaled to its own largest magnitude, positive in
  the first series colour, negative in the second).
- ``title``, ``x``, ``y``: the caption and the axes' titles. ``note``: an optional sentence
  under the caption.

The SVG takes its colours from CSS variables (``docs/assets/stylesheets/extra.css``), so it
follows the light/dark toggle, and carries the title and every plotted number as its text
alternative. A chart that is not under a shown output, or whose expression matches another
number of lines than ``points`` says (or fewer than two), or a value that is not a number, fails
the build, naming the page and line.
"""

from __future__ import annotations

import html
import math
import re
import shlex
from dataclasses import dataclass

CHART_RE = re.compile(r"^(?P<indent>\s*)<!--\s*chart:(?P<spec>.*?)-->\s*$", re.S)
KEYS = {"title", "x", "y", "series", "rows", "points", "kind", "note"}
WIDTH, LINE_HEIGHT, BAR_ROW = 640, 300, 30  # SVG units: one CSS pixel at the column's width
FONT = 13  # px: the smallest text a reader sees in a chart (the browser test checks >= 12)
DASHES = ("", "7 4", "2 4", "10 3 2 3")  # series differ by dash too, not by colour alone
NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?", re.I)


class ChartError(ValueError):
    """A chart comment that cannot be drawn: the message says why."""


@dataclass(frozen=True)
class Chart:
    title: str
    x_title: str
    y_title: str
    series: tuple[str, ...]
    # (x as printed, one y per series, each y as printed)
    points: tuple[tuple[str, tuple[float, ...], tuple[str, ...]], ...]
    kind: str = "line"
    note: str = ""


def parse_spec(spec: str) -> dict[str, str]:
    """``key="value"`` pairs of a chart comment (shell quoting: a value may hold spaces)."""
    try:
        words = shlex.split(spec.replace("\n", " "), posix=True)
    except ValueError as error:
        raise ChartError(f"cannot read the chart's settings: {error}") from None
    fields = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or key not in KEYS:
            raise ChartError(f"unknown chart setting {word!r}; use {', '.join(sorted(KEYS))}")
        fields[key] = value
    missing = {"title", "rows", "series", "points"} - fields.keys()
    if missing:
        raise ChartError(f"the chart needs {', '.join(sorted(missing))}")
    return fields


def _number(text: str, where: str) -> float:
    if not NUMBER_RE.fullmatch(text.strip()):
        raise ChartError(f"{where}: {text!r} is not a number")
    return float(text.strip().replace(",", "").rstrip("%"))


def chart_from_output(spec: str, output: str) -> Chart:
    """The chart a comment's ``spec`` draws from a shown ``output``."""
    fields = parse_spec(spec)
    kind = fields.get("kind", "line")
    if kind not in ("line", "bar", "grid"):
        raise ChartError(f"kind must be line, bar or grid, got {kind!r}")
    series = tuple(name.strip() for name in fields["series"].split(";"))
    try:
        rows = re.compile(fields["rows"])
    except re.error as error:
        raise ChartError(f"rows is not a regular expression: {error}") from None
    if kind == "line" and len(series) > 1 and _legend_xs(series)[-1] - 24 > WIDTH:
        raise ChartError(
            f"the legend ({'; '.join(series)}) is wider than the chart: shorten the series' names"
        )
    groups = [f"y{i}" for i in range(len(series))]
    if set(rows.groupindex) != {"x", *groups}:
        raise ChartError(
            f"rows must have the groups x and {', '.join(groups)} (one per series), "
            f"has {sorted(rows.groupindex)}"
        )
    if kind in ("bar", "grid") and len(series) != 1:
        raise ChartError(f"a {kind} chart draws one series")
    if kind == "grid":
        return _grid_chart(fields, series, rows, output)
    points = []
    for line in output.split("\n"):
        m = rows.search(line)
        if m:
            x = m["x"].strip()
            if kind == "line":
                _number(x, f"x in {line.strip()!r}")
            ys = tuple(_number(m[g], f"{g} in {line.strip()!r}") for g in groups)
            points.append((x, ys, tuple(m[g].strip() for g in groups)))
    _check_count(points, fields)
    return Chart(
        fields["title"],
        fields.get("x", ""),
        fields.get("y", ""),
        series,
        tuple(points),
        kind,
        fields.get("note", ""),
    )


def _check_count(points: list, fields: dict[str, str]) -> None:
    """``rows`` matched as many lines as ``points`` says, and at least two."""
    if str(len(points)) != fields["points"].strip():
        raise ChartError(
            f"rows matches {len(points)} line(s) of the output, points says {fields['points']}"
        )
    if len(points) < 2:
        raise ChartError(f"rows matches {len(points)} line(s) of the output; a chart needs 2")


def _grid_chart(fields: dict[str, str], series: tuple[str, ...], rows, output: str) -> Chart:
    """A ``grid`` chart: each matched line's ``y0`` is a square picture's values."""
    points = []
    for line in output.split("\n"):
        m = rows.search(line)
        if m:
            texts = tuple(m["y0"].split())
            values = tuple(_number(t, f"a value in {line.strip()!r}") for t in texts)
            side = math.isqrt(len(values))
            if side < 2 or side * side != len(values):
                raise ChartError(
                    f"{line.strip()!r}: a grid line holds n x n values, n >= 2; it has "
                    f"{len(values)}"
                )
            if points and len(values) != len(points[0][1]):
                raise ChartError(f"{line.strip()!r}: every picture must have the same size")
            points.append((m["x"].strip(), values, texts))
    _check_count(points, fields)
    return Chart(
        fields["title"],
        fields.get("x", ""),
        "",
        series,
        tuple(points),
        "grid",
        fields.get("note", ""),
    )


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = first
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    return f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _describe(chart: Chart) -> str:
    """The chart's numbers in words: its text alternative."""
    if chart.kind == "grid":
        side = math.isqrt(len(chart.points[0][1]))
        return "; ".join(
            f"{label} ({side} by {side}, row by row): {' '.join(texts)}"
            for label, _, texts in chart.points
        )
    parts = []
    for i, name in enumerate(chart.series):
        values = ", ".join(f"{x}: {texts[i]}" for x, _, texts in chart.points)
        parts.append(f"{name} ({chart.x_title or 'x'}: {chart.y_title or 'y'}): {values}")
    return "; ".join(parts)


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{_esc(text)}</text>'


def _dash(i: int) -> str:
    """The stroke-dasharray attribute of series ``i`` (none for the first: a solid line)."""
    dash = DASHES[i % len(DASHES)]
    return f' stroke-dasharray="{dash}"' if dash else ""


def _legend_xs(series: tuple[str, ...]) -> list[float]:
    """Where each legend entry starts (a line sample, then its name), and where a next one
    would: the last value less the 24-unit gap is the legend's right edge."""
    xs = [64.0]
    for name in series:
        xs.append(xs[-1] + (32 + 7.8 * len(name) + 24))  # an entry, then the gap
    return xs


def _legend(series: tuple[str, ...], y: float) -> list[str]:
    out = []
    for i, (name, x) in enumerate(zip(series, _legend_xs(series), strict=False)):
        line = f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" class="s{i}"{_dash(i)}/>'
        out.append(line)
        out.append(_text(x + 32, y, name, "start"))
    return out


def _line_svg(chart: Chart) -> tuple[str, int]:
    left, right, top, bottom = 64, WIDTH - 16, 44, LINE_HEIGHT - 48
    xs = [_number(x, "x") for x, _, _ in chart.points]
    ys = [y for _, values, _ in chart.points for y in values]
    y_ticks = nice_ticks(min(0.0, min(ys)), max(ys))
    x_ticks = sorted(set(xs)) if len(set(xs)) <= 10 else nice_ticks(min(xs), max(xs))
    x_lo, x_hi = min(x_ticks[0], min(xs)), max(x_ticks[-1], max(xs))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return left + (x - x_lo) / ((x_hi - x_lo) or 1) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / ((y_hi - y_lo) or 1) * (bottom - top)

    out = []
    for t in y_ticks:
        out.append(
            f'<line x1="{left}" y1="{py(t):.1f}" x2="{right}" y2="{py(t):.1f}" class="grid"/>'
        )
        out.append(_text(left - 6, py(t) + 4, _label(t), "end"))
    for t in x_ticks:
        out.append(_text(px(t), bottom + 18, _label(t)))
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>')
    out.append(_text((left + right) / 2, bottom + 38, chart.x_title, cls="title"))
    out.append(
        f'<text x="14" y="{(top + bottom) / 2:.1f}" text-anchor="middle" class="title" '
        f'transform="rotate(-90 14 {(top + bottom) / 2:.1f})">{_esc(chart.y_title)}</text>'
    )
    for i, name in enumerate(chart.series):
        coords = [(px(x), py(p[1][i])) for x, p in zip(xs, chart.points, strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(f'<polyline points="{path}" class="s{i}"{_dash(i)}/>')
        for (x, y), (label, _, texts) in zip(coords, chart.points, strict=True):
            tip = f"{name}, {chart.x_title} {label}: {texts[i]}"
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="p{i}"><title>{_esc(tip)}'
                "</title></circle>"
            )
    if len(chart.series) > 1:  # one series is named by the y axis's title
        out += _legend(chart.series, 20)
    return "".join(out), LINE_HEIGHT


def _bar_svg(chart: Chart) -> tuple[str, int]:
    labels = [x for x, _, _ in chart.points]
    values = [v[0] for _, v, _ in chart.points]
    printed = [t[0] for _, _, t in chart.points]
    left = 16 + round(7.6 * max(len(label) for label in labels))
    right, top = WIDTH - 64, 12
    height = top + BAR_ROW * len(labels) + 44
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    lo, hi = ticks[0], ticks[-1]

    def px(v: float) -> float:
        return left + (v - lo) / ((hi - lo) or 1) * (right - left)

    out = []
    bottom = top + BAR_ROW * len(labels)
    for t in ticks:
        out.append(
            f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{bottom}" class="grid"/>'
        )
        out.append(_text(px(t), bottom + 18, _label(t)))
    for k, (label, value, text) in enumerate(zip(labels, values, printed, strict=True)):
        y = top + k * BAR_ROW
        x0, x1 = sorted((px(0.0 if lo <= 0 else lo), px(value)))
        out.append(_text(left - 8, y + BAR_ROW / 2 + 4, label, "end"))
        out.append(
            f'<rect x="{x0:.1f}" y="{y + 5}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{BAR_ROW - 10}" class="b0"><title>{_esc(f"{label}: {text}")}'
            "</title></rect>"
        )
        out.append(_text(x1 + 6, y + BAR_ROW / 2 + 4, text, "start"))
    out.append(_text((left + right) / 2, bottom + 38, chart.y_title, cls="title"))
    return "".join(out), height


GRID_TILE, GRID_GAP = 60, 16  # SVG units: a picture's side, and the space between two


def _grid_svg(chart: Chart) -> tuple[str, int]:
    side = math.isqrt(len(chart.points[0][1]))
    cell = GRID_TILE / side
    per_row = max(1, (WIDTH - GRID_GAP) // (GRID_TILE + GRID_GAP))
    row_height = GRID_TILE + 22  # the picture, then its label
    out = []
    for k, (label, values, texts) in enumerate(chart.points):
        x0 = GRID_GAP + (k % per_row) * (GRID_TILE + GRID_GAP)
        y0 = 8 + (k // per_row) * row_height
        scale = max(abs(v) for v in values) or 1.0
        out.append(f'<rect x="{x0}" y="{y0}" width="{GRID_TILE}" height="{GRID_TILE}" class="g"/>')
        for i, (value, text) in enumerate(zip(values, texts, strict=True)):
            klass = "b0" if value >= 0 else "b1"
            out.append(
                f'<rect x="{x0 + (i % side) * cell:.1f}" y="{y0 + (i // side) * cell:.1f}" '
                f'width="{cell:.1f}" height="{cell:.1f}" class="{klass}" '
                f'fill-opacity="{abs(value) / scale:.2f}"><title>{_esc(f"{label}: {text}")}'
                "</title></rect>"
            )
        out.append(_text(x0 + GRID_TILE / 2, y0 + GRID_TILE + 16, label))
    rows = -(-len(chart.points) // per_row)
    return "".join(out), 8 + rows * row_height


def render_svg(chart: Chart, ident: str) -> str:
    """The chart as a ``<figure>`` on one line: inline SVG, its caption and text alternative."""
    draw = {"bar": _bar_svg, "grid": _grid_svg}.get(chart.kind, _line_svg)
    body, height = draw(chart)
    caption = _esc(chart.title) + (f" <span>{_esc(chart.note)}</span>" if chart.note else "")
    return (
        f'<figure class="chart" id="{ident}">'
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" style="max-width: {WIDTH}px">'
        f'<title id="{ident}-title">{_esc(chart.title)}</title>'
        f'<desc id="{ident}-desc">{_esc(_describe(chart))}</desc>{body}</svg>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def render_charts(markdown: str, page: str) -> str:
    """A page's Markdown with each chart comment replaced by its figure (``render_svg``).

    Raises:
        ChartError: a chart not right under a shown output, or one that cannot be drawn; the
            message names the page and the comment's line.
    """
    from tools.pages import Expanded, scan_fences

    lines = markdown.split("\n")
    count = len(lines)
    fences = scan_fences(Expanded(page, tuple(lines), tuple(range(1, count + 1)), ("",) * count))
    outputs = {fence.span[1]: fence for fence in fences if fence.is_expected_output}
    out: list[str] = []
    i = charts = 0
    while i < count:
        if not lines[i].lstrip().startswith("<!-- chart:"):
            out.append(lines[i])
            i += 1
            continue
        end = i
        while end < count and "-->" not in lines[end]:
            end += 1
        where = f"docs/{page}:{i + 1}"
        m = CHART_RE.match("\n".join(lines[i : end + 1]))
        if not m:
            raise ChartError(f"{where}: a chart comment ends with --> on its last line")
        above = i - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above not in outputs:
            raise ChartError(
                f"{where}: a chart goes right under a block's shown output "
                "(<!--pytest-codeblocks:expected-output-->), so the tests check its numbers"
            )
        try:
            chart = chart_from_output(m["spec"], outputs[above].code)
        except ChartError as error:
            raise ChartError(f"{where}: {error}") from None
        charts += 1
        out += ["", m["indent"] + render_svg(chart, f"chart-{charts}"), ""]
        i = end + 1
    return "\n".join(out)
