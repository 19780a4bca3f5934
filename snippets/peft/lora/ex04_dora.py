"""DoRA from scratch against peft's use_dora=True: magnitude and direction.

Run alone: python snippets/peft/lora/ex04_dora.py
"""

# --8<-- [start:check]
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from ftkit.lora import DoRALinear
from ftkit.tiny import tiny_llama

torch.manual_seed(0)
# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# 64 -> 32 (grouped-query attention)
v_proj = base.model.layers[0].self_attn.v_proj

ours = DoRALinear(v_proj, r=4, alpha=8)
print(
    "m starts as the row norms of W0:",
    torch.allclose(ours.lora_magnitude, v_proj.weight.norm(dim=1)),
)
# pretend we trained: new B, and magnitudes scaled by 0.5 to 1.5
with torch.no_grad():
    ours.lora_B.normal_(std=0.1)
    ours.lora_magnitude.mul_(0.5 + torch.rand(v_proj.out_features))

theirs = get_peft_model(
    base,
    LoraConfig(r=4, lora_alpha=8, target_modules=["v_proj"], use_dora=True),
)
layer = theirs.base_model.model.model.layers[0].self_attn.v_proj
with torch.no_grad():
    layer.lora_A["default"].weight.copy_(ours.lora_A)
    layer.lora_B["default"].weight.copy_(ours.lora_B)
    layer.lora_magnitude_vector["default"].weight.copy_(ours.lora_magnitude)

x = torch.randn(5, v_proj.in_features)  # 5 tokens
print(
    "ftkit == peft (within 1e-5):",
    torch.allclose(ours(x), layer(x), rtol=0, atol=1e-5),
)
W = v_proj.weight + ours.delta_weight()  # the paper's formula, written out
by_formula = (
    x @ (ours.lora_magnitude[:, None] * W / W.norm(dim=1, keepdim=True)).T
)
print(
    "ftkit == m * (W0 + BA) / ||W0 + BA|| (within 1e-5):",
    torch.allclose(ours(x), by_formula, rtol=0, atol=1e-5),
)
# --8<-- [end:check]
