"""The numerical contract (``tools/outputs.py``): what may differ between machines, and what not."""

from __future__ import annotations

import pytest

from tools.outputs import Tolerance, ToleranceError, mismatches, tokens, tolerance_note

PAGE = "docs/demo.md"


def check(shown: str, printed: str, spec: str | None = None) -> list[str]:
    return mismatches(shown, printed, Tolerance.parse(spec) if spec else None, PAGE, 10)


def test_numbers_are_read_as_a_page_prints_them():
    text = "step 100  loss 1.139  96%  139,840  -0.5  1.2e-04 [0.5, 0.45]"
    _, numbers = tokens(text)
    assert [(n.text, n.kind, n.unit) for n in numbers] == [
        ("100", "integer", 1),
        ("1.139", "decimal", 0.001),
        ("96%", "percent", 1),
        ("139,840", "integer", 1),
        ("-0.5", "decimal", 0.1),
        ("1.2e-04", "decimal", pytest.approx(1e-5)),
        ("0.5", "decimal", 0.1),
        ("0.45", "decimal", 0.01),
    ]
    assert numbers[3].value == 139840


def test_versions_names_and_units_are_text():
    texts, numbers = tokens("Llama-3.2-1B torch 2.13.0 fp16 0.5s 64x64 gpt2")
    assert numbers == [] and texts == ["Llama-3.2-1B torch 2.13.0 fp16 0.5s 64x64 gpt2"]


def test_the_last_digit_may_differ_by_one():
    assert check("loss 3.234, exact match 96%", "loss 3.233, exact match 97%") == []
    assert check("diff 4.6e-06", "diff 4.7e-06") == []


def test_more_than_the_last_digit_fails_naming_line_values_and_tolerance():
    (problem,) = check("a\nloss 3.234", "a\nloss 3.230")
    assert problem == (
        "docs/demo.md:11: shown 3.234, printed 3.230, off by 0.004; "
        "allowed 0.001: one unit of the last shown digit"
    )
    (problem,) = check("x 96%", "x 94%")
    assert "shown 96%, printed 94%" in problem


def test_integers_are_exact_whatever_the_tolerance():
    (problem,) = check("rows 1200, step 50", "rows 1201, step 50", "±50%, ±100 points")
    assert "shown 1200, printed 1201" in problem and "integers must match exactly" in problem


def test_a_tolerance_widens_decimals_and_percentages():
    assert check("loss 0.305", "loss 0.287", "±7%") == []
    assert check("loss 0.305", "loss 0.287", "±0.02") == []
    (problem,) = check("loss 0.305", "loss 0.287", "±5%")
    assert "this output's tolerance is decimals by up to ±5%" in problem
    assert check("exact match 64%", "exact match 70%", "±6 points") == []
    assert check("exact match 64%", "exact match 71%", "±6 points") != []
    assert check("exact match 64%", "exact match 70%", "±10%") != []  # relative: decimals only


def test_changed_text_fails_with_a_diff():
    (problem,) = check("answer: 8", "answer: eight")
    assert problem.startswith("docs/demo.md:10: the printed text differs")
    assert "-answer: 8" in problem and "+answer: eight" in problem
    assert check("a  b 1\n", "a b 1") == []  # runs of spaces (column padding) and blank ends


def test_a_number_that_became_text_is_a_text_change():
    assert check("loss 0.5", "loss nan") != []
    assert check("ratio 2", "ratio 2.0") != []  # an integer printed as a decimal


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "gives no value"),
        ("±", "is not ±X"),
        ("3 apples", "is not ±X"),
        ("±3%, ±4%", "repeats the relative tolerance"),
    ],
)
def test_a_tolerance_without_a_value_is_refused(spec, message):
    with pytest.raises(ToleranceError, match=message):
        Tolerance.parse(spec)


def test_the_note_says_what_varies_and_links_the_contract():
    tolerance = Tolerance.parse("±3%, ±0.02, ±4 points")
    assert tolerance == Tolerance(absolute=0.02, relative=0.03, points=4)
    note = tolerance_note(tolerance, "sft/reasoning.md")
    assert "decimals by up to ±3% or ±0.02, whichever is larger; percentages by up to ±4" in note
    assert "(../how-this-guide-works.md#numbers-that-vary-between-machines)" in note
    assert "(how-this-guide-works.md#" in tolerance_note(tolerance, "index.md")
