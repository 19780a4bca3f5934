"""Long-range recall: the token r positions back, learned by a small LSTM and
a tiny transformer with the same budget, measured on held-out sequences.

Run alone:
python snippets/before-llms/rnns-to-transformers/ex02_long_range.py
"""

# --8<-- [start:task]
import torch

from ftkit.sequences import recall_batch

VOCAB = 8  # tokens 0..7: chance is 1/8 = 12.5%
LENGTH = 24  # Colab GPU: 256
example, label = recall_batch(
    1,
    LENGTH,
    distance=3,
    vocab=VOCAB,
    generator=torch.Generator().manual_seed(0),
)
print("tokens:", " ".join(map(str, example[0].tolist())))
print("label (3 back from the last):", label.item())
# --8<-- [end:task]

# --8<-- [start:models]
from ftkit.sequences import LSTMReader, TinyTransformer

WIDTH = 32  # Colab GPU: 256


def build(kind):
    """A fresh, seeded model: the same start for every distance."""
    torch.manual_seed(0)
    if kind == "LSTM":
        return LSTMReader(VOCAB, hidden=WIDTH)
    return TinyTransformer(
        VOCAB, width=WIDTH, heads=2, layers=1, max_length=LENGTH
    )


for kind in ("LSTM", "transformer"):
    count = sum(p.numel() for p in build(kind).parameters())
    print(f"{kind:12} {count:,} parameters")
# --8<-- [end:models]

# --8<-- [start:recall]
import torch.nn.functional as F

from ftkit.train import train_steps

STEPS = 150  # Colab GPU: 2000
BATCH = 32  # Colab GPU: 256
DISTANCES = (1, 2, 3, 4, 8, 16, LENGTH - 1)


def accuracy(model, tokens, labels):
    with torch.no_grad():
        return (model(tokens).argmax(-1) == labels).float().mean().item()


def fit(kind, distance):
    """Train on STEPS fresh batches; return accuracy on held-out ones."""
    model = build(kind)
    tokens, labels = recall_batch(
        STEPS * BATCH,
        LENGTH,
        distance,
        VOCAB,
        torch.Generator().manual_seed(1),
    )
    batches = iter(zip(tokens.split(BATCH), labels.split(BATCH), strict=True))

    def loss():
        x, y = next(batches)
        return F.cross_entropy(model(x), y)

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    train_steps(loss, optimizer, STEPS)
    # held out: another seed, never seen in training
    test = recall_batch(
        1000, LENGTH, distance, VOCAB, torch.Generator().manual_seed(2)
    )
    return accuracy(model, *test)


print("distance r  LSTM  transformer   (held-out accuracy, chance 12.5%)")
for r in DISTANCES:
    lstm, transformer = fit("LSTM", r), fit("transformer", r)
    print(f"{r:10}  {lstm:4.0%}  {transformer:11.0%}")
# --8<-- [end:recall]
