"""ftkit.losses: DPO and its variants equal TRL's DPOTrainer loss on the same batch, the loss is
log 2 when the policy is the reference, GRPO's advantages match TRL's formula, and the
distillation loss equals a hand computation, torch's kl_div and TRL's GKD loss at beta=0."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import nanstd

from ftkit.losses import (
    IGNORE_INDEX,
    bradley_terry_loss,
    distillation_loss,
    dpo_loss,
    group_advantages,
    sequence_logps,
)
from ftkit.tasks import preference_pairs, reasoning_task
from ftkit.tiny import tiny_llama

CPU = dict(bf16=False, gradient_checkpointing=False, use_cpu=True, report_to="none")


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """A DPOTrainer whose policy (pretrained 100 steps) differs from its reference (untrained)."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    rows = preference_pairs(reasoning_task(8, 0, steps=2)[0])
    pairs = [{c: p[c] for c in ("prompt", "chosen", "rejected")} for p in rows]
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_llama(pretrain_steps=100)),
        ref_model=AutoModelForCausalLM.from_pretrained(tiny_llama()),
        args=DPOConfig(
            output_dir=str(tmp_path_factory.mktemp("dpo")),
            per_device_train_batch_size=8,
            beta=0.3,
            **CPU,
        ),
        train_dataset=Dataset.from_list(pairs),
        processing_class=tokenizer,
    )
    return trainer, next(iter(trainer.get_train_dataloader()))


def logps(model, batch):
    with torch.no_grad():
        return sequence_logps(
            model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
        ).chunk(2)


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge"])
def test_dpo_loss_matches_trl_on_the_same_batch(probe, loss_type):
    trainer, batch = probe
    trainer.loss_types = [loss_type]
    with torch.no_grad():
        expected = trainer.compute_loss(trainer.model, batch).item()
    lengths = batch["completion_mask"].sum(1).chunk(2)
    policy, reference = logps(trainer.model, batch), logps(trainer.ref_model, batch)
    ours = dpo_loss(
        *policy,
        *reference,
        beta=0.3,
        loss_type=loss_type,
        chosen_lengths=lengths[0],
        rejected_lengths=lengths[1],
    )
    assert ours.loss.item() == pytest.approx(expected, rel=1e-5)
    assert ours.loss.item() != pytest.approx(math.log(2), rel=1e-3)  # policy != reference here
    metrics = trainer._metrics["train" if trainer.model.training else "eval"]  # TRL's log of it
    assert ours.margin == pytest.approx(metrics["rewards/margins"][-1], rel=1e-5)
    assert ours.accuracy == pytest.approx(metrics["rewards/accuracies"][-1])


def test_the_loss_is_log_2_when_policy_is_reference(probe):
    trainer, batch = probe
    chosen, rejected = logps(trainer.model, batch)
    out = dpo_loss(chosen, rejected, chosen, rejected, beta=0.1)
    assert out.loss.item() == pytest.approx(math.log(2), abs=1e-7)
    assert out.margin == 0 and out.accuracy == 0


def test_dpo_loss_by_hand():
    # h = (-1 - -2) - (-5 - -3) = 3; sigmoid loss -log sigmoid(0.5 * 3)
    args = [torch.tensor([-1.0]), torch.tensor([-5.0]), torch.tensor([-2.0]), torch.tensor([-3.0])]
    assert dpo_loss(*args, beta=0.5).loss.item() == pytest.approx(math.log1p(math.exp(-1.5)))
    assert dpo_loss(*args, beta=0.5, loss_type="hinge").loss.item() == 0.0  # 1 - 1.5 < 0
    ipo = dpo_loss(
        *args,
        beta=0.25,
        loss_type="ipo",
        chosen_lengths=torch.tensor([2]),
        rejected_lengths=torch.tensor([4]),
    )
    assert ipo.loss.item() == pytest.approx((1.0 - 2.0) ** 2)  # h' = 1/2 + 2/4, 1/(2 beta) = 2
    # the gradient raises the chosen reply's log-probability and lowers the rejected one's
    chosen = torch.tensor([-1.0], requires_grad=True)
    rejected = torch.tensor([-5.0], requires_grad=True)
    dpo_loss(chosen, rejected, args[2], args[3]).loss.backward()
    assert chosen.grad.item() < 0 < rejected.grad.item()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss_type": "kto"}, "loss_type must be one of"),
        ({"beta": 0.0}, "beta must be positive"),
        ({"loss_type": "ipo"}, "pass chosen_lengths and rejected_lengths"),
    ],
)
def test_dpo_loss_refuses_bad_arguments(kwargs, message):
    x = torch.zeros(2)
    with pytest.raises(ValueError, match=message):
        dpo_loss(x, x, x, x, **kwargs)
    with pytest.raises(ValueError, match="differ in shape"):
        dpo_loss(x, x, x, torch.zeros(3))


