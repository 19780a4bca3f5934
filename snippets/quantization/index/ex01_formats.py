"""Number formats side by side: bits, largest value, precision near 1.

Run alone: python snippets/quantization/index/ex01_formats.py
"""

# --8<-- [start:formats]
import torch

from ftkit.quant import FP4_LEVELS, NF4_LEVELS

print(
    f"{'format':<9} {'bits':>4} {'largest':>10} {'min normal':>11} "
    f"{'smallest > 0':>13} {'step after 1.0':>15}"
)
for name, dtype in [
    ("fp32", torch.float32),
    ("bf16", torch.bfloat16),
    ("fp16", torch.float16),
    ("fp8 e4m3", torch.float8_e4m3fn),
]:
    # tiny: the smallest normal number; eps: the gap after 1.0
    info = torch.finfo(dtype)
    # below tiny, subnormals step down by tiny * eps to 0
    subnormal = info.tiny * info.eps
    print(
        f"{name:<9} {info.bits:>4} {info.max:>10.4g} {info.tiny:>11.3g} "
        f"{subnormal:>13.3g} {info.eps:>15.3g}"
    )
for name, bits in [("int8", 8), ("int4", 4)]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    print(
        f"{name:<9} {bits:>4} {high:>10} {'':>11} {1:>13} {1:>15}   "
        f"integers {low}..{high}"
    )
for name, levels in [("nf4", NF4_LEVELS), ("fp4", FP4_LEVELS)]:
    smallest = levels[levels > 0].min().item()
    print(
        f"{name:<9} {4:>4} {'absmax':>10} {'':>11} {smallest:>13.4f} "
        f"{'':>15}   {len(levels)} levels in [-1, 1] x block absmax"
    )
# --8<-- [end:formats]
