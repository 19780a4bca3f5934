"""The distillation chapter's exercises: a KL divergence by hand, and the
size of BERT-base cut in half.

Run alone: python snippets/distillation/index/ex04_exercises.py
"""

# --8<-- [start:kl]
import math

import torch

from ftkit.losses import distillation_loss

p = [0.7, 0.2, 0.1]  # the teacher's probabilities
q = [0.5, 0.3, 0.2]  # the student's
kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
entropy = -sum(pi * math.log(pi) for pi in p)
cross_entropy = -sum(pi * math.log(qi) for pi, qi in zip(p, q, strict=True))
print(f"KL by hand          {kl:.4f}")
# at T = 1 log-probabilities are logits; alpha = 1 keeps the soft term only
out = distillation_loss(
    torch.tensor([q]).log(), torch.tensor([p]).log(), None, 1.0, alpha=1.0
)
print(f"distillation_loss   {out.soft.item():.4f}")
print(f"CE - entropy        {cross_entropy - entropy:.4f}")
# --8<-- [end:kl]

# --8<-- [start:half_bert]
import torch
from transformers import BertConfig, BertModel

config = BertConfig()  # the defaults are bert-base-uncased's shape
h = config.hidden_size
per_layer = 12 * h * h + 13 * h  # attention 4h^2, MLP 8h^2, biases, norms
with torch.device("meta"):
    teacher = BertModel(config)
    student = BertModel(BertConfig(num_hidden_layers=6))
n_teacher, n_student = teacher.num_parameters(), student.num_parameters()
print(f"one layer by hand: {per_layer:,}")
print(f"one layer counted: {(n_teacher - n_student) // 6:,}")
print(f"teacher {n_teacher:,}, student {n_student:,}")
print(f"the student is {1 - n_student / n_teacher:.0%} smaller")
# --8<-- [end:half_bert]