def test_sequence_logps_sums_the_completion_tokens_only():
    model = AutoModelForCausalLM.from_pretrained(tiny_llama())
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    mask = torch.tensor([[0, 0, 0, 1, 1]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits.log_softmax(-1)[0]
    expected = logits[2, 8] + logits[3, 9]  # tokens 8 and 9, predicted at positions 2 and 3
    got = sequence_logps(model, ids, torch.ones_like(ids), mask)
    assert got.shape == (1,) and got.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        sequence_logps(model, ids, torch.ones_like(ids), mask[:, 1:])


def test_bradley_terry_loss():
    assert bradley_terry_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2))
    better = bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0])).item()
    assert better == pytest.approx(math.log1p(math.exp(-2.0)))


def test_group_advantages_follow_trl():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.2, 1.2, 1.2, 1.2, 0.2, 0.0, 1.0, 0.2])
    advantages = group_advantages(rewards, group_size=4)
    grouped = rewards.view(-1, 4)
    expected = (grouped - grouped.mean(1, keepdim=True)) / (
        torch.stack([nanstd(g) for g in grouped]).unsqueeze(1) + 1e-4
    )  # TRL's GRPOTrainer, scale_rewards="group"
    torch.testing.assert_close(advantages, expected.view(-1))
    assert advantages.view(-1, 4).mean(1).abs().max() < 1e-6  # centred in each group
    assert (advantages[4:8] == 0).all()  # all four replies scored alike: no signal
    assert group_advantages(rewards, 4, scale=False)[0].item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="multiple of group_size=5"):
        group_advantages(rewards, 5)


# --------------------------------------------------------------------------- distillation


def _logits(*shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator) * 3


def test_distillation_loss_by_hand():
    student, teacher = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[2.0, 1.0, 0.0]])
    labels, temperature, alpha = torch.tensor([2]), 2.0, 0.3
    p = [math.exp(v / temperature) for v in (2.0, 1.0, 0.0)]
    q = [math.exp(v / temperature) for v in (1.0, 0.0, -1.0)]
    p, q = [v / sum(p) for v in p], [v / sum(q) for v in q]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    hard = -math.log(math.exp(-1.0) / sum(math.exp(v) for v in (1.0, 0.0, -1.0)))
    out = distillation_loss(student, teacher, labels, temperature, alpha)
    assert out.soft.item() == pytest.approx(temperature**2 * kl, rel=1e-6)
    assert out.hard.item() == pytest.approx(hard, rel=1e-6)
    assert out.loss.item() == pytest.approx(alpha * temperature**2 * kl + (1 - alpha) * hard)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_the_soft_term_is_t_squared_times_torch_kl_div(temperature):
    student, teacher = _logits(8, 5), _logits(8, 5, seed=1)
    expected = F.kl_div(
        F.log_softmax(student / temperature, -1),
        F.softmax(teacher / temperature, -1),
        reduction="batchmean",  # the mathematical KL, averaged over the 8 rows
    )
    out = distillation_loss(student, teacher, None, temperature, alpha=1.0)
    assert out.loss.item() == pytest.approx(temperature**2 * expected.item(), rel=1e-5)
    assert out.hard.item() == 0.0


