"""Data parallelism and sharding by hand: the training script of the multi-device chapter.

``torchrun`` starts this module once per process (a *rank*) and tells each its rank and the
number of ranks through environment variables. Every rank loads the same model, reads its own
share of each global batch (``DistributedSampler``), and either

- ``ddp``: keeps a full copy of the model and averages the gradients over the ranks with an
  all-reduce during the backward pass (``DistributedDataParallel``), or
- ``fsdp``: shards every parameter over the ranks, layer by layer (FSDP2's ``fully_shard``):
  each layer's weights are all-gathered just before it runs and its gradients reduce-scattered
  after, so each rank keeps and updates only its slice.

The global batch is the same whatever the number of ranks, so one process and N processes take
the same optimizer steps up to rounding: the chapter launches it with one and with two processes
on the CPU (gloo) and compares the loss curves. Rank 0 writes the losses, the median step time
and the median time of one all-reduce of every gradient to ``<how>_<world>.json``.

    torchrun --standalone --nproc_per_node=2 -m ftkit.multidevice [ddp|fsdp]
        [--model tiny | a hub id or folder] [--steps 6] [--batch 8] [--seq-len 32]
        [--lr 1e-3] [--cpu]

On a node with a GPU per rank it uses NCCL, one GPU per rank; with fewer GPUs than ranks (a
one-GPU Colab running two ranks) it falls back to gloo on the CPU. The model is trained in fp32:
the point is the equality of the runs, not speed. Nothing imports this module; it imports
``ftkit.tiny`` for the default model and text.

References:
    PyTorch docs, read 2026-12-01: DDP notes (docs.pytorch.org/docs/stable/notes/ddp.html),
        ``fully_shard`` (docs.pytorch.org/docs/stable/distributed.fsdp.fully_shard.html),
        torchrun (docs.pytorch.org/docs/stable/elastic/run.html).
    Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
        arXiv:2006.15704, Section 3 (DDP's gradient all-reduce).
    Zhao et al. 2023, "PyTorch FSDP", arXiv:2304.11277, Section 3 (units of sharding).
    Simplifies: the examples of pytorch/examples ``distributed/ddp-tutorial-series`` and
        ``distributed/FSDP2``, and what accelerate's ``prepare`` does for DDP and FSDP2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging

from ftkit.tiny import corpus, tiny_llama

# The defaults of the command-line flags: the knobs. A GPU run passes other values
# (``--model``, ``--steps``, ``--batch``) on the launch line.
MODEL = "tiny"  # Colab GPU: a hub id of a Llama-style model, e.g. meta-llama/Llama-3.2-1B
STEPS = 6  # Colab GPU: 200
GLOBAL_BATCH = 8  # Colab GPU: 64 (rows per optimizer step, all ranks together)
SEQ_LEN = 32  # Colab GPU: 512
LR = 1e-3  # Colab GPU: 2e-5
WRAPS = ("ddp", "fsdp")


# --8<-- [start:group] docs/multi-device/index.md
def join_group(gpus: bool = True) -> tuple[int, int, torch.device]:
    """Join the group torchrun set up; return (rank, world size, device).

    NCCL with one GPU per rank when ``gpus`` and the node has a GPU for
    each of its ranks; gloo on the CPU otherwise (two ranks on one GPU).
    """
    alone = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}
    alone |= {"LOCAL_WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for name, value in {**alone, "MASTER_PORT": "29500"}.items():
        os.environ.setdefault(name, value)  # started alone: a group of one
    local_rank = int(os.environ["LOCAL_RANK"])
    ranks_here = int(os.environ["LOCAL_WORLD_SIZE"])
    if gpus and torch.cuda.device_count() >= ranks_here:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # before any collective or shard
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), device


# --8<-- [end:group]


# --8<-- [start:data] docs/multi-device/index.md
def rank_rows(tokenizer, seq_len: int, batch: int, rank: int, world: int):
    """The text as rows of ``seq_len`` tokens, and a loader of this rank's
    share of each global batch of ``batch`` rows: ``batch // world`` rows,
    every world-th one from row ``rank`` on (no shuffling here)."""
    if batch % world:
        raise ValueError(f"--batch {batch} does not split over {world} ranks")
    lines = tokenizer(corpus())["input_ids"]
    ids = torch.tensor([token for line in lines for token in line])
    # Every row the same length: each rank's mean loss is over as many
    # tokens as its neighbour's, so the mean of the means is the mean.
    rows = ids[: len(ids) // seq_len * seq_len].view(-1, seq_len)
    shard = DistributedSampler(  # rank r reads rows r, r + world, ...
        range(len(rows)),
        num_replicas=world,
        rank=rank,
        shuffle=False,
    )
    loader = DataLoader(  # whole batches only: every step sees `batch` rows
        range(len(rows)), batch // world, sampler=shard, drop_last=True
    )
    return rows, loader


# --8<-- [end:data]


# --8<-- [start:wrap] docs/multi-device/index.md
def wrap(model, how: str, device: torch.device, lr: float):
    """Spread ``model`` over the ranks, then build its optimizer."""
    if how == "ddp":  # a full copy per rank; gradients all-reduced
        ids = [device.index] if device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=ids)
    else:  # FSDP2: each layer is a unit, gathered only while it runs
        for layer in model.model.layers:
            fully_shard(layer)
        fully_shard(model)  # the rest: embeddings, final norm, output
    # After the wrapping: fully_shard swaps each parameter for a DTensor
    # shard, and an optimizer built before would update the old tensors.
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    return model, optimizer


def held_here(model) -> int:
    """Parameters this rank stores: under FSDP each is a DTensor shard."""
    params = list(model.parameters())
    shards = [p.to_local() if hasattr(p, "to_local") else p for p in params]
    return sum(shard.numel() for shard in shards)


# --8<-- [end:wrap]


# --8<-- [start:loop] docs/multi-device/index.md
def train(model, optimizer, rows, loader, steps: int, device, world: int):
    """``steps`` optimizer steps; return the global batch's loss at each
    step and the seconds each step took."""
    losses, seconds = [], []
    batches = iter(loader)
    for _ in range(steps):
        index = next(batches)
        start = time.perf_counter()
        batch = rows[index].to(device)
        loss = model(input_ids=batch, labels=batch).loss  # this rank's mean
        loss.backward()  # DDP all-reduces, FSDP reduce-scatters, here
        optimizer.step()
        optimizer.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        logged = loss.detach().clone()  # for the log: every rank's mean,
        dist.all_reduce(logged)  # summed over the ranks,
        losses.append(logged.item() / world)  # then averaged
    return losses, seconds


def time_all_reduce(n_values: int, device, repeats: int = 21) -> float:
    """Median seconds of one all-reduce of ``n_values`` fp32 numbers: one
    step's gradients under DDP, timed alone."""
    flat = torch.zeros(n_values, device=device)
    seconds = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


