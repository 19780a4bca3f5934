"""The RNN chapter's exercises: an LSTM's parameters, and the chain of two
stacked LSTM layers.

Run alone: python snippets/before-llms/rnns-to-transformers/ex04_exercises.py
"""

# --8<-- [start:lstm_size]
from torch import nn

INPUT, HIDDEN = 32, 64
lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True)
# four gates, each with an input matrix, a recurrent matrix and two biases
predicted = 4 * (HIDDEN * INPUT + HIDDEN * HIDDEN + 2 * HIDDEN)
actual = sum(p.numel() for p in lstm.parameters())
print(f"predicted {predicted:,}, nn.LSTM has {actual:,}")
# --8<-- [end:lstm_size]

# --8<-- [start:chain]
import torch

from ftkit.sequences import sequential_depth

torch.manual_seed(0)
LENGTH, LAYERS = 512, 2
cells = [nn.LSTMCell(32, 32) for _ in range(LAYERS)]
x = torch.randn(1, LENGTH, 32)
states = [(x.new_zeros(1, 32), x.new_zeros(1, 32)) for _ in cells]
for t in range(LENGTH):
    inp = x[:, t]
    for k, cell in enumerate(cells):  # layer k reads layer k - 1's h at t
        states[k] = cell(inp, states[k])
        inp = states[k][0]
print(f"length {LENGTH}, layer 1: chain {sequential_depth(states[0][0]):,}")
print(f"length {LENGTH}, layer 2: chain {sequential_depth(states[1][0]):,}")
# --8<-- [end:chain]
