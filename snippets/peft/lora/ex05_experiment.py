"""The experiment: full fine-tuning against LoRA on the same task, then the
rank of full ΔW.

Run alone: python snippets/peft/lora/ex05_experiment.py
"""

# --8<-- [start:train]
import copy

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.chat import chat_batch, faq
from ftkit.lora import inject_lora
from ftkit.tiny import tiny_llama
from ftkit.train import loss_curve

# A base model that has read the guide's sentences.
# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
STEPS = 100

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
batch = chat_batch(tokenizer, faq())  # 12 questions; loss on the answers only


def train(model, lr: float) -> list[float]:
    """AdamW on whatever is trainable; returns the loss before each step and at
    the end."""
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr
    )
    return loss_curve(model, batch, optimizer, STEPS)


full = copy.deepcopy(base)  # every weight trains
torch.manual_seed(0)  # A's random init
# A and B train
lora = inject_lora(copy.deepcopy(base), "all-linear", r=8, alpha=16)
curves = {"full": train(full, lr=1e-3), "LoRA r=8": train(lora, lr=1e-2)}

print("step " + "".join(f"{name:>10}" for name in curves))
for step in range(0, STEPS + 1, 20):
    print(
        f"{step:>4} " + "".join(f"{c[step]:>10.3f}" for c in curves.values())
    )
n_trainable = {
    name: sum(p.numel() for p in m.parameters() if p.requires_grad)
    for name, m in [("full", full), ("LoRA r=8", lora)]
}
print("trainable:", ", ".join(f"{k} {v:,}" for k, v in n_trainable.items()))
# --8<-- [end:train]


# --8<-- [start:rank]
def energy_rank(delta: torch.Tensor, share: float = 0.9) -> int:
    """How many singular directions hold `share` of the squared Frobenius norm
    of a matrix."""
    s = torch.linalg.svdvals(delta)
    energy = (s**2).cumsum(0) / (s**2).sum()
    return int((energy < share).sum()) + 1


torch.manual_seed(0)
print(
    f"{'matrix':<24} {'shape':>9} {'rank 90%':>9} "
    f"{'random':>7} {'top-8 energy':>13}"
)
for name in [
    "layers.0.self_attn.q_proj",
    "layers.1.self_attn.v_proj",
    "layers.0.mlp.up_proj",
    "layers.1.mlp.down_proj",
]:
    w0 = base.model.get_submodule(name).weight
    # what full fine-tuning did
    delta = (full.model.get_submodule(name).weight - w0).detach()
    # a matrix of the same shape with no structure
    noise = torch.randn_like(delta)
    s = torch.linalg.svdvals(delta)
    top8 = (s[:8] ** 2).sum() / (s**2).sum()
    shape = "x".join(map(str, delta.shape))
    print(
        f"{name:<24} {shape:>9} {energy_rank(delta):>9} "
        f"{energy_rank(noise):>7} {top8:>13.0%}"
    )
# --8<-- [end:rank]


# --8<-- [start:truncate]
def truncated(delta: torch.Tensor, k: int) -> torch.Tensor:
    """The best rank-k approximation of a matrix (Eckart-Young): keep the top
    k singular values."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    return u[:, :k] @ torch.diag(s[:k]) @ vh[:k]


print("rank kept in every ΔW   loss")
for k in [0, 1, 2, 4, 8, 16, 64]:
    model = copy.deepcopy(full)
    with torch.no_grad():
        for name, module in model.model.layers.named_modules():
            if isinstance(module, torch.nn.Linear):
                w0 = base.model.layers.get_submodule(name).weight
                module.weight.copy_(w0 + truncated(module.weight - w0, k))
        print(f"{k:>20}   {model(**batch).loss.item():.3f}")
# --8<-- [end:truncate]
