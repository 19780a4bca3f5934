"""Latency of all-MiniLM-L6-v2 on the CPU in fp32, int8 (torch.ao) and NF4 (bitsandbytes).

The quantization chapter shows sizes and agreement; timings vary between machines, so they are
measured here and not in the doc tests. Models are timed in alternation, medians of 5 rounds.

Run: python benchmarks/quantized_cpu.py
"""

import runpy
import statistics
import time
from pathlib import Path

import torch

ROUNDS, REPEATS = 5, 10
torch.set_num_threads(2)  # the timings quoted on the page: two threads, the test machine's cores
page = runpy.run_path(str(Path(__file__).parents[1] / "snippets/quantization/index/ex05_local.py"))
models = {name: page[name] for name in ("fp32", "int8", "nf4")}
times = {name: [] for name in models}
for _ in range(ROUNDS):
    for name, model in models.items():
        start = time.perf_counter()
        for _ in range(REPEATS):
            page["embed"](model)
        times[name].append((time.perf_counter() - start) / REPEATS)
print(f"\n{torch.get_num_threads()} threads, 16 sentences per forward pass")
for name, values in times.items():
    ms = 1000 * statistics.median(values)
    ratio = statistics.median(values) / statistics.median(times["fp32"])
    print(f"{name:<5} {ms:7.1f} ms per batch   {ratio:4.2f} x fp32")
