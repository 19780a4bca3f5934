"""Merging: W0 + (alpha/r) B A becomes one matrix, so the adapter costs
nothing at inference.

Run alone: python snippets/peft/lora/ex03_merge.py
"""

# --8<-- [start:merge]
import torch
from transformers import AutoModelForCausalLM

from ftkit.lora import (
    LoRAError,
    inject_lora,
    merge_lora,
    unload_lora,
    unmerge_lora,
)
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
model = inject_lora(
    AutoModelForCausalLM.from_pretrained(MODEL_ID), "all-linear", r=8, alpha=16
)
# pretend we trained: random B, so the adapter changes the output
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("lora_B"):
            p.normal_(std=0.1, generator=torch.Generator().manual_seed(0))

ids = torch.randint(
    0,
    model.config.vocab_size,
    (1, 16),
    generator=torch.Generator().manual_seed(0),
)
with torch.no_grad():
    adapter = model(ids).logits  # W0 x + s B A x, two paths
    merge_lora(model)
    merged = model(ids).logits  # (W0 + s B A) x, one matmul per layer
    unmerge_lora(model)
    back = model(ids).logits
# Equal up to float32 rounding, whose last bits differ between CPUs: compare
# within 1e-4.
print(
    "merged == adapter (within 1e-4):  ",
    torch.allclose(merged, adapter, rtol=0, atol=1e-4),
)
print(
    "unmerged == adapter (within 1e-4):",
    torch.allclose(back, adapter, rtol=0, atol=1e-4),
)

merge_lora(model)
try:
    merge_lora(model)  # a second merge would add ΔW twice
except LoRAError as error:
    print("LoRAError:", error)

# merged weights, plain nn.Linear layers, no LoRA parameters left
plain = unload_lora(model)
print(
    type(plain.model.layers[0].self_attn.q_proj).__name__,
    f"{plain.num_parameters():,}",
)
# --8<-- [end:merge]
