"""The DPO and GRPO page's exercises: the implicit rewards from four
log-probabilities, and a group's advantages.

Run alone: python snippets/rlhf/dpo-grpo/ex02_exercises.py
"""

# --8<-- [start:margin]
import torch

from ftkit.losses import dpo_loss

# log pi(y | x) of one pair: the policy and the reference, chosen and rejected
policy_chosen, policy_rejected = torch.tensor([-6.0]), torch.tensor([-30.0])
ref_chosen, ref_rejected = torch.tensor([-5.0]), torch.tensor([-20.0])
for beta in (0.1, 0.5):
    out = dpo_loss(
        policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=beta
    )
    print(
        f"beta {beta}: rewards chosen {out.chosen_rewards.item():+.2f}, "
        f"rejected {out.rejected_rewards.item():+.2f}, "
        f"margin {out.margin:.2f}, loss {out.loss.item():.4f}"
    )
# --8<-- [end:margin]

# --8<-- [start:advantages]
import torch

from ftkit.losses import group_advantages

# format 0.2 + correct 1: four replies to one prompt, then four to another
rewards = torch.tensor([1.2, 0.2, 0.2, 0.0, 1.2, 1.2, 1.2, 1.2])
advantages = group_advantages(rewards, group_size=4)
for group in advantages.view(2, 4).tolist():
    print(" ".join(f"{a:+.2f}" for a in group))
# --8<-- [end:advantages]
