"""tools/hosts.py: the spread report flags what moved between stand-in hosts, and by how much."""

from __future__ import annotations

from tools.hosts import HOSTS, report
from tools.pages import DOCS, runnable_blocks

PAGE = "how-this-guide-works.md"


def _block_with_tolerance():
    return next(
        b for b in runnable_blocks(DOCS / PAGE) if b.expected_output and b.expected_output.tolerance
    )


def test_the_report_flags_moved_numbers_and_changed_text():
    block = _block_with_tolerance()
    shown = block.expected_output.text
    last = shown.rstrip("\n").split("\n")[-1]  # "torch.sum, float32:     998.5705"
    value = float(last.split()[-1])
    runs = {
        "same": {PAGE: {str(block.line): shown}},
        "within": {
            PAGE: {str(block.line): shown.replace(last.split()[-1], f"{value + 0.0005:.4f}")}
        },
        "beyond": {PAGE: {str(block.line): shown.replace(last.split()[-1], f"{value + 0.01:.4f}")}},
        "text": {PAGE: {str(block.line): shown.replace("exact", "EXACT")}},
    }
    lines = report([PAGE], runs)
    assert lines[0] == f"docs/{PAGE}:{block.line} (tolerance: decimals by up to ±0.001)"
    body = "\n".join(lines[1:])
    assert "same:" not in body  # a host that printed the page's output is not mentioned
    assert "within: output line 4:" in body and "OUTSIDE" not in body.split("beyond")[0]
    assert "beyond: output line 4:" in body and body.split("beyond")[1].split("\n")[0].endswith(
        "OUTSIDE"
    )
    assert "text: the text differs" in body


def test_the_stand_in_hosts_leave_threads_to_the_harness():
    assert HOSTS["plain"] == {}
    assert HOSTS["avx2"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert HOSTS["threads1"] == {"OMP_NUM_THREADS": "1"}
