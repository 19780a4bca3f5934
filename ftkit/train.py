"""The training loop the chapters share: forward, backward, step, zero the gradients.

The Foundations chapter writes this loop out step by step. ``train_steps`` is that loop, on any
loss: the tiny models' pretraining uses it (``ftkit.tiny``, ``ftkit.tiny_vlm``), and
``loss_curve`` runs it on one batch for the PEFT, LoRA and QLoRA chapters, so that every chapter
trains and measures the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


# --8<-- [start:loss_curve] docs/peft/index.md
def train_steps(
    loss_fn: Callable[[], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    steps: int,
) -> list[float]:
    """Take ``steps`` optimizer steps on the loss ``loss_fn()`` computes;
    return each loss.

    Each step is forward (``loss_fn``), record the loss, backward, step,
    zero the gradients.
    """
    if steps < 0:
        raise ValueError(f"train_steps: steps must be >= 0, got {steps}")
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return losses


def loss_curve(
    model,
    batch: dict,
    optimizer: torch.optim.Optimizer,
    steps: int,
) -> list[float]:
    """Take ``steps`` optimizer steps on one batch; return the loss before
    each step and after.

    The result has ``steps + 1`` values: ``[0]`` is the model before
    training, ``[-1]`` after the last step. The batch moves to the model's
    device first.
    """
    batch = {name: t.to(model.device) for name, t in batch.items()}
    losses = train_steps(lambda: model(**batch).loss, optimizer, steps)
    with torch.no_grad():
        losses.append(model(**batch).loss.item())
    return losses


# --8<-- [end:loss_curve]
