"""The knob swap (tools/swap.py): every chapter runs, top to bottom, with each knob whose Colab
value is a hub id set to that model's stand-in (ftkit.standins), as a reader would edit it.

Outputs are not compared: a random stand-in prints other numbers. A block that raises fails its
page, naming the line. Only with ``--swap`` (``make test-swap``; CI runs it after ``make
test``): a second run of every chapter would double the time of ``make test``.
"""

from __future__ import annotations

import pytest

from tools.chapters import chapters
from tools.pages import page_name
from tools.swap import run_page, shorten, swap_code

pytestmark = pytest.mark.swap


@pytest.fixture(autouse=True)
def _only_with_swap(request):
    if not request.config.getoption("--swap") and request.node.get_closest_marker("slow_swap"):
        pytest.skip("the knob swap runs with --swap (make test-swap)")


@pytest.mark.slow_swap
@pytest.mark.parametrize("page", chapters(), ids=page_name)
def test_the_page_runs_with_its_knobs_swapped(page):
    problems, kept = run_page(page)
    reasons = "; ".join(f"{k.name} kept: {k.reason}" for k in kept)
    if problems is None:
        pytest.skip(f"nothing to swap ({reasons})")
    assert not problems, "\n".join(problems)


def test_a_knob_line_becomes_the_stand_in_of_its_colab_value():
    code = (
        "from ftkit.tiny import tiny_llama\n\n"
        'MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"\n'
        '# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"\n'
        "BASE_ID = tiny_llama(pretrain_steps=100)\n"
        'VLM_ID = tiny_vlm()  # Colab GPU: "llava-hf/llava-interleave-qwen-0.5b-hf"\n'
        "STEPS = 100  # Colab GPU: about one epoch\n"
        "MAX_STEPS = 20  # Colab GPU: 500\n"
        "RUNTIME = dict(use_cpu=True)  # Colab GPU: dict(fp16=True)\n"
        '# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct", or your own model\n'
        "RM_ID = tiny_llama()\n"
        "model = load(MODEL_ID)\n"
    )
    swapped, kept, changed = swap_code(code)
    assert changed
    assert swapped.split("\n") == [
        "from ftkit.standins import standin  # the knob swap (tools/swap.py)",
        "from ftkit.tiny import tiny_llama",
        "",
        "MODEL_ID = standin('meta-llama/Llama-3.2-1B-Instruct')",
        '# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"',
        "BASE_ID = standin('meta-llama/Llama-3.2-1B-Instruct')",
        "VLM_ID = standin('llava-hf/llava-interleave-qwen-0.5b-hf')",
        "STEPS = 100  # Colab GPU: about one epoch",
        "MAX_STEPS = 20  # Colab GPU: 500",
        "RUNTIME = dict(use_cpu=True)  # Colab GPU: dict(fp16=True)",
        '# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct", or your own model',
        "RM_ID = standin('meta-llama/Llama-3.2-1B-Instruct')",
        "model = load(MODEL_ID)",
        "",
    ]
    assert [(k.name, k.reason) for k in kept] == [
        ("STEPS", "its Colab value is advice, not a value"),
        ("MAX_STEPS", "a number for a real run; the tiny value suits the stand-in"),
        ("RUNTIME", "a setting for a GPU runtime; the swap runs on the CPU"),
    ]


def test_training_is_cut_to_two_steps_of_two_rows_and_nothing_else():
    code = (
        "STEPS = 100\nLOGGING_STEPS = 20\nBATCH = 16\nEVAL_BATCH_SIZE = 64\n"
        "c = Config(max_steps=400, steps=3, eval_steps=25, batch=8)\n"
        "N_NEW = 1200  # Colab GPU: 10000\nN_GPUS = 8  # try 16\nN_PARAMS = 13e9"
    )
    assert shorten(code) == (
        "STEPS = 2\nLOGGING_STEPS = 2\nBATCH = 2\nEVAL_BATCH_SIZE = 2\n"
        "c = Config(max_steps=2, steps=3, eval_steps=1, batch=8)\n"
        "N_NEW = 16  # Colab GPU: 10000\nN_GPUS = 8  # try 16\nN_PARAMS = 13e9"
    )


def test_a_hub_id_inside_a_colab_expression_becomes_its_stand_in():
    code = (
        '# Colab GPU: sentiment_classifier("google-bert/bert-base-uncased")\n'
        "TEACHER_ID = sentiment_classifier()\n"
        'T5_ID = tiny_t5()  # Colab GPU: "google/flan-t5-base"\n'
        'OTHER_ID = load()  # Colab GPU: load("org/model", note="é")\n'
    )
    swapped, kept, changed = swap_code(code)
    assert changed
    assert swapped.split("\n")[2:4] == [
        "TEACHER_ID = sentiment_classifier(standin('google-bert/bert-base-uncased'))",
        "T5_ID = standin('google/flan-t5-base')",
    ]
    assert [(k.name, k.reason) for k in kept] == [("OTHER_ID", "no stand-in for org/model yet")]
