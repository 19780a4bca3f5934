"""The transfer-learning chapter's exercises: where a CNN's parameters are.

Run alone: python snippets/before-llms/index/ex02_exercises.py
"""

# --8<-- [start:wider]
from torch import nn


def backbone(first_filters=16, second_pool=True):
    """The chapter's backbone, with a knob for each exercise."""
    layers = [
        nn.Conv2d(1, first_filters, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 24x24 -> 12x12
        nn.Conv2d(first_filters, 16, kernel_size=3, padding=1),
        nn.ReLU(),
    ]
    side = 12
    if second_pool:
        layers.append(nn.MaxPool2d(2))  # 12x12 -> 6x6
        side = 6
    layers += [nn.Flatten(), nn.Linear(16 * side * side, 64), nn.ReLU()]
    return nn.Sequential(*layers)


def count(module):
    return sum(p.numel() for p in module.parameters())


wide = backbone(first_filters=32)
print(f"32 first filters: {count(wide):,} parameters")
print(f"  first conv {count(wide[0]):,}, second conv {count(wide[3]):,}")
# --8<-- [end:wider]

# --8<-- [start:no_pool]
import torch

flat = backbone(second_pool=False)
x = torch.zeros(1, 1, 24, 24)  # one 24 x 24 picture
print("flattened:", tuple(flat[:6](x).shape))
print(f"dense layer: {count(flat[6]):,} parameters")
print(f"backbone: {count(flat):,} parameters")
# --8<-- [end:no_pool]