def _trl_forward_kl():
    """TRL's generalized JSD (GKD) as a function; importing trl.experimental warns that its API
    may change, which is the point of checking our loss against it here."""
    from trl.import_utils import TRLExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TRLExperimentalWarning)
        from trl.experimental.gkd import GKDTrainer
    return GKDTrainer.generalized_jsd_loss


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_the_soft_term_is_trl_gkd_at_beta_0_times_t_squared(temperature):
    # A language model's shape: (B, L, V) logits, labels -100 on the prompt and the padding.
    student, teacher = _logits(3, 6, 11), _logits(3, 6, 11, seed=1)
    labels = torch.randint(0, 11, (3, 6), generator=torch.Generator().manual_seed(2))
    labels[:, :2] = IGNORE_INDEX
    labels[2, 4:] = IGNORE_INDEX
    jsd = _trl_forward_kl()
    # beta=0 is the forward KL(teacher || student) in TRL's convention; TRL leaves out the T^2
    expected = jsd(student, teacher, labels=labels, beta=0.0, temperature=temperature)
    out = distillation_loss(student, teacher, labels, temperature, alpha=1.0)
    assert out.loss.item() == pytest.approx(temperature**2 * expected.item(), rel=1e-5)
    reverse = jsd(student, teacher, labels=labels, beta=1.0, temperature=temperature)
    assert out.loss.item() != pytest.approx(temperature**2 * reverse.item(), rel=1e-3)


def test_the_soft_term_is_trl_distillation_trainers_loss_at_beta_0_times_t_squared():
    # DistillationTrainer (TRL 1.16) projects hidden states through each model's lm_head chunk by
    # chunk; an identity lm_head makes its hidden states the logits themselves.
    from trl.trainer.distillation_trainer import _chunked_divergence_loss

    student, teacher = _logits(2, 5, 7), _logits(2, 5, 7, seed=1)
    mask = torch.ones(2, 5, dtype=torch.long)
    mask[0, :2] = 0  # the prompt: no loss
    labels = torch.zeros(2, 5, dtype=torch.long).masked_fill(mask == 0, IGNORE_INDEX)
    identity = torch.eye(7)
    expected, _, scored = _chunked_divergence_loss(
        student, teacher, identity, identity, mask, beta=0.0, temperature=2.0
    )
    out = distillation_loss(student, teacher, labels, temperature=2.0, alpha=1.0)
    assert scored.item() == 8
    assert out.loss.item() == pytest.approx(4 * expected.item(), rel=1e-5)


def test_alpha_0_is_plain_cross_entropy_and_ignored_positions_count_nowhere():
    student, teacher = _logits(4, 7, 9), _logits(4, 7, 9, seed=1)
    labels = torch.randint(0, 9, (4, 7), generator=torch.Generator().manual_seed(3))
    labels[0] = IGNORE_INDEX
    out = distillation_loss(student, teacher, labels, temperature=2.0, alpha=0.0)
    expected = F.cross_entropy(student.reshape(-1, 9), labels.reshape(-1))  # ignores -100
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    changed = teacher.clone()
    changed[0] += 100.0  # the ignored row's teacher: no effect on either term
    again = distillation_loss(student, changed, labels, temperature=2.0, alpha=0.5)
    assert again.soft.item() == pytest.approx(
        distillation_loss(student, teacher, labels, 2.0, 0.5).soft.item(), rel=1e-6
    )


def test_a_student_equal_to_its_teacher_has_no_soft_loss():
    logits = _logits(5, 4)
    out = distillation_loss(logits, logits.clone(), torch.zeros(5, dtype=torch.long), 4.0, 0.5)
    assert out.soft.item() == pytest.approx(0.0, abs=1e-6)


