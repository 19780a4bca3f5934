"""INT8 from scratch: absmax and zero-point, and why outliers call for blocks.

Run alone: python snippets/quantization/index/ex02_int8.py
"""

# --8<-- [start:absmax]
import torch

from ftkit.quant import (
    absmax_dequantize,
    absmax_quantize,
    zeropoint_dequantize,
    zeropoint_quantize,
)

x = torch.tensor([0.5, -1.2, 0.03, 2.4, -0.7])
q, absmax = absmax_quantize(x)
print(
    "absmax  ",
    round(absmax.item(), 4),
    "-> scale",
    round(127 / absmax.item(), 3),
)
print("codes   ", q.tolist())
print("restored", [round(v, 4) for v in absmax_dequantize(q, absmax).tolist()])

q, scale, zero = zeropoint_quantize(x)
print("zero-point codes", q.tolist(), "zero =", int(zero))
print(
    "restored        ",
    [round(v, 4) for v in zeropoint_dequantize(q, scale, zero).tolist()],
)
# --8<-- [end:absmax]

# --8<-- [start:outliers]
torch.manual_seed(0)
# a weight matrix: normal values, std 0.02
weight = 0.02 * torch.randn(256, 256)
weight[3, 7] = 1.5  # one outlier, 75 standard deviations out

for label, block in [
    ("one scale for the tensor", None),
    ("one scale per 64 values", 64),
]:
    q, absmax = absmax_quantize(weight, blocksize=block)
    error = (absmax_dequantize(q, absmax, blocksize=block) - weight).abs()
    zeros = (q == 0).float().mean().item()
    print(
        f"{label:<25} mean error {error.mean().item():.2e}   "
        f"codes rounded to 0: {zeros:.0%}"
    )
# --8<-- [end:outliers]
