"""ftkit.multidevice, the multi-device chapter's training script: its data split, its wrapping
and its command line, in a process group of one (the chapter's doc tests launch it with
torchrun in one and two processes and compare the loss curves)."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit import multidevice
from ftkit.tiny import tiny_llama


@pytest.fixture(scope="module")
def model_id():
    return tiny_llama(pretrain_steps=100)


@pytest.fixture
def group_of_one(tmp_path):
    """A gloo group of one process, through a file: no port to collide with other tests."""
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("world", [1, 2, 4])
def test_each_row_of_a_global_batch_goes_to_one_rank(model_id, world):
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    shares = [multidevice.rank_rows(tokenizer, 32, 8, rank, world)[1] for rank in range(world)]
    for step, batches in enumerate(zip(*shares, strict=True)):
        rows = [index.tolist() for index in batches]
        assert {len(r) for r in rows} == {8 // world}  # equal shards
        assert sorted(sum(rows, [])) == list(range(8 * step, 8 * step + 8))


def test_a_batch_that_does_not_split_is_refused(model_id):
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    with pytest.raises(ValueError, match="--batch 8 does not split over 3 ranks"):
        multidevice.rank_rows(tokenizer, 32, 8, 0, 3)


@pytest.mark.parametrize(
    "argv",
    [["zero3"], ["--steps", "0"], ["--batch", "-8"], ["ddp", "--seq-len", "0"]],
)
def test_bad_command_lines_are_refused(argv):
    with pytest.raises(SystemExit):
        multidevice.parse_args(argv)


def test_the_defaults_are_the_chapters_run():
    args = multidevice.parse_args([])
    assert (args.how, args.model, args.steps, args.batch, args.seq_len, args.cpu) == (
        "ddp",
        "tiny",
        6,
        8,
        32,
        False,
    )


@pytest.mark.parametrize("how", ["ddp", "fsdp"])
def test_the_optimizer_updates_the_wrapped_parameters(model_id, group_of_one, how):
    """The optimizer is built after the wrapping, on the tensors the wrapped model trains (under
    FSDP, DTensor shards), so a step moves the weights the next forward pass uses."""
    model = AutoModelForCausalLM.from_pretrained(model_id)
    n_params = sum(p.numel() for p in model.parameters())
    model, optimizer = multidevice.wrap(model, how, torch.device("cpu"), 1e-3)
    trained = {id(p) for p in model.parameters()}
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == trained
    assert multidevice.held_here(model) == n_params  # one rank holds every shard
    batch = torch.arange(16).view(2, 8)
    before = model(input_ids=batch, labels=batch).loss
    before.backward()
    optimizer.step()
    after = model(input_ids=batch, labels=batch).loss
    assert after.item() < before.item()