def test_t_squared_keeps_the_soft_gradient_scale_as_t_grows():
    # Hinton et al. 2015, Section 2.1: d KL / d z_i = (q_i - p_i) / T, about (z_i - v_i) / (N T^2)
    # for zero-mean logits and T large; times T^2 the gradient tends to (z_i - v_i) / N.
    student, teacher = _logits(1, 6), _logits(1, 6, seed=1)
    student, teacher = student - student.mean(), teacher - teacher.mean()
    limit = (student - teacher) / 6
    norms = {}
    for temperature in (5.0, 20.0, 200.0):
        z = student.clone().requires_grad_(True)
        distillation_loss(z, teacher, None, temperature, alpha=1.0).loss.backward()
        norms[temperature] = z.grad.norm().item()
        error = (z.grad - limit).norm() / limit.norm()
        assert error < 3 / temperature  # the approximation's error shrinks as 1 / T
    assert max(norms.values()) < 1.1 * min(norms.values())  # same scale from T = 5 to 200
    z = student.clone().requires_grad_(True)
    distillation_loss(z, teacher, None, 2.0, alpha=1.0).loss.backward()
    q, p = F.softmax(student / 2.0, -1), F.softmax(teacher / 2.0, -1)
    torch.testing.assert_close(z.grad, 2.0 * (q - p))  # T^2 * (q - p) / T, exactly


def test_a_teacher_logit_of_minus_infinity_gives_a_finite_loss_and_gradient():
    # A cached top-k teacher: every logit but the k largest set to -inf, so its softmax
    # renormalises over the k tokens and p is exactly 0 elsewhere (0 * log 0 must count as 0).
    student = _logits(2, 4).requires_grad_(True)
    teacher = torch.tensor([[2.0, 1.0, -math.inf, 0.5], [-math.inf, 3.0, -math.inf, 1.0]])
    temperature = 2.0
    out = distillation_loss(student, teacher, None, temperature, alpha=1.0)
    expected = F.kl_div(  # torch's own kl_div uses xlogy for the target's entropy
        F.log_softmax(student / temperature, -1),
        F.softmax(teacher / temperature, -1),
        reduction="batchmean",
    )
    assert math.isfinite(out.loss.item())
    assert out.loss.item() == pytest.approx(temperature**2 * expected.item(), rel=1e-6)
    out.loss.backward()
    assert torch.isfinite(student.grad).all()
    q = F.softmax(student.detach() / temperature, -1)
    p = F.softmax(teacher / temperature, -1)
    torch.testing.assert_close(student.grad, temperature * (q - p) / 2)  # T^2 (q - p) / T / N


def test_the_teacher_gets_no_gradient():
    student = _logits(2, 3).requires_grad_(True)
    teacher = _logits(2, 3, seed=1).requires_grad_(True)
    distillation_loss(student, teacher, torch.tensor([0, 1]), 2.0, 0.5).loss.backward()
    assert student.grad is not None and teacher.grad is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"teacher": torch.zeros(4, 6)}, r"must have the same shape \(\.\.\., C\)"),
        ({"labels": torch.zeros(3, dtype=torch.long)}, "labels \\(3,\\) must be"),
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"temperature": -1.0}, "temperature must be > 0"),
        ({"temperature": float("nan")}, "temperature must be > 0"),
        ({"alpha": 1.5}, r"alpha must be in \[0, 1\]"),
        ({"alpha": -0.1}, r"alpha must be in \[0, 1\]"),
        ({"labels": None}, "give labels"),
        ({"labels": torch.full((4,), IGNORE_INDEX)}, "no position to score"),
    ],
)
def test_distillation_loss_refuses_bad_input(change, message):
    args = {
        "student": torch.zeros(4, 5),
        "teacher": torch.zeros(4, 5),
        "labels": torch.zeros(4, dtype=torch.long),
        "temperature": 2.0,
        "alpha": 0.5,
    }
    args.update(change)
    with pytest.raises(ValueError, match=message):
        distillation_loss(
            args["student"], args["teacher"], args["labels"], args["temperature"], args["alpha"]
        )
