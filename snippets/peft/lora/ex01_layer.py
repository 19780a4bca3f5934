"""The LoRA layer from scratch (ftkit.lora.LoRALinear), tried on one
Llama-8B-sized projection.

Run alone: python snippets/peft/lora/ex01_layer.py
"""

# --8<-- [start:one_layer]
import torch
from torch import nn

from ftkit.lora import LoRALinear  # the class above, as the package ships it

torch.manual_seed(0)
# the shape of Llama-3.1-8B's query projection
q_proj = nn.Linear(4096, 4096, bias=False)
q_proj.requires_grad_(False)  # frozen: the pretrained W0
layer = LoRALinear(q_proj, r=16, alpha=32)

full = q_proj.weight.numel()
lora = layer.lora_A.numel() + layer.lora_B.numel()
print(f"W0: {full:,} numbers; A and B: {lora:,} ({100 * lora / full:.2f}%)")
print(
    f"A {tuple(layer.lora_A.shape)}, B {tuple(layer.lora_B.shape)}, "
    f"scaling {layer.scaling}"
)

x = torch.randn(3, 4096)  # 3 tokens
print("same output as W0 at step 0:", torch.equal(layer(x), q_proj(x)))

layer(x).pow(2).sum().backward()  # any loss
print(f"grad of A: {layer.lora_A.grad.abs().max():.3f} (zero, because B = 0)")
print(
    f"grad of B: {layer.lora_B.grad.abs().max():.3f} "
    "(not zero: B moves first, then A)"
)
# --8<-- [end:one_layer]
