"""The multi-device chapter's exercises: a 13B model under ZeRO-2, and the
rows DistributedSampler gives each rank.

Run alone: python snippets/multi-device/index/ex03_exercises.py
"""

# --8<-- [start:zero2]
from ftkit.memory import GB, per_device_states

N_PARAMS = 13e9
N_GPUS = 4
CARD_GB = 80

# by hand: bf16 weights whole (2 bytes), bf16 gradients and the 12 bytes
# of AdamW states split over the GPUs
by_hand = 2 * N_PARAMS + (2 + 12) * N_PARAMS / N_GPUS
print(f"ZeRO-2 by hand: {by_hand / GB:.1f} GB per GPU")
for strategy in ("ddp", "zero1", "zero2", "zero3"):
    total = per_device_states(N_PARAMS, strategy, N_GPUS).total / GB
    print(
        f"{strategy:>5}: {total:5.1f} GB, fits {CARD_GB} GB: {total < CARD_GB}"
    )

# one step's traffic: the gradients reduce-scattered, the updated weights
# all-gathered, (N - 1) / N of the bf16 model each: a ring all-reduce's
sent = 2 * (N_GPUS - 1) / N_GPUS * 2 * N_PARAMS
print(f"sent per GPU per step: {sent / GB:.1f} GB")
# --8<-- [end:zero2]

# --8<-- [start:sampler]
from torch.utils.data import DistributedSampler

ROWS, RANKS = 10, 3


def rows_of(rank: int, drop_last: bool) -> list[int]:
    """The rows one rank reads in an epoch, in order."""
    sampler = DistributedSampler(
        range(ROWS),
        num_replicas=RANKS,
        rank=rank,
        shuffle=False,
        drop_last=drop_last,
    )
    return list(sampler)


for drop_last in (False, True):
    ranks = [rows_of(rank, drop_last) for rank in range(RANKS)]
    read = [row for rows in ranks for row in rows]
    print(f"drop_last={drop_last}: rank 1 reads {ranks[1]}")
    print(f"  all ranks: {ranks}")
    print(f"  read twice: {sorted({r for r in read if read.count(r) > 1})}")
    print(f"  never read: {sorted(set(range(ROWS)) - set(read))}")
# --8<-- [end:sampler]
