"""Charts drawn from checked outputs (tools/charts.py): the numbers drawn are the output's, and
a chart that cannot be drawn fails the build naming its line."""

from __future__ import annotations

import re

import pytest

from tools.charts import ChartError, chart_from_output, nice_ticks, render_charts, render_svg
from tools.pages import pages

OUTPUT = """step       full  LoRA r=8
   0      3.234     3.234
  20      0.269     0.347
  40      0.139     0.296
trainable: full 139,840
"""
SPEC = (
    'title="Loss" x="step" y="loss" series="full; LoRA r=8" '
    r'rows="^ *(?P<x>\d+) +(?P<y0>[\d.]+) +(?P<y1>[\d.]+)$" points="3"'
)


def page_with(chart: str, output: str = OUTPUT) -> str:
    return (
        "```python\nprint('...')\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n"
        f"```text\n{output}```\n\n{chart}\n\nAfter.\n"
    )


def test_a_chart_plots_exactly_the_matching_lines_of_the_output():
    chart = chart_from_output(SPEC, OUTPUT)
    assert chart.series == ("full", "LoRA r=8")
    assert [(x, ys) for x, ys, _ in chart.points] == [
        ("0", (3.234, 3.234)),
        ("20", (0.269, 0.347)),
        ("40", (0.139, 0.296)),
    ]  # the header and the last line do not match `rows`: not data


def test_the_svg_carries_every_number_as_text_and_one_point_per_value():
    svg = render_svg(chart_from_output(SPEC, OUTPUT), "chart-1")
    assert svg.count("<circle") == 6 and svg.count("<polyline") == 2
    desc = re.search(r'<desc id="chart-1-desc">(.*?)</desc>', svg)[1]
    assert desc == (
        "full (step: loss): 0: 3.234, 20: 0.269, 40: 0.139; "
        "LoRA r=8 (step: loss): 0: 3.234, 20: 0.347, 40: 0.296"
    )
    assert 'role="img" aria-labelledby="chart-1-title chart-1-desc"' in svg
    assert "<figcaption>Loss</figcaption>" in svg and "\n" not in svg  # one Markdown line


def test_a_bar_chart_labels_each_bar_with_the_printed_value():
    spec = (
        'title="After" kind="bar" series="loss" rows="^(?P<x>\\S.*?) +(?P<y0>[\\d.]+)$" points="2"'
    )
    chart = chart_from_output(spec, "LoRA r=8   0.28\nVeRA r=64  1.10\n")
    svg = render_svg(chart, "chart-2")
    assert svg.count("<rect") == 2
    assert ">1.10</text>" in svg and "<title>VeRA r=64: 1.10</title>" in svg


GRID = """filters after training
filter 1   0.50 -0.25  0.00  1.00
filter 2  -0.10 -0.20 -0.30 -0.40
done
"""
GRID_SPEC = (
    'title="Filters" kind="grid" series="weight" '
    'rows="^filter (?P<x>\\d+) +(?P<y0>[-\\d. ]+)$" points="2"'
)


def test_a_grid_chart_draws_one_picture_per_line_scaled_to_its_largest_value():
    chart = chart_from_output(GRID_SPEC, GRID)
    assert [label for label, _, _ in chart.points] == ["1", "2"]
    assert chart.points[0][1] == (0.5, -0.25, 0.0, 1.0)
    svg = render_svg(chart, "chart-3")
    cells = re.findall(r'class="(b[01])" fill-opacity="([\d.]+)"><title>([^<]*)</title>', svg)
    assert len(cells) == 8  # 2 pictures of 2 x 2
    assert cells[:4] == [
        ("b0", "0.50", "1: 0.50"),  # positive: the first colour, scaled by 1.00
        ("b1", "0.25", "1: -0.25"),  # negative: the second
        ("b0", "0.00", "1: 0.00"),
        ("b0", "1.00", "1: 1.00"),
    ]
    assert cells[7] == ("b1", "1.00", "2: -0.40")  # each picture has its own scale
    desc = re.search(r'<desc id="chart-3-desc">(.*?)</desc>', svg)[1]
    assert desc.startswith("1 (2 by 2, row by row): 0.50 -0.25 0.00 1.00; 2 (2 by 2")


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("filter 1  0.1 0.2 0.3\nfilter 2  0.1 0.2 0.3\n", "holds n x n values, n >= 2; it has 3"),
        ("filter 1  0.1 0.2 0.3 0.4\nfilter 2  " + "0.1 " * 9 + "\n", "the same size"),
        ("filter 1  0.1 0.2 0.3 0.4\n", "rows matches 1 line.s. of the output, points says 2"),
    ],
)
def test_a_grid_chart_that_cannot_be_drawn_says_why(output, message):
    with pytest.raises(ChartError, match=message):
        chart_from_output(GRID_SPEC, output)


