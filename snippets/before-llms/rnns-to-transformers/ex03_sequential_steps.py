"""Steps that must wait: the longest chain of dependent operations in a
forward pass, the matmul FLOPs, and the time of a forward and backward pass
on one thread.

Run alone:
python snippets/before-llms/rnns-to-transformers/ex03_sequential_steps.py
"""

# --8<-- [start:depth]
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ftkit.sequences import LSTMReader, TinyTransformer, sequential_depth

VOCAB, WIDTH = 8, 32  # the models of the recall task above


def unrolled(lstm, x):
    """nn.LSTM's own loop, one nn.LSTMCell step per position."""
    cell = nn.LSTMCell(lstm.input_size, lstm.hidden_size)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, name, getattr(lstm, f"{name}_l0"))
    h = c = x.new_zeros(x.shape[0], lstm.hidden_size)
    for t in range(x.shape[1]):  # step t needs h and c from step t - 1
        h, c = cell(x[:, t], (h, c))
    return h


def count(run, x):
    """(longest chain of dependent ops, matmul FLOPs) of one forward."""
    with FlopCounterMode(display=False) as flops:
        out = run(x)
    return sequential_depth(out), flops.get_total_flops()


torch.manual_seed(0)
lstm = LSTMReader(VOCAB, hidden=WIDTH)
transformer = TinyTransformer(
    VOCAB, width=WIDTH, heads=2, layers=1, max_length=24
)
x = torch.randn(1, 8, WIDTH)
same = torch.allclose(
    unrolled(lstm.lstm, x), lstm.lstm(x)[0][:, -1], atol=1e-6
)
print(f"the unrolled loop computes nn.LSTM's output: {same}")
print("        LSTM                   transformer block")
print("length  chain  matmul MFLOPs   chain  matmul MFLOPs")
for n in (16, 32, 64, 128, 256):
    x = torch.randn(1, n, WIDTH, requires_grad=True)
    lstm_steps, lstm_flops = count(lambda x: unrolled(lstm.lstm, x), x)
    # the transformer's blocks, at n positions (past its 24-position table)
    attn_steps, attn_flops = count(transformer.blocks, x)
    print(
        f"{n:6}  {lstm_steps:5,}  {lstm_flops / 1e6:13.2f}"
        f"   {attn_steps:5,}  {attn_flops / 1e6:13.2f}"
    )
# --8<-- [end:depth]

# --8<-- [start:timing]
import time

import torch.nn.functional as F

# one thread: time.thread_time() counts only the thread that calls it
torch.set_num_threads(1)
BATCH = 32
LENGTHS = (16, 32, 64, 128, 256)
REPEATS = 5


def pass_seconds(model, tokens):
    """CPU seconds of one forward and backward pass on this thread: time
    the process spends waiting for a core is not counted."""
    start = time.thread_time()
    # a dummy target (the first token): only the work is timed, not learning
    F.cross_entropy(model(tokens), tokens[:, 0]).backward()
    return time.thread_time() - start


torch.manual_seed(0)
lstm = LSTMReader(VOCAB, hidden=WIDTH)
transformer = TinyTransformer(
    VOCAB, width=WIDTH, heads=2, layers=1, max_length=max(LENGTHS)
)
models = {"LSTM": lstm, "transformer": transformer}
best = {(kind, n): float("inf") for kind in models for n in LENGTHS}
for attempt in range(REPEATS + 1):  # rounds over all lengths, so a busy
    for n in LENGTHS:  # moment slows one round, not one length
        tokens = torch.randint(0, VOCAB, (BATCH, n))
        for kind, model in models.items():
            seconds = pass_seconds(model, tokens)
            if attempt:  # round 0 warms up and is not counted
                best[kind, n] = min(best[kind, n], seconds)
print(f"threads: {torch.get_num_threads()}; the fastest of {REPEATS} passes")
print("ratio to length 16")
print("length  length ratio  LSTM time ratio  transformer time ratio")
for n in LENGTHS:
    grow = [best[kind, n] / best[kind, 16] for kind in models]
    print(f"{n:6}  {n // 16:12}  {grow[0]:15.1f}  {grow[1]:22.1f}")
lstm_x, attn_x = (best[kind, 256] / best[kind, 16] for kind in models)
print(f"both grow with length: {min(lstm_x, attn_x) > 3}")
print(f"the transformer's time grows faster: {attn_x > lstm_x}")
# --8<-- [end:timing]
