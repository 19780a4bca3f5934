"""The training loop the chapters share: full-batch steps on one batch, recording the loss.

The Foundations chapter writes this loop out step by step; the PEFT, LoRA and QLoRA chapters
call it, so that every chapter trains and measures the same way.
"""

from __future__ import annotations

import torch


# --8<-- [start:loss_curve]
def loss_curve(model, batch: dict, optimizer: torch.optim.Optimizer, steps: int) -> list[float]:
    """Take ``steps`` optimizer steps on one batch; return the loss before each step and after.

    Each step is forward, record the loss, backward, step, zero the gradients. The result has
    ``steps + 1`` values: ``[0]`` is the model before training, ``[-1]`` after the last step.
    """
    if steps < 0:
        raise ValueError(f"loss_curve: steps must be >= 0, got {steps}")
    losses = []
    for step in range(steps + 1):
        loss = model(**batch).loss
        losses.append(loss.item())
        if step < steps:
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    return losses


# --8<-- [end:loss_curve]
