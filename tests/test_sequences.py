"""ftkit.sequences: the recall task, the toy topic language, the two readers and the count of
sequential operations. Invariants, learned-something checks on held-out data, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ftkit.sequences import (
    LSTMReader,
    TinyTransformer,
    recall_batch,
    sequential_depth,
    topic_batch,
    topic_transitions,
)
from ftkit.train import train_steps


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- recall_batch ---------------------------------------------------------------------------


def test_recall_labels_are_the_token_distance_back():
    tokens, labels = recall_batch(50, 10, 3, 5, seeded(0))
    assert tokens.shape == (50, 10) and labels.shape == (50,)
    assert tokens.dtype == labels.dtype == torch.long
    assert torch.equal(labels, tokens[:, 10 - 1 - 3])
    assert tokens.min() >= 0 and tokens.max() <= 4


def test_recall_extremes_first_token_and_previous_token():
    tokens, labels = recall_batch(5, 6, 5, 9, seeded(0))
    assert torch.equal(labels, tokens[:, 0])
    tokens, labels = recall_batch(5, 6, 1, 9, seeded(0))
    assert torch.equal(labels, tokens[:, -2])


def test_recall_is_seeded_and_held_out_seeds_differ():
    a, _ = recall_batch(20, 12, 2, 8, seeded(1))
    b, _ = recall_batch(20, 12, 2, 8, seeded(1))
    c, _ = recall_batch(20, 12, 2, 8, seeded(2))
    assert torch.equal(a, b)
    assert not set(map(tuple, a.tolist())) & set(map(tuple, c.tolist()))


def test_recall_labels_are_uniform_so_chance_is_one_over_vocab():
    _, labels = recall_batch(8000, 5, 2, 4, seeded(0))
    shares = torch.bincount(labels, minlength=4) / 8000
    assert torch.allclose(shares, torch.full((4,), 0.25), atol=0.03)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((4, 8, 8, 5), r"distance must be in 1\.\.7 for sequences of length 8, got 8"),
        ((4, 8, 20, 5), r"distance must be in 1\.\.7 .* got 20"),
        ((4, 8, 0, 5), r"distance must be in 1\.\.7 .* got 0"),
        ((0, 8, 2, 5), r"n must be >= 1 sequences, got 0"),
        ((4, 1, 1, 5), r"length must be >= 2 tokens, got 1"),
        ((4, 8, 2, 1), r"vocab must be >= 2 tokens, got 1"),
    ],
)
def test_recall_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        recall_batch(*args, generator=seeded(0))


# --- topic language -------------------------------------------------------------------------


def test_topic_transitions_allow_exactly_the_successors():
    chains = topic_transitions(3, 10, 4, seeded(0))
    assert chains.shape == (3, 10, 10)
    assert torch.allclose(chains.sum(-1), torch.ones(3, 10))
    assert ((chains > 0).sum(-1) == 4).all()
    assert not torch.equal(chains[0], chains[1])  # topics differ


def test_topic_batch_walks_only_allowed_transitions():
    chains = topic_transitions(4, 8, 2, seeded(0))
    tokens, topic = topic_batch(200, 12, chains, seeded(1))
    assert tokens.shape == (200, 12) and topic.shape == (200,)
    assert set(topic.tolist()) == {0, 1, 2, 3}
    prev, nxt = tokens[:, :-1], tokens[:, 1:]
    assert (chains[topic[:, None], prev, nxt] > 0).all()


def test_topic_batch_refuses_bad_transitions():
    with pytest.raises(ValueError, match=r"shape \(topics, vocab, vocab\), got \(4, 8\)"):
        topic_batch(2, 5, torch.full((4, 8), 1 / 8), seeded(0))
    with pytest.raises(ValueError, match="must sum to 1"):
        topic_batch(2, 5, torch.ones(2, 3, 3), seeded(0))
    with pytest.raises(ValueError, match=r"n >= 1 and length >= 2, got 2, 1"):
        topic_batch(2, 1, topic_transitions(2, 3, 1, seeded(0)), seeded(0))
    with pytest.raises(ValueError, match=r"successors must be in 1\.\.5 .* got 6"):
        topic_transitions(2, 5, 6, seeded(0))
    with pytest.raises(ValueError, match="topics >= 2"):
        topic_transitions(1, 5, 2, seeded(0))


# --- the readers ----------------------------------------------------------------------------


def test_readers_map_tokens_to_logits():
    tokens = torch.randint(0, 6, (3, 9), generator=seeded(0))
    assert LSTMReader(6, 8)(tokens).shape == (3, 6)
    assert LSTMReader(6, 8).states(tokens).shape == (3, 9, 8)
    assert TinyTransformer(6, 8, 2, 1, max_length=9)(tokens).shape == (3, 6)


@pytest.mark.parametrize(
    "model", [LSTMReader(5, 4), TinyTransformer(5, 4, 2, 1, max_length=6)], ids=["lstm", "attn"]
)
def test_readers_refuse_bad_tokens(model):
    with pytest.raises(
        ValueError, match=r"shape \(batch, length\) and dtype int64, got shape \(6,\)"
    ):
        model(torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="dtype int64, got shape .* dtype torch.float32"):
        model(torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"token ids in 0\.\.4, got ids from 0 to 5"):
        model(torch.tensor([[0, 5, 1]]))


def test_transformer_refuses_sequences_longer_than_its_positions():
    with pytest.raises(ValueError, match="at most 6 tokens .* got 7"):
        TinyTransformer(5, 4, 2, 1, max_length=6)(torch.zeros(1, 7, dtype=torch.long))


def test_model_configs_are_checked():
    with pytest.raises(ValueError, match="multiple of heads 3"):
        TinyTransformer(5, 8, 3, 1, max_length=6)
    with pytest.raises(ValueError, match="vocab >= 2"):
        LSTMReader(1, 8)


def fit_recall(model, distance: int, steps: int = 150, length: int = 8) -> float:
    """Train on fresh sequences; return accuracy on a held-out seed."""
    tokens, labels = recall_batch(steps * 32, length, distance, 4, seeded(1))
    batches = iter(zip(tokens.split(32), labels.split(32), strict=True))

    def loss():
        x, y = next(batches)
        return F.cross_entropy(model(x), y)

    train_steps(loss, torch.optim.AdamW(model.parameters(), lr=3e-3), steps)
    x, y = recall_batch(500, length, distance, 4, seeded(2))
    with torch.no_grad():
        return (model(x).argmax(-1) == y).float().mean().item()


def test_both_readers_learn_to_recall_the_previous_token():
    torch.manual_seed(0)
    assert fit_recall(LSTMReader(4, 16), distance=1) > 0.9
    torch.manual_seed(0)
    assert fit_recall(TinyTransformer(4, 16, 2, 1, max_length=8), distance=1) > 0.9


def test_the_transformer_recalls_the_first_token_of_the_sequence():
    torch.manual_seed(0)
    assert fit_recall(TinyTransformer(4, 16, 2, 1, max_length=8), distance=7) > 0.9


# --- sequential_depth -----------------------------------------------------------------------


def test_depth_counts_the_chain_not_the_size():
    for size in (1, 1000):
        x = torch.randn(size, requires_grad=True)
        assert sequential_depth((x * 2 + 1).sum()) == 3


def test_depth_of_a_chain_and_of_parallel_branches():
    x = torch.randn(4, requires_grad=True)
    y = x
    for _ in range(10):
        y = y * 1.5
    assert sequential_depth(y) == 10
    # four multiplies side by side, summed as a tree: 1 + 2 levels, not 4 + 3 in a row
    tree = (x * 1 + x * 2) + (x * 3 + x * 4)
    assert sequential_depth(tree) == 3


def test_depth_grows_with_length_for_an_rnn_and_not_for_attention():
    cell = torch.nn.LSTMCell(4, 4)
    attention = TinyTransformer(3, 4, 2, 1, max_length=64).blocks

    def rnn_depth(length):
        x = torch.randn(1, length, 4, requires_grad=True)
        h = c = torch.zeros(1, 4)
        for t in range(length):
            h, c = cell(x[:, t], (h, c))
        return sequential_depth(h)

    def attention_depth(length):
        return sequential_depth(attention(torch.randn(1, length, 4, requires_grad=True)))

    per_step = rnn_depth(9) - rnn_depth(8)
    assert per_step > 0
    assert rnn_depth(64) - rnn_depth(8) == 56 * per_step
    assert attention_depth(8) == attention_depth(64)


def test_nn_lstm_records_its_whole_loop_as_one_node_on_the_cpu():
    # why the page unrolls nn.LSTM into nn.LSTMCell steps to count its chain
    lstm = torch.nn.LSTM(4, 4, batch_first=True)

    def depth(length):
        return sequential_depth(lstm(torch.randn(1, length, 4, requires_grad=True))[0])

    assert depth(8) == depth(64) < 8


def test_depth_refuses_a_tensor_without_a_graph():
    with pytest.raises(ValueError, match="no grad_fn"):
        sequential_depth(torch.randn(3))
    with torch.no_grad():
        y = torch.randn(3, requires_grad=True) * 2
    with pytest.raises(ValueError, match="no grad_fn"):
        sequential_depth(y)