# --8<-- [end:loop]


# fmt: off
# --8<-- [start:main] docs/multi-device/index.md
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: how to spread the model, and the knobs."""
    parser = argparse.ArgumentParser(prog="ftkit.multidevice")
    parser.add_argument("how", nargs="?", default="ddp", choices=WRAPS)
    parser.add_argument("--model", default=MODEL)  # tiny, hub id, folder
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=GLOBAL_BATCH)
    parser.add_argument("--seq-len", type=int, default=SEQ_LEN)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--cpu", action="store_true")  # even with GPUs
    args = parser.parse_args(argv)
    for flag in ("steps", "batch", "seq_len"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """One run: join the group, train, report from rank 0, leave."""
    args = parse_args(argv)
    logging.disable_progress_bar()  # one bar per rank would flood stderr
    model_id = args.model
    if model_id == "tiny":  # built before the group: inside one, only
        model_id = tiny_llama(pretrain_steps=100)  # rank 0 would save it
    rank, world, device = join_group(gpus=not args.cpu)
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    rows, loader = rank_rows(
        tokenizer, args.seq_len, args.batch, rank, world
    )
    if args.steps > len(loader):
        raise ValueError(
            f"--steps {args.steps}: the text makes only {len(loader)} "
            f"batches of {args.batch} rows of {args.seq_len} tokens"
        )
    model = AutoModelForCausalLM.from_pretrained(model_id).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    model, optimizer = wrap(model, args.how, device, args.lr)
    first_rows = next(iter(loader)).tolist()
    losses, seconds = train(
        model, optimizer, rows, loader, args.steps, device, world
    )
    all_reduce_s = time_all_reduce(n_params, device)

    seen = [None] * world  # every rank's first rows and parameters held
    dist.all_gather_object(seen, (first_rows, held_here(model)))
    if rank == 0:
        per_rank = args.batch // world
        print(f"{args.how}, world size {world}, {per_rank} rows per rank")
        for r, (their_rows, held) in enumerate(seen):
            print(
                f"rank {r}: step 0 rows {their_rows}, "
                f"holds {held:,} of {n_params:,} parameters"
            )
        result = {
            "losses": losses,
            "n_params": n_params,
            "step_s": statistics.median(seconds),
            "allreduce_s": all_reduce_s,
        }
        Path(f"{args.how}_{world}.json").write_text(json.dumps(result))
    del model, optimizer  # DDP and FSDP hold the group: free them first
    dist.barrier()  # every rank done before the group closes
    dist.destroy_process_group()


# --8<-- [end:main]
# fmt: on


if __name__ == "__main__":
    main()
