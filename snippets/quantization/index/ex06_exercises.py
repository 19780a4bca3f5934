"""The quantization chapter's exercises: bytes before and after, by hand
and by ftkit.

Run alone: python snippets/quantization/index/ex06_exercises.py
"""

# --8<-- [start:seven_b]
from ftkit.quant import scale_bits_per_weight

N = 7_000_000_000  # a 7B model, every weight quantized
bits = {
    "bf16": 16,
    "nf4, fp32 absmax per 64": 4 + scale_bits_per_weight(64),
    "nf4, double-quantized": 4 + scale_bits_per_weight(64, True),
}
for name, per_weight in bits.items():
    print(
        f"{name:24} {per_weight:9.6f} bits  {N * per_weight / 8 / 1e9:5.2f} GB"
    )
# --8<-- [end:seven_b]

# --8<-- [start:blocksize]
import torch

from ftkit.quant import quantize_4bit

torch.manual_seed(0)
# a weight-like tensor: 8,192 numbers around 0
w = torch.randn(64, 128) * 0.04
errors = {}
for blocksize in (32, 64, 256):
    q = quantize_4bit(w, blocksize=blocksize)
    errors[blocksize] = (q.dequantize() - w).pow(2).mean().sqrt().item()
    print(f"blocksize {blocksize:3}: {q.nbytes():,} bytes")
print("error grows with the block:", errors[32] < errors[64] < errors[256])
# --8<-- [end:blocksize]
