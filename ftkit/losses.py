"""Preference and reinforcement-learning losses from scratch, checked against TRL.

- ``sequence_logps``: the log-probability a model gives each completion, summed over its tokens;
  the quantity every preference loss is built from.
- ``dpo_loss``: Direct Preference Optimization, the sigmoid loss of the DPO paper and its IPO
  and hinge variants, with the implicit rewards TRL logs.
- ``bradley_terry_loss``: the pairwise loss a reward model is trained with.
- ``group_advantages``: GRPO's advantage, each reward against its own group's mean and spread.

References:
    DPO: Rafailov et al. 2023, arXiv:2305.18290, Eq. 7 (loss) and Section 5 (implicit reward).
    IPO: Azar et al. 2023, arXiv:2310.12036, Eq. 17.
    Hinge (SLiC): Zhao et al. 2023, arXiv:2305.10425.
    Reward models: Ouyang et al. 2022 (InstructGPT), arXiv:2203.02155, Eq. 1.
    GRPO: Shao et al. 2024 (DeepSeekMath), arXiv:2402.03300, Section 4.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOSS_TYPES = ("sigmoid", "ipo", "hinge")


def sequence_logps(model, input_ids, attention_mask, completion_mask) -> torch.Tensor:
    """Sum of log p(token | tokens before it) over each row's completion tokens.

    Args:
        model: a causal LM.
        input_ids, attention_mask: ``(B, T)``, prompt and completion together.
        completion_mask: ``(B, T)``, 1 on the completion's tokens (the ones scored), 0 on the
            prompt and the padding.

    Returns:
        ``(B,)`` log-probabilities: log pi(completion | prompt) for each row.
    """
    if input_ids.shape != completion_mask.shape:
        raise ValueError(
            f"input_ids {tuple(input_ids.shape)} and completion_mask "
            f"{tuple(completion_mask.shape)} must have the same shape"
        )
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1]
    targets = input_ids[:, 1:]  # position t predicts token t + 1
    per_token = torch.gather(logits.log_softmax(-1), 2, targets.unsqueeze(-1)).squeeze(-1)
    return (per_token * completion_mask[:, 1:]).sum(-1)


@dataclass
class DPOOutput:
    """Per-pair loss and the implicit rewards ``beta * log(pi / pi_ref)`` of each reply."""

    losses: torch.Tensor  # (B,)
    chosen_rewards: torch.Tensor  # (B,), detached
    rejected_rewards: torch.Tensor  # (B,), detached

    @property
    def loss(self) -> torch.Tensor:
        """The batch loss: the mean over pairs."""
        return self.losses.mean()

    @property
    def margin(self) -> float:
        """Mean reward margin (chosen minus rejected), as TRL logs ``rewards/margins``."""
        return (self.chosen_rewards - self.rejected_rewards).mean().item()

    @property
    def accuracy(self) -> float:
        """Share of pairs whose chosen reply has the higher reward (``rewards/accuracies``)."""
        return (self.chosen_rewards > self.rejected_rewards).float().mean().item()


# --8<-- [start:dpo_loss] docs/rlhf/dpo-grpo.md
def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    chosen_lengths: torch.Tensor | None = None,
    rejected_lengths: torch.Tensor | None = None,
) -> DPOOutput:
    """The DPO loss of a batch of pairs, from sequence log-probabilities
    (``sequence_logps``).

    With h = log(pi(y_w)/pi_ref(y_w)) - log(pi(y_l)/pi_ref(y_l)), the chosen
    reply's log-ratio minus the rejected one's:

    - ``"sigmoid"`` (DPO): -log sigmoid(beta * h). When the policy is the
      reference, h = 0 and the loss is log 2.
    - ``"ipo"`` (IPO): (h' - 1 / (2 beta))^2, where h' uses each log-ratio
      divided by its completion's token count (pass ``chosen_lengths`` and
      ``rejected_lengths``), as TRL does.
    - ``"hinge"`` (SLiC): max(0, 1 - beta * h).

    Raises:
        ValueError: an unknown ``loss_type``, beta <= 0, IPO without
            lengths, or shapes that do not match.
    """
    if loss_type not in LOSS_TYPES:
        known = f"loss_type must be one of {LOSS_TYPES}"
        raise ValueError(f"{known}, got {loss_type!r}")
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    logps = (policy_chosen, policy_rejected, ref_chosen, ref_rejected)
    shapes = sorted({tuple(t.shape) for t in logps})
    if len(shapes) != 1:
        what = "the four log-probability tensors"
        raise ValueError(f"{what} differ in shape: {shapes}")
    chosen_ratio = policy_chosen - ref_chosen
    rejected_ratio = policy_rejected - ref_rejected
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio))
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * (chosen_ratio - rejected_ratio))
    else:
        if chosen_lengths is None or rejected_lengths is None:
            needs = "pass chosen_lengths and rejected_lengths"
            raise ValueError(f"IPO averages over tokens: {needs}")
        chosen_mean = chosen_ratio / chosen_lengths.clamp(min=1)  # per token
        rejected_mean = rejected_ratio / rejected_lengths.clamp(min=1)
        losses = (chosen_mean - rejected_mean - 1 / (2 * beta)) ** 2
    return DPOOutput(
        losses,
        beta * chosen_ratio.detach(),
        beta * rejected_ratio.detach(),
    )


# --8<-- [end:dpo_loss]


def bradley_terry_loss(chosen_scores: torch.Tensor, rejected_scores: torch.Tensor) -> torch.Tensor:
    """A reward model's pairwise loss: -log sigmoid(r(chosen) - r(rejected)), mean over pairs.

    It is the negative log-likelihood of the Bradley-Terry model, in which the chosen reply wins
    with probability sigmoid(r_chosen - r_rejected).
    """
    return -F.logsigmoid(chosen_scores - rejected_scores).mean()


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool = True) -> torch.Tensor:
    """GRPO's advantages: each completion's reward minus its group's mean (over std, if scale).

    ``rewards`` holds ``group_size`` completions of the first prompt, then of the second, and so
    on. A group whose completions all score the same gets advantage 0: nothing to learn from it.
    The 1e-4 in the denominator and the sample standard deviation are TRL's choices.

    Raises:
        ValueError: ``rewards`` is not 1-D or not a whole number of groups.
    """
    if rewards.dim() != 1 or group_size < 1 or rewards.numel() % group_size:
        raise ValueError(
            f"rewards must be 1-D with a multiple of group_size={group_size} entries, "
            f"got shape {tuple(rewards.shape)}"
        )
    grouped = rewards.view(-1, group_size)
    advantages = grouped - grouped.mean(dim=1, keepdim=True)
    if scale:
        advantages = advantages / (grouped.std(dim=1, keepdim=True) + 1e-4)
    return advantages.view(-1)
