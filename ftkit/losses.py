"""Preference, reinforcement-learning and distillation losses from scratch, checked against TRL.

- ``sequence_logps``: the log-probability a model gives each completion, summed over its tokens;
  the quantity every preference loss is built from.
- ``dpo_loss``: Direct Preference Optimization, the sigmoid loss of the DPO paper and its IPO
  and hinge variants, with the implicit rewards TRL logs.
- ``bradley_terry_loss``: the pairwise loss a reward model is trained with.
- ``group_advantages``: GRPO's advantage, each reward against its own group's mean and spread.
- ``distillation_loss``: knowledge distillation's loss, the student against the teacher's
  softened distribution (scaled by T^2) plus the hard labels' cross-entropy.

References:
    DPO: Rafailov et al. 2023, arXiv:2305.18290, Eq. 7 (loss) and Section 5 (implicit reward).
    IPO: Azar et al. 2023, arXiv:2310.12036, Eq. 17.
    Hinge (SLiC): Zhao et al. 2023, arXiv:2305.10425.
    Reward models: Ouyang et al. 2022 (InstructGPT), arXiv:2203.02155, Eq. 1.
    GRPO: Shao et al. 2024 (DeepSeekMath), arXiv:2402.03300, Section 4.1.
    Distillation: Hinton, Vinyals and Dean 2015, arXiv:1503.02531, Section 2 (soft targets at
        temperature T, the T^2 factor) and 2.1 (the gradient); TRL's
        ``GKDTrainer.generalized_jsd_loss`` is its soft term at beta=0, without the T^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOSS_TYPES = ("sigmoid", "ipo", "hinge")
IGNORE_INDEX = -100  # torch.nn.functional.cross_entropy's default ignore_index


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


@dataclass
class DistillationOutput:
    """The distillation loss and its two terms, each a mean over the scored positions."""

    loss: torch.Tensor  # alpha * soft + (1 - alpha) * hard, with its graph
    soft: torch.Tensor  # T^2 * KL(teacher_T || student_T), detached
    hard: torch.Tensor  # cross-entropy with the labels at T = 1, detached


# --8<-- [start:distillation_loss] docs/distillation/index.md
def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> DistillationOutput:
    """Hinton et al.'s distillation loss, a mean over the scored positions:

        alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))
            + (1 - alpha) * CE(softmax(z_s), y)

    z_s and z_t are the student's and the teacher's logits, ``(..., C)``:
    ``(N, C)`` for a classifier, ``(B, L, V)`` for a language model (shift
    them first: position t predicts token t + 1). ``labels`` is ``(...)``;
    positions labelled -100 get no loss in either term. The teacher is a
    fixed target: its logits are detached. T^2 keeps the soft term's
    gradient, which scales as 1 / T^2, comparable with the hard term's as
    T changes (Hinton et al. 2015, Section 2).

    Args:
        labels: the hard labels, or None with ``alpha=1`` (soft targets
            only: every position is scored).
        temperature: T > 0; T = 1 compares the plain softmax outputs.
        alpha: the soft term's weight, in [0, 1].

    Raises:
        ValueError: shapes that do not match, T <= 0, alpha outside
            [0, 1], no labels with alpha < 1, or no position to score.
    """
    if not temperature > 0 or not math.isfinite(temperature):
        rule = "temperature must be > 0 and finite"
        raise ValueError(f"{rule}, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    same = student_logits.shape == teacher_logits.shape
    if student_logits.dim() < 2 or not same:
        raise ValueError(
            f"student_logits {tuple(student_logits.shape)} and teacher_logits "
            f"{tuple(teacher_logits.shape)} must have the same shape (..., C)"
        )
    classes = student_logits.shape[-1]
    student = student_logits.reshape(-1, classes)  # (P, C): P positions
    teacher = teacher_logits.detach().reshape(-1, classes)
    if labels is None:
        if alpha < 1:
            raise ValueError(f"alpha={alpha} < 1 weighs labels: give labels")
        keep = torch.ones(len(student), dtype=torch.bool)
        keep = keep.to(student.device)
    else:
        if labels.shape != student_logits.shape[:-1]:
            raise ValueError(
                f"labels {tuple(labels.shape)} must be the logits' shape "
                f"without its last axis, {tuple(student_logits.shape[:-1])}"
            )
        labels = labels.reshape(-1)  # (P,)
        keep = labels != IGNORE_INDEX
    if not keep.any():
        raise ValueError("every label is -100: no position to score")
    student, teacher = student[keep], teacher[keep]  # (K, C)
    log_q = F.log_softmax(student / temperature, dim=-1)  # student at T
    log_p = F.log_softmax(teacher / temperature, dim=-1)  # teacher at T
    p = log_p.exp()
    # KL(p || q) = sum_c p_c (log p_c - log q_c), mean over the K positions;
    # xlogy(p, p) = p log p is 0 where p = 0 (a teacher logit of -inf, as in
    # a cached top-k), where p * log p would be 0 * -inf = nan
    kl = (torch.xlogy(p, p) - p * log_q).sum(-1).mean()
    soft = temperature**2 * kl  # Section 2, Hinton et al. 2015
    if labels is None:
        hard = torch.zeros((), device=student.device)
    else:
        hard = F.cross_entropy(student, labels[keep])  # T = 1
    loss = alpha * soft + (1 - alpha) * hard
    return DistillationOutput(loss, soft.detach(), hard.detach())


# --8<-- [end:distillation_loss]
