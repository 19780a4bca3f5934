"""ftkit.train.loss_curve: the shared loop records the loss before every step and learns."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.chat import chat_batch, faq
from ftkit.tiny import tiny_llama
from ftkit.train import loss_curve


@pytest.fixture(scope="module")
def setup():
    path = tiny_llama()
    return path, chat_batch(AutoTokenizer.from_pretrained(path), faq())


def test_loss_curve_records_every_step_and_learns(setup):
    path, batch = setup
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        before = model(**batch).loss.item()
    losses = loss_curve(model, batch, torch.optim.AdamW(model.parameters(), lr=1e-2), steps=20)
    assert len(losses) == 21 and losses[0] == before
    assert losses[-1] < 0.7 * losses[0]
    with torch.no_grad():  # the last value is the trained model, not the one before the step
        assert model(**batch).loss.item() == losses[-1]


def test_zero_steps_changes_nothing_and_negative_is_refused(setup):
    path, batch = setup
    model = AutoModelForCausalLM.from_pretrained(path)
    weights = [p.clone() for p in model.parameters()]
    losses = loss_curve(model, batch, torch.optim.AdamW(model.parameters(), lr=1e-2), steps=0)
    assert len(losses) == 1
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        loss_curve(model, batch, torch.optim.AdamW(model.parameters()), steps=-1)
