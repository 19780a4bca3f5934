"""Benchmark: ftkit's LoRA layer against peft's, forward + backward, on the same shapes.

Both wrap the same frozen ``nn.Linear`` and hold the same A and B; the script first checks the
outputs agree, then times ``layer(x).sum().backward()`` with ``torch.utils.benchmark`` (which
warms up and picks the repeat count). The two layers are timed in alternation, ROUNDS times
each, and the medians compared, so drift in the machine's speed hits both alike. It prints
ftkit's time as a ratio of peft's: below 1.0, ftkit is faster. The goal is at most 1.05.

Run: python benchmarks/lora_vs_peft.py [--threads N] [--dora]
"""

from __future__ import annotations

import argparse
import copy
import statistics

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from torch.utils import benchmark

from ftkit.lora import DoRALinear, LoRALinear

# (tokens, in_features, out_features): from the tiny model's size to a 7B attention projection
SHAPES = [(512, 64, 64), (512, 512, 512), (512, 2048, 2048), (512, 4096, 4096), (256, 4096, 14336)]
RANK, ALPHA = 16, 32
ROUNDS = 3


def peft_layer(base: nn.Linear, use_dora: bool) -> nn.Module:
    """peft's own layer, made the way get_peft_model makes it."""
    wrapper = nn.Sequential()
    wrapper.add_module("proj", base)
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=["proj"], use_dora=use_dora)
    return get_peft_model(wrapper, config).base_model.model.proj


def time_fwd_bwd(layer: nn.Module, x: torch.Tensor) -> float:
    """Median seconds of one forward + backward."""
    timer = benchmark.Timer(
        stmt="layer(x).sum().backward()",
        globals={"layer": layer, "x": x},
        num_threads=torch.get_num_threads(),
    )
    return timer.blocked_autorange(min_run_time=1.0).median


def alternating_medians(a: nn.Module, b: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Median seconds of a and of b, measured a, b, a, b, ... ROUNDS times each."""
    times_a, times_b = [], []
    for _ in range(ROUNDS):
        times_a.append(time_fwd_bwd(a, x))
        times_b.append(time_fwd_bwd(b, x))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--dora", action="store_true", help="compare DoRA instead of LoRA")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kind = "DoRA" if args.dora else "LoRA"
    print(f"{kind} r={RANK}, fp32, {args.threads} threads, torch {torch.__version__}")
    print(f"{'tokens x in -> out':>24}  {'peft ms':>9}  {'ftkit ms':>9}  {'ratio':>6}")
    for tokens, d_in, d_out in SHAPES:
        torch.manual_seed(0)
        base = nn.Linear(d_in, d_out, bias=False).requires_grad_(False)
        cls = DoRALinear if args.dora else LoRALinear
        ours = cls(copy.deepcopy(base), r=RANK, alpha=ALPHA)
        theirs = peft_layer(copy.deepcopy(base), args.dora)
        with torch.no_grad():  # same A, B (and m): the two layers compute the same function
            ours.lora_B.normal_(0, 0.02)
            theirs.lora_A["default"].weight.copy_(ours.lora_A)
            theirs.lora_B["default"].weight.copy_(ours.lora_B)
        x = torch.randn(tokens, d_in)
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-4)
        t_peft, t_ours = alternating_medians(theirs, ours, x)
        shape = f"{tokens} x {d_in} -> {d_out}"
        print(f"{shape:>24}  {1e3 * t_peft:9.3f}  {1e3 * t_ours:9.3f}  {t_ours / t_peft:6.2f}")


if __name__ == "__main__":
    main()
