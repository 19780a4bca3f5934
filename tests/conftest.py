"""Settings every test process shares (each pytest-xdist worker loads this file), and the
``--page-times`` report.

The numerical contract (``tools/outputs.py``) pins one torch thread per process, so a page prints
the same digits whatever the machine's core count; ``make test`` runs one process per core. The
libraries that start threads of their own (OpenMP in bitsandbytes' CPU kernels, the Rust
tokenizers) get one thread too, unless the environment already says otherwise (the stand-in
hosts of ``tools/hosts.py`` set ``OMP_NUM_THREADS`` themselves): two workers on two cores must
not each start a thread per core.
"""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tools.outputs import pin_threads  # noqa: E402
from tools.pages import BLOCK_BUDGET_S, WARNING_FILTERS  # noqa: E402

PAGE_RE = re.compile(r"test_docs\.py::test_block\[(?P<page>[^:\]]+\.md)")
SITE_TESTS = "tests/test_site.py::"  # one process builds the site and drives the browser


def process_group(nodeid: str) -> str:
    """The tests that must share one process: a page's blocks (each runs on what the blocks
    above it left), and the browser tests (one site build, one browser). Any other test is a
    group of its own."""
    page = PAGE_RE.search(nodeid)
    if page:
        return f"page {page['page']}"
    return "site" if nodeid.startswith(SITE_TESTS) else nodeid


def pytest_xdist_make_scheduler(config, log):
    """``-n N`` (``--dist load``, xdist's default) and ``--dist loadgroup``: groups, read from
    the test ids by ``process_group``, dealt out whole to the processes.

    Not xdist's ``xdist_group`` marks: xdist appends them to each node id, which pytest 9.2 no
    longer lets a plugin do, so the marks are dropped without a word and a page's blocks are
    dealt out to both processes, each re-running the blocks above its share
    (pytest-dev/pytest-xdist#1386). ``test_docs`` fails if a page is split all the same.
    """
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ProcessGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return process_group(nodeid)

    return ProcessGroupScheduling(config, log)


# The longest groups first (process_group's names), so that the two processes of `make test`
# finish together. Seconds, from `make test --page-times` on a fresh clone, 2026-12-01. A group
# not listed starts after these, in collection order. The site comes second: it needs no model,
# so the second process works while the first builds the base model every chapter shares (with
# a chapter there, it would wait on the build's lock for half a minute).
LONGEST_FIRST = (
    "page rlhf/dpo-grpo.md",  # 173
    "site",  # 202: the build and the browser
    "page sft/reasoning.md",  # 114
    "page structured-output/index.md",  # 99
    "page embeddings/index.md",  # 74
    "page sft/unsloth.md",  # 72
    "page distillation/index.md",  # 66, with its reasoning teacher's build
    "page quantization/qlora.md",  # 62
    "page vlm/index.md",  # 60
    "page multi-device/index.md",  # 48: three torchrun launches, 6 Python processes
    "page before-llms/index.md",  # 38
    "page rlhf/index.md",  # 38
    "page bert-t5/index.md",  # 36
    "page peft/lora-hyperparameters.md",  # 25
    "page peft/index.md",  # 23
    "page before-llms/rnns-to-transformers.md",  # 22
    "page deployment/index.md",  # 22, with llama.cpp through node-llama-cpp
)


def pytest_addoption(parser):
    parser.addoption(
        "--page-times",
        action="store_true",
        help="at the end, print the time spent on each page's blocks and each other test file",
    )
    parser.addoption(
        "--swap",
        action="store_true",
        help="run every chapter with its knobs set to stand-ins (tests/test_swap.py)",
    )
    parser.addoption(
        "--frameworks",
        action="store_true",
        help="run the blocks marked <!-- framework: ... -->, in the frameworks' own "
        "environments (make test-frameworks)",
    )


def _rank(item) -> int:
    group = process_group(item.nodeid)
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    """Longest groups first (``make test`` keeps this order: --no-loadscope-reorder); the sort
    is stable, so the blocks of a page stay in page order."""
    items.sort(key=_rank)


def pytest_configure(config):
    pin_threads()
    for spec in WARNING_FILTERS:  # one list for the tests and the tools (tools/pages.py)
        config.addinivalue_line("filterwarnings", spec)
    config._page_times_start = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Seconds per page (doc tests) or per test file (the rest), slowest first, and the total."""
    if not config.getoption("--page-times"):
        return
    totals: dict[str, float] = defaultdict(float)
    over: list[tuple[float, str]] = []  # blocks over the per-block budget
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not hasattr(report, "duration") or not hasattr(report, "nodeid"):
                continue
            m = PAGE_RE.search(report.nodeid)
            totals[f"docs/{m['page']}" if m else report.nodeid.split("::")[0]] += report.duration
            if m and report.when == "call" and report.duration > BLOCK_BUDGET_S:
                over.append((report.duration, report.nodeid.split("[")[-1].rstrip("]")))
    write = terminalreporter.write_line
    terminalreporter.section("time per page and test file (seconds, all processes)")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:20]:
        write(f"{seconds:8.1f}  {name}")
    write(f"{sum(totals.values()):8.1f}  in all tests, over all processes")
    write(f"{time.time() - config._page_times_start:8.1f}  wall clock of this pytest run")
    for seconds, block in sorted(over, reverse=True):
        write(f"{seconds:8.1f}  {block}: over the budget of {BLOCK_BUDGET_S} s a block")
