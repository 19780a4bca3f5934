"""Transfer learning with a small CNN: pretrain on letters, then learn digits
from a few labels, three ways.

Run alone: python snippets/before-llms/index/ex01_transfer.py
"""

# --8<-- [start:data]
from ftkit.glyphs import DIGITS, LETTERS, ascii_glyph, glyph_set

# the pretraining task: 20 letters, 150 pictures each, plenty of labels
letters, letter_labels = glyph_set(LETTERS, per_class=150, seed=0)
letters_test, letters_test_labels = glyph_set(LETTERS, per_class=20, seed=1)
# the new task: digits; a pool to draw the few labels from, and a test set
digits, digit_labels = glyph_set(DIGITS, per_class=100, seed=2)
digits_test, digits_test_labels = glyph_set(DIGITS, per_class=50, seed=3)
print(
    f"letters: {tuple(letters.shape)}  digits test: {tuple(digits_test.shape)}"
)

pictures = [ascii_glyph(x).splitlines() for x in [*letters[:4], *digits[:4]]]
for row in zip(*pictures, strict=True):
    print("  ".join(row))
# --8<-- [end:data]

# --8<-- [start:model]
import torch
from torch import nn


class CNN(nn.Module):
    """Two convolutions and a dense layer (the backbone), then a linear
    classifier (the head)."""

    def __init__(self, n_classes):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2),  # 16 filters, 5x5
            nn.ReLU(),
            nn.MaxPool2d(2),  # 24x24 -> 12x12
            nn.Conv2d(16, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 12x12 -> 6x6
            nn.Flatten(),
            nn.Linear(16 * 6 * 6, 64),
            nn.ReLU(),
        )
        self.head = nn.Linear(64, n_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def count(module):
    return sum(p.numel() for p in module.parameters())


torch.manual_seed(0)
letters_model = CNN(len(LETTERS))
print(
    f"backbone {count(letters_model.backbone):,} parameters, "
    f"head {count(letters_model.head):,}"
)
# --8<-- [end:model]

# --8<-- [start:pretrain]
import torch.nn.functional as F

from ftkit.train import train_steps  # forward, backward, step, zero_grad


def fit(model, images, labels, param_groups, steps, batch_size=32, seed=0):
    """Adam on mini-batches of up to ``batch_size`` pictures, drawn at random
    (with replacement) from ``images``."""
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(images))

    def loss():
        batch = torch.randint(len(images), (size,), generator=generator)
        return F.cross_entropy(model(images[batch]), labels[batch])

    model.train()
    train_steps(loss, torch.optim.Adam(param_groups), steps)
    return model


@torch.no_grad()
def accuracy(model, images, labels):
    model.eval()
    return (model(images).argmax(-1) == labels).float().mean().item()


PRETRAIN_STEPS = 400  # Colab GPU: 400 (a CNN this small needs no GPU)
groups = [{"params": letters_model.parameters(), "lr": 2e-3}]
fit(letters_model, letters, letter_labels, groups, PRETRAIN_STEPS, 64)
held_out = accuracy(letters_model, letters_test, letters_test_labels)
print(f"letters, held out: {held_out:.0%} (chance {1 / len(LETTERS):.0%})")

from safetensors.torch import save_file

save_file(letters_model.state_dict(), "letters_cnn.safetensors")  # not pickle
# --8<-- [end:pretrain]


# --8<-- [start:filters]
def show_filters(model, name):
    """The first layer's 16 filters, one line each: 5x5 weights, row by row."""
    for i, weights in enumerate(model.backbone[0].weight[:, 0], 1):
        values = " ".join(f"{w:5.2f}" for w in weights.flatten().tolist())
        print(f"{name} {i:>2}  {values}")


torch.manual_seed(0)  # the same seed: the letters model before training
show_filters(CNN(len(LETTERS)), "init")
show_filters(letters_model, "trained")
# --8<-- [end:filters]

# --8<-- [start:transfer]
from safetensors.torch import load_file

from ftkit.glyphs import few_shot

STEPS = 100  # per run, whatever the number of labels


def letters_cnn_new_head():
    """The letters CNN with a new, random 10-way head for the digits."""
    model = CNN(len(LETTERS))
    model.load_state_dict(load_file("letters_cnn.safetensors"))
    model.head = nn.Linear(64, len(DIGITS))
    return model


def scratch(images, labels):
    model = CNN(len(DIGITS))
    groups = [{"params": model.parameters(), "lr": 1e-2}]
    return fit(model, images, labels, groups, STEPS)


def feature_extraction(images, labels):
    model = letters_cnn_new_head()
    model.backbone.requires_grad_(False)  # frozen: only the head learns
    # each picture's features, computed once, before training
    with torch.no_grad():
        features = model.backbone(images)
    groups = [{"params": model.head.parameters(), "lr": 1e-2}]
    fit(model.head, features, labels, groups, STEPS)  # the head sees features
    return model


def fine_tuning(images, labels, backbone_lr=1e-3):
    model = letters_cnn_new_head()
    groups = [
        {"params": model.head.parameters(), "lr": 1e-2},
        # every layer learns, the pretrained ones 10x more slowly
        {"params": model.backbone.parameters(), "lr": backbone_lr},
    ]
    return fit(model, images, labels, groups, STEPS)


def one_rate(images, labels):
    """Fine-tuning with the head's rate everywhere."""
    return fine_tuning(images, labels, backbone_lr=1e-2)


METHODS = {
    "scratch": scratch,
    "frozen": feature_extraction,
    "fine-tune": fine_tuning,
    "one rate": one_rate,
}
print("labels/class  " + "  ".join(f"{m:>9}" for m in METHODS))
for k in (1, 3, 10, 30):
    scores = {m: [] for m in METHODS}
    for seed in range(3):  # three draws of the k labelled pictures
        images, labels = few_shot(digits, digit_labels, k, seed=seed)
        for name, method in METHODS.items():
            torch.manual_seed(seed)
            model = method(images, labels)
            test_acc = accuracy(model, digits_test, digits_test_labels)
            scores[name].append(test_acc)
    means = [sum(s) / len(s) for s in scores.values()]
    print(f"{k:>12}  " + "  ".join(f"{m:>9.0%}" for m in means))
# --8<-- [end:transfer]
