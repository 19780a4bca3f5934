"""ftkit.losses: DPO and its variants equal TRL's DPOTrainer loss on the same batch, the loss is
log 2 when the policy is the reference, and GRPO's advantages match TRL's formula."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import nanstd

from ftkit.losses import bradley_terry_loss, dpo_loss, group_advantages, sequence_logps
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
