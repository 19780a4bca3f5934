"""The LoRA hyperparameter page's exercises: the scale at a new rank, and
counts that grow with the rank.

Run alone: python snippets/peft/lora-hyperparameters/ex02_exercises.py
"""

# --8<-- [start:keep_scale]
import math

import torch

from ftkit.lora import LoRALinear

# at r = 8, alpha = 16 and the original rule: s = 16 / 8 = 2
R = 64
alpha_plain = 2 * R  # alpha / r = 2
alpha_rs = 2 * math.sqrt(R)  # alpha / sqrt(r) = 2
for name, alpha, rs in [
    ("alpha / r", alpha_plain, False),
    ("rsLoRA", alpha_rs, True),
]:
    layer = LoRALinear(
        torch.nn.Linear(64, 64), r=R, alpha=alpha, use_rslora=rs
    )
    print(f"{name:<9}  alpha = {alpha:g}  scaling = {layer.scaling:g}")
# --8<-- [end:keep_scale]

# --8<-- [start:counts]
import copy

from transformers import AutoModelForCausalLM

from ftkit.lora import inject_lora
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# the page's counts at r = 8, scaled: a count is linear in r
RUNS = [
    (["q_proj", "k_proj", "v_proj", "o_proj"], 32, 7_168 * 32 // 8),
    (["all-linear"], 2, 16_384 * 2 // 8),
]
for targets, r, predicted in RUNS:
    model = inject_lora(copy.deepcopy(base), targets, r=r, alpha=2 * r)
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    name = "+".join(t[0] for t in targets) if len(targets) > 1 else targets[0]
    print(f"{name:<10} r={r:<3} predicted {predicted:>6,}  counted {n:>6,}")
# --8<-- [end:counts]
