"""The distillation loss: soft targets at a temperature, the T^2 factor, and
the same numbers written out with torch.

Run alone: python snippets/distillation/index/ex01_loss.py
"""

# --8<-- [start:soft_targets]
import torch

# A digit classifier's scores (logits) for a picture of a 2 that looks a
# little like a 3 and a 7: made up, to show what the temperature does.
digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
logits = torch.tensor([0.0, 1.0, 9.0, 4.5, 0.5, 1.0, 0.0, 4.0, 2.0, 0.5])
print("T     " + "".join(f"{d:>6}" for d in digits))
for temperature in (1.0, 2.0, 5.0):
    p = torch.softmax(logits / temperature, dim=-1)
    print(f"{temperature:<4}  " + "".join(f"{v:6.3f}" for v in p.tolist()))
# --8<-- [end:soft_targets]

# --8<-- [start:ftkit]
import torch

from ftkit.losses import distillation_loss

generator = torch.Generator().manual_seed(0)
student = torch.randn(4, 10, generator=generator)  # 4 examples, 10 classes
teacher = torch.randn(4, 10, generator=generator) * 3
labels = torch.tensor([2, 7, 0, 3])

out = distillation_loss(student, teacher, labels, temperature=2.0, alpha=0.5)
print(f"soft term  T^2 * KL  {out.soft:.4f}")
print(f"hard term  CE        {out.hard:.4f}")
print(f"loss                 {out.loss:.4f}")
# --8<-- [end:ftkit]

# --8<-- [start:torch]
import torch.nn.functional as F

T = 2.0
kl = F.kl_div(  # KL(p || q): log q first, p second; "batchmean" = mean KL
    F.log_softmax(student / T, dim=-1),
    F.softmax(teacher / T, dim=-1),
    reduction="batchmean",
)
hard = F.cross_entropy(student, labels)
print(f"soft term  T^2 * KL  {T**2 * kl:.4f}")
print(f"hard term  CE        {hard:.4f}")
print(f"loss                 {0.5 * T**2 * kl + 0.5 * hard:.4f}")
# --8<-- [end:torch]

# --8<-- [start:gradient]
# The soft term's gradient for one example, with and without the T^2
z = torch.randn(1, 10, generator=generator)
v = torch.randn(1, 10, generator=generator) * 3
print("   T   |grad| with T^2   without")
for temperature in (1.0, 2.0, 5.0, 20.0):
    z_s = z.clone().requires_grad_(True)
    distillation_loss(z_s, v, None, temperature, alpha=1.0).loss.backward()
    with_t2 = z_s.grad.norm().item()
    without = with_t2 / temperature**2  # the same loss without the T^2
    print(f"{temperature:4.0f}   {with_t2:13.4f}   {without:7.4f}")
# --8<-- [end:gradient]