def test_the_page_gets_a_figure_where_the_comment_was():
    text = page_with(f"<!-- chart: {SPEC} -->")
    out = render_charts(text, "p.md")
    assert "<!-- chart:" not in out and out.count('<figure class="chart" id="chart-1">') == 1
    assert out.index("```text") < out.index("<figure") < out.index("After.")


def test_a_chart_spread_over_lines_in_a_tab_keeps_its_indent():
    body = page_with(f"<!-- chart: {SPEC.replace(' rows=', chr(10) + '     rows=')} -->")
    indented = "\n".join("    " + line if line else line for line in body.split("\n"))
    out = render_charts(indented, "p.md")
    assert '\n    <figure class="chart"' in out


@pytest.mark.parametrize(
    ("chart", "output", "message"),
    [
        ("<!-- chart: " + SPEC + " -->", None, None),  # the control: this one draws
        (
            "Text between.\n\n<!-- chart: " + SPEC + " -->",
            OUTPUT,
            r"docs/p.md:\d+: a chart goes right under a block's shown output",
        ),
        (
            '<!-- chart: title="T" series="a" rows="^(?P<x>\\d+) (?P<y0>\\d+)$" points="0" -->',
            OUTPUT,
            "rows matches 0 line",
        ),
        (  # a value that became nan no longer matches: the count catches it
            "<!-- chart: " + SPEC + " -->",
            OUTPUT.replace("0.269", "nan"),
            "rows matches 2 line.s. of the output, points says 3",
        ),
        (
            '<!-- chart: title="T" series="a; b" points="3" '
            'rows="^ *(?P<x>\\d+) +(?P<y0>[\\d.]+)" -->',
            OUTPUT,
            "rows must have the groups x and y0, y1",
        ),
        (
            '<!-- chart: title="T" series="a" rows="^ *(?P<x>\\S+) +(?P<y0>\\S+)" points="5" -->',
            OUTPUT,
            "x in 'step       full  LoRA r=8': 'step' is not a number",
        ),
        (
            "<!-- chart: "
            + SPEC.replace(
                "full; LoRA r=8",
                "full fine-tuning of all the layers; LoRA on every linear projection, rank 8",
            )
            + " -->",
            OUTPUT,
            "the legend .* is wider than the chart: shorten",
        ),
        ('<!-- chart: title="T" colour="red" -->', OUTPUT, "unknown chart setting 'colour=red'"),
        ('<!-- chart: title="T" series="a" -->', OUTPUT, "the chart needs points, rows"),
    ],
)
def test_a_chart_that_cannot_be_drawn_names_its_line(chart, output, message):
    text = page_with(chart, output or OUTPUT)
    if message is None:
        assert "<figure" in render_charts(text, "p.md")
        return
    with pytest.raises(ChartError, match=message):
        render_charts(text, "p.md")


def test_ticks_are_round_and_cover_the_data():
    assert nice_ticks(0, 3.234) == [0, 1, 2, 3, 4]
    assert nice_ticks(0, 94) == [0, 20, 40, 60, 80, 100]
    ticks = nice_ticks(0.026, 1.146)
    assert ticks[0] <= 0.026 and ticks[-1] >= 1.146


def test_every_chart_on_the_site_draws():
    """Each page's charts draw from its current outputs (the build would fail otherwise)."""
    drawn = comments = 0
    for page in pages():
        text = page.read_text(encoding="utf-8")
        comments += text.count("<!-- chart:")
        drawn += render_charts(text, page.name).count('<figure class="chart"')
    assert drawn == comments >= 13
