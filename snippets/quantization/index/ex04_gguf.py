"""GGUF's quant types on a real weight, with the gguf package's own quantizers.

Run alone: python snippets/quantization/index/ex04_gguf.py
"""

# --8<-- [start:gguf]
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, quants
from transformers import AutoModelForCausalLM

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# 64 x 128
weight = model.model.layers[0].mlp.down_proj.weight.detach().numpy()

print(f"{'type':<6} {'block':>5} {'bits/weight':>11} {'RMS error':>10}")
for name in [
    "F16",
    "Q8_0",
    "Q5_0",
    "Q4_1",
    "Q4_0",
    "Q6_K",
    "Q5_K",
    "Q4_K",
    "Q3_K",
    "Q2_K",
]:
    kind = GGMLQuantizationType[name]
    # weights per block, bytes per block
    block, nbytes = GGML_QUANT_SIZES[kind]
    if name.endswith("_K"):
        # K-quant encoders live in llama.cpp; this package only decodes
        error = "llama.cpp"
    else:
        restored = quants.dequantize(quants.quantize(weight, kind), kind)
        error = f"{np.sqrt(np.mean((restored - weight) ** 2)):.5f}"
    print(f"{name:<6} {block:>5} {8 * nbytes / block:>11.4g} {error:>10}")
# --8<-- [end:gguf]
