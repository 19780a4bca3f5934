"""ULMFiT in miniature: pretrain an LSTM language model on unlabelled text,
then fine-tune it to classify with few labels.

Run alone:
python snippets/before-llms/rnns-to-transformers/ex01_finetune_lstm.py
"""

# --8<-- [start:language]
import torch

from ftkit.sequences import topic_batch, topic_transitions

VOCAB, LENGTH, TOPICS = 16, 24, 4
# in each topic, every token can be followed by 4 of the 16 tokens
chains = topic_transitions(
    TOPICS, VOCAB, successors=4, generator=torch.Generator().manual_seed(0)
)
tokens, topic = topic_batch(
    2, LENGTH, chains, generator=torch.Generator().manual_seed(1)
)
for row, k in zip(tokens.tolist(), topic.tolist(), strict=True):
    print(f"topic {k}:", " ".join(f"{t:2}" for t in row))
# --8<-- [end:language]

# --8<-- [start:pretrain]
import torch.nn.functional as F

from ftkit.sequences import LSTMReader
from ftkit.train import train_steps

PRETRAIN_STEPS = 600  # Colab GPU: 5000
BATCH = 32  # Colab GPU: 256
HIDDEN = 32  # Colab GPU: 256

# unlabelled text: the topics are there, but no label says which
unlabelled, _ = topic_batch(
    PRETRAIN_STEPS * BATCH, LENGTH, chains, torch.Generator().manual_seed(2)
)
batches = iter(unlabelled.split(BATCH))


def next_token_loss(model, x):
    """Predict token t + 1 from the state after token t, at every t."""
    logits = model.head(model.states(x)[:, :-1])  # (B, L - 1, vocab)
    return F.cross_entropy(logits.reshape(-1, VOCAB), x[:, 1:].reshape(-1))


torch.manual_seed(0)
language_model = LSTMReader(VOCAB, HIDDEN)
optimizer = torch.optim.AdamW(language_model.parameters(), lr=3e-3)
losses = train_steps(
    lambda: next_token_loss(language_model, next(batches)),
    optimizer,
    PRETRAIN_STEPS,
)
print(
    f"next-token loss: {losses[0]:.2f} at step 0, {losses[-1]:.2f} at the end"
)
print(f"uniform guess ln(16) = {torch.log(torch.tensor(16.0)):.2f}")
# --8<-- [end:pretrain]

# --8<-- [start:finetune]
import copy

from torch import nn

FINETUNE_STEPS, LR = 100, 3e-3
test = topic_batch(1000, LENGTH, chains, torch.Generator().manual_seed(3))


def classify(body, labelled, gradual):
    """Train a new topic head on `body` with the labelled sequences;
    return held-out accuracy. gradual=False trains everything at LR from
    the first step; gradual=True is the ULMFiT way: the head alone first,
    the body frozen, then everything, the body at LR / 10."""
    torch.manual_seed(0)
    head = nn.Linear(HIDDEN, TOPICS)
    body_lr = LR / 10 if gradual else LR
    groups = [
        {"params": body.parameters(), "lr": body_lr},
        {"params": head.parameters()},
    ]
    optimizer = torch.optim.AdamW(groups, lr=LR)
    x, y = labelled
    for step in range(FINETUNE_STEPS):
        if gradual:  # frozen for the first half: no gradient, no update
            body.requires_grad_(step >= FINETUNE_STEPS // 2)
        loss = F.cross_entropy(head(body.states(x)[:, -1]), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    with torch.no_grad():
        guess = head(body.states(test[0])[:, -1]).argmax(-1)
    return (guess == test[1]).float().mean().item()


print("held-out accuracy, chance 25%       pretrained, fine-tuned")
print("labels  from scratch       all at once  ULMFiT way")
for count in (16, 64, 256):
    labelled = topic_batch(
        count, LENGTH, chains, torch.Generator().manual_seed(4)
    )
    torch.manual_seed(0)
    scratch = classify(LSTMReader(VOCAB, HIDDEN), labelled, gradual=False)
    at_once = classify(copy.deepcopy(language_model), labelled, gradual=False)
    ulmfit = classify(copy.deepcopy(language_model), labelled, gradual=True)
    print(f"{count:6}  {scratch:12.0%}  {at_once:16.0%}  {ulmfit:10.0%}")
# --8<-- [end:finetune]
