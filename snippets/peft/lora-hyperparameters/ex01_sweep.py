"""A LoRA hyperparameter sweep on the tiny task: rank, alpha, learning rate
and target modules.

Run alone (this is the command that regenerates the tables on the page):
    python snippets/peft/lora-hyperparameters/ex01_sweep.py
"""

# --8<-- [start:setup]
import copy
import functools

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.chat import chat_batch, faq
from ftkit.lora import inject_lora
from ftkit.tiny import tiny_llama
from ftkit.train import loss_curve

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
STEPS = 40  # short on purpose: the differences between settings show early

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
batch = chat_batch(tokenizer, faq())


@functools.cache  # a setting that appears in two tables is trained once
def final_loss(
    r=8, alpha=16, lr=3e-3, targets=("all-linear",), use_rslora=False
) -> float:
    """Train a fresh LoRA for STEPS AdamW steps; return the training loss at
    the end."""
    # the same A initialisation for every run of the same shape
    torch.manual_seed(0)
    model = inject_lora(
        copy.deepcopy(base),
        list(targets),
        r=r,
        alpha=alpha,
        use_rslora=use_rslora,
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr
    )
    return loss_curve(model, batch, optimizer, STEPS)[-1]


START = base(**batch).loss.item()
print(f"loss before training: {START:.3f}")
# --8<-- [end:setup]

# --8<-- [start:lr]
RANKS = [2, 8, 32]
LRS = [1e-3, 3e-3, 1e-2, 3e-2]


def cell(loss: float, width: int) -> str:
    """The final loss, or "diverged" when it ended above where it started."""
    return f"{loss:>{width}.3f}" if loss < START else f"{'diverged':>{width}}"


print("alpha = 2r" + "".join(f"{f'lr {lr:g}':>11}" for lr in LRS))
for r in RANKS:
    print(
        f"r = {r:<6}"
        + "".join(cell(final_loss(r, 2 * r, lr), 11) for lr in LRS)
    )
# --8<-- [end:lr]

# --8<-- [start:alpha]
rules = {
    "alpha = 16 (s = 16/r)": lambda r: final_loss(r, 16, 3e-3),
    "alpha = 2r (s = 2)": lambda r: final_loss(r, 2 * r, 3e-3),
    "rsLoRA 16 (s = 16/√r)": lambda r: final_loss(
        r, 16, 3e-3, use_rslora=True
    ),
}
print(f"{'lr 3e-3':<22}" + "".join(f"{f'r = {r}':>9}" for r in RANKS))
for rule, run in rules.items():
    print(f"{rule:<22}" + "".join(cell(run(r), 9) for r in RANKS))
# --8<-- [end:alpha]

# --8<-- [start:targets]
for targets in [
    ("q_proj", "v_proj"),
    ("q_proj", "k_proj", "v_proj", "o_proj"),
    ("all-linear",),
]:
    model = inject_lora(copy.deepcopy(base), list(targets), r=8, alpha=16)
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    name = "+".join(t[0] for t in targets) if len(targets) > 1 else targets[0]
    print(
        f"{name:<12} r=8  {n:>6,} trainable  "
        f"loss {final_loss(8, 16, 1e-2, targets):.3f}"
    )
# --8<-- [end:targets]
