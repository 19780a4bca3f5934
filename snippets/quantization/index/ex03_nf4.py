"""NF4 from scratch: the levels from normal quantiles, block-wise 4-bit
storage, parity with bitsandbytes, and double quantization's bit accounting.

Run alone: python snippets/quantization/index/ex03_nf4.py
"""

# --8<-- [start:levels]
import bitsandbytes.functional as bnb
import torch

from ftkit.quant import NF4_LEVELS, nf4_levels

derived = nf4_levels()
print("derived  ", [round(v, 4) for v in derived.tolist()])
print(
    "max |derived - QLoRA paper|:",
    f"{(derived - NF4_LEVELS).abs().max().item():.1e}",
)
print(
    "QLoRA paper == bitsandbytes:",
    torch.equal(NF4_LEVELS, bnb.get_4bit_type("nf4", "cpu")),
)
# --8<-- [end:levels]

# --8<-- [start:quantize]
from transformers import AutoModelForCausalLM

from ftkit.quant import absmax_dequantize, absmax_quantize, quantize_4bit
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# a trained weight, 64 x 128
weight = model.model.layers[0].mlp.down_proj.weight.detach()
print("weight", tuple(weight.shape), "std", round(weight.std().item(), 4))

ours = quantize_4bit(weight, "nf4", blocksize=64)
packed, state = bnb.quantize_4bit(weight, blocksize=64, quant_type="nf4")
print("bytes: fp32", weight.numel() * 4, "-> nf4", ours.nbytes())
print(
    "same codes as bitsandbytes:", torch.equal(ours.packed, packed.reshape(-1))
)
same_values = torch.equal(
    ours.dequantize(), bnb.dequantize_4bit(packed, state)
)
print("same values as bitsandbytes:", same_values)

# a uniform 4-bit grid, for comparison:
q, absmax = absmax_quantize(weight, blocksize=64)
int4 = absmax_dequantize(
    torch.round(q.float() / 127 * 7), absmax * 127 / 7, blocksize=64
)
fp4 = quantize_4bit(weight, "fp4").dequantize()
for name, restored in [
    ("nf4", ours.dequantize()),
    ("fp4", fp4),
    ("int4", int4),
]:
    rmse = (restored - weight).pow(2).mean().sqrt().item()
    print(f"{name}: RMS error {rmse:.5f}")
# --8<-- [end:quantize]

# --8<-- [start:double]
from ftkit.quant import scale_bits_per_weight

print(
    "scale bits per weight, fp32 absmax per 64:  ", scale_bits_per_weight(64)
)
print(
    "scale bits per weight, double-quantized:    ",
    round(scale_bits_per_weight(64, True), 4),
)
# Llama-3.1-8B's linear-layer weights, the ones QLoRA quantizes
# (ftkit.memory)
n = 6_979_321_856
saved = (
    n * (scale_bits_per_weight(64) - scale_bits_per_weight(64, True)) / 8 / 1e9
)
print(f"saved on an 8B model: {saved:.2f} GB")

# 4096 x 8192: many blocks
big = quantize_4bit(weight.repeat(64, 64), double_quant=True)
single = quantize_4bit(weight.repeat(64, 64))
print(
    "bits per weight stored:",
    round(single.nbytes() * 8 / weight.numel() / 4096, 3),
    "->",
    round(big.nbytes() * 8 / weight.numel() / 4096, 3),
)
change = (big.scales() - single.absmax).abs().max().item()
print(f"largest change in a block scale: {change:.1e}")
# --8<-- [end:double]
