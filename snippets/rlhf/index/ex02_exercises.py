"""The preferences chapter's exercises: the reward model's loss by hand,
and the pairs a ranked tree gives.

Run alone: python snippets/rlhf/index/ex02_exercises.py
"""

# --8<-- [start:bt]
import math

import torch

from ftkit.losses import bradley_terry_loss

chosen, rejected = 1.5, -0.5  # the reward model's scores of one pair
loss = bradley_terry_loss(torch.tensor([chosen]), torch.tensor([rejected]))
swapped = bradley_terry_loss(torch.tensor([rejected]), torch.tensor([chosen]))
p_win = 1 / (1 + math.exp(-(chosen - rejected)))  # Bradley-Terry
print(f"P(chosen wins) = {p_win:.4f}")
print(f"by hand {-math.log(p_win):.4f}  ftkit {loss.item():.4f}")
print(f"scores the wrong way round: {swapped.item():.4f}")
# --8<-- [end:bt]

# --8<-- [start:tree]
import itertools
import json
import tempfile
from pathlib import Path

from ftkit.validation import validate_file

prompt = [{"role": "user", "content": "What does LoRA train?"}]
RANKED = [  # sibling replies, best first, as OASST1's ranks order them
    "Two small low-rank matrices per layer.",
    "Low-rank matrices.",
    "Some extra weights.",
    "The whole model.",
]
pairs = [
    {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": better}],
        "rejected": [{"role": "assistant", "content": worse}],
    }
    for better, worse in itertools.combinations(RANKED, 2)
]
print(f"{len(RANKED)} ranked replies -> {len(pairs)} pairs")
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "tree.jsonl"
    path.write_text("".join(json.dumps(pair) + "\n" for pair in pairs))
    report = validate_file(path, task="preference")
print(f"{len(report.rows)} good, {len(report.errors)} errors")
chosen_count = [
    sum(p["chosen"][0]["content"] == r for p in pairs) for r in RANKED
]
print("times each reply is chosen, best first:", chosen_count)
# --8<-- [end:tree]
