"""Recurrence against attention: a long-range recall task, the two tiny models, and a count of
the operations one forward pass must run one after another.

- ``recall_batch``: random token sequences whose label is the token ``distance`` positions
  before the last one. Nothing but memory solves it: every token is uniform and independent.
- ``LSTMReader``: an LSTM reads the sequence left to right; its last hidden state predicts the
  label. Everything it knows about an early token has passed through every later step.
- ``TinyTransformer``: token plus learned position embeddings, pre-LayerNorm self-attention
  blocks (attention written out, as in the Transformer paper's Eq. 1), a head on the last
  position. Every position reaches every other in one attention step.
- ``topic_transitions`` / ``topic_batch``: a toy language for pretraining, ULMFiT's recipe in
  miniature. Each topic is a Markov chain in which every token has a few allowed successors;
  a sequence's label is its topic. Next-token prediction on unlabelled sequences must learn the
  chains, which is what the topic label needs, so a pretrained reader needs few labels.
- ``sequential_depth``: the longest chain of operations that PyTorch's autograd recorded for a
  result (the graph it keeps for the backward pass), each counted as one step, views included.
  It is the number of steps that no amount of parallel hardware can overlap: it grows with the
  length for an unrolled RNN and not for attention.

References:
    Howard and Ruder 2018, *Universal Language Model Fine-tuning for Text Classification*
    (ULMFiT), arXiv:1801.06146: pretrain an LSTM language model, then fine-tune it on the
    target task with discriminative learning rates and gradual unfreezing (Section 3.2, 3.3).
    Hochreiter and Schmidhuber 1997, *Long Short-Term Memory*, Neural Computation 9(8); the
    forget gate that ``nn.LSTM`` has: Gers, Schmidhuber and Cummins 2000, *Learning to Forget:
    Continual Prediction with LSTM*, Neural Computation 12(10).
    Vaswani et al. 2017, *Attention Is All You Need*, arXiv:1706.03762: Eq. 1 (scaled
    dot-product attention); Table 1 (sequential operations O(n) for recurrent layers, O(1) for
    self-attention; maximum path length O(n) against O(1)).
    PyTorch ``torch/nn/modules/rnn.py`` (``nn.LSTM``) and ``torch/nn/modules/transformer.py``
    (``nn.TransformerEncoderLayer``), which these simplify: no dropout, no masks, no batching of
    variable lengths.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def recall_batch(
    n: int, length: int, distance: int, vocab: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of ``length`` random tokens, labelled with the token ``distance``
    positions before the last one (the recall distance ``r``).

    Args:
        n: how many sequences.
        length: tokens per sequence, ``L``.
        distance: how far back the label is, ``r``, in ``1 .. L - 1``: 1 is the token just
            before the last, ``L - 1`` the first token.
        vocab: tokens are drawn uniformly from ``0 .. vocab - 1``, so chance is ``1 / vocab``.
        generator: the random source (a seeded ``torch.Generator``): another seed, another
            held-out set.

    Returns:
        ``tokens`` of shape ``(n, L)`` (int64) and ``labels`` of shape ``(n,)``, where
        ``labels[i] == tokens[i, L - 1 - r]``.

    Raises:
        ValueError: a count below 1, a vocabulary below 2, or a distance outside ``1 .. L - 1``,
            naming the value expected.
    """
    if n < 1:
        raise ValueError(f"recall_batch: n must be >= 1 sequences, got {n}")
    if length < 2:
        raise ValueError(f"recall_batch: length must be >= 2 tokens, got {length}")
    if not 1 <= distance <= length - 1:
        raise ValueError(
            f"recall_batch: distance must be in 1..{length - 1} for sequences of length "
            f"{length}, got {distance}"
        )
    if vocab < 2:
        raise ValueError(f"recall_batch: vocab must be >= 2 tokens, got {vocab}")
    tokens = torch.randint(0, vocab, (n, length), generator=generator)  # (n, L)
    return tokens, tokens[:, length - 1 - distance].clone()


def topic_transitions(
    topics: int, vocab: int, successors: int, generator: torch.Generator
) -> torch.Tensor:
    """One Markov chain per topic: each token may be followed by ``successors`` tokens, chosen
    at random for each topic and token, each with probability ``1 / successors``.

    Returns:
        ``(topics, vocab, vocab)`` float tensor ``P``: ``P[k, a, b]`` is the probability that
        token ``b`` follows token ``a`` in topic ``k``; every row sums to 1.

    Raises:
        ValueError: fewer than 2 topics or tokens, or ``successors`` outside ``1 .. vocab``.
    """
    if topics < 2 or vocab < 2:
        raise ValueError(
            f"topic_transitions: expected topics >= 2 and vocab >= 2, got {topics}, {vocab}"
        )
    if not 1 <= successors <= vocab:
        raise ValueError(
            f"topic_transitions: successors must be in 1..{vocab} (the vocabulary), "
            f"got {successors}"
        )
    chains = torch.zeros(topics, vocab, vocab)
    for k in range(topics):
        for a in range(vocab):
            allowed = torch.randperm(vocab, generator=generator)[:successors]
            chains[k, a, allowed] = 1.0 / successors
    return chains


def topic_batch(
    n: int, length: int, transitions: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences, each from a topic drawn uniformly, walked along that topic's chain.

    Args:
        n: how many sequences.
        length: tokens per sequence, at least 2.
        transitions: ``(topics, vocab, vocab)`` row-stochastic tensor from ``topic_transitions``.
        generator: the random source (a seeded ``torch.Generator``).

    Returns:
        ``tokens`` ``(n, length)`` int64, the first token uniform, and ``topics`` ``(n,)`` int64.

    Raises:
        ValueError: a count or length too small, or ``transitions`` not of shape
            ``(topics, vocab, vocab)`` with rows summing to 1.
    """
    if n < 1 or length < 2:
        raise ValueError(f"topic_batch: expected n >= 1 and length >= 2, got {n}, {length}")
    if transitions.dim() != 3 or transitions.shape[1] != transitions.shape[2]:
        raise ValueError(
            "topic_batch: expected transitions of shape (topics, vocab, vocab), got "
            f"{tuple(transitions.shape)}"
        )
    ones = torch.ones(transitions.shape[:2], device=transitions.device)
    if not torch.allclose(transitions.sum(-1), ones):
        raise ValueError("topic_batch: every row of transitions must sum to 1 (a distribution)")
    topics, vocab = transitions.shape[0], transitions.shape[1]
    label = torch.randint(0, topics, (n,), generator=generator)  # (n,)
    tokens = torch.empty(n, length, dtype=torch.long)
    tokens[:, 0] = torch.randint(0, vocab, (n,), generator=generator)
    for t in range(1, length):
        rows = transitions[label, tokens[:, t - 1]]  # (n, vocab): each sequence's next-token law
        tokens[:, t] = torch.multinomial(rows, 1, generator=generator)[:, 0]
    return tokens, label


def _check_tokens(tokens: torch.Tensor, vocab: int, max_length: int | None, who: str) -> None:
    """Refuse what the embedding would fail on, with a message that says what was expected."""
    if tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(
            f"{who}: expected tokens of shape (batch, length) and dtype int64, got shape "
            f"{tuple(tokens.shape)} and dtype {tokens.dtype}"
        )
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(
            f"{who}: expected token ids in 0..{vocab - 1}, got ids from {tokens.min().item()} "
            f"to {tokens.max().item()}"
        )
    if max_length is not None and tokens.shape[1] > max_length:
        raise ValueError(
            f"{who}: expected sequences of at most {max_length} tokens (its position table), "
            f"got {tokens.shape[1]}"
        )


class LSTMReader(nn.Module):
    """Embedding, one ``nn.LSTM`` layer, and a linear head on the last hidden state.

    ``forward(tokens)`` maps ``(B, L)`` token ids to ``(B, vocab)`` logits. The same head on
    every state of ``states(tokens)`` is a next-token language model.
    """

    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        if vocab < 2 or hidden < 1:
            raise ValueError(
                f"LSTMReader: expected vocab >= 2 and hidden >= 1, got {vocab}, {hidden}"
            )
        self.vocab = vocab
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def states(self, tokens: torch.Tensor) -> torch.Tensor:
        """The hidden state after every token: ``(B, L)`` ids to ``(B, L, hidden)``."""
        _check_tokens(tokens, self.vocab, None, "LSTMReader")
        states, _ = self.lstm(self.embed(tokens))  # (B, L, H): h_t for every t
        return states

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.states(tokens)[:, -1])  # (B, vocab), from h_L alone


class AttentionBlock(nn.Module):
    """Pre-LayerNorm block: ``x + Attention(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"AttentionBlock: width {width} must be a multiple of heads {heads}")
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)  # W^Q, W^K, W^V of every head, in one matrix
        self.out = nn.Linear(width, width)  # W^O
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape  # B sequences, T positions, W = width
        head = w // self.heads
        # (B, T, 3W) -> (3, B, heads, T, head): queries, keys and values of all positions at once
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, head).permute(2, 0, 3, 1, 4)
        # Eq. 1, Vaswani et al. 2017: softmax(Q K^T / sqrt(d_k)) V; scores are (B, heads, T, T)
        weights = (q @ k.transpose(-1, -2) / math.sqrt(head)).softmax(dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(b, t, w)  # (B, T, W)
        x = x + self.out(mixed)
        return x + self.mlp(self.norm2(x))


class TinyTransformer(nn.Module):
    """Token and learned position embeddings, ``layers`` attention blocks, a final LayerNorm and
    a linear head on the last position.

    Attention alone does not know order; the position embeddings (``max_length`` of them) are
    what let it find "the token ``r`` back". There is no causal mask: every position sees every
    other, which is fine for classifying from the last position (a language model would need the
    mask). ``forward(tokens)`` maps ``(B, L)`` token ids, ``L`` at most ``max_length``, to
    ``(B, vocab)`` logits.
    """

    def __init__(self, vocab: int, width: int, heads: int, layers: int, max_length: int) -> None:
        super().__init__()
        if vocab < 2 or layers < 1 or max_length < 1:
            raise ValueError(
                f"TinyTransformer: expected vocab >= 2, layers >= 1 and max_length >= 1, "
                f"got {vocab}, {layers}, {max_length}"
            )
        self.vocab, self.max_length = vocab, max_length
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(max_length, width)
        self.blocks = nn.Sequential(*(AttentionBlock(width, heads) for _ in range(layers)))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _check_tokens(tokens, self.vocab, self.max_length, "TinyTransformer")
        x = self.embed(tokens) + self.position.weight[: tokens.shape[1]]  # (B, L, W)
        return self.head(self.norm(self.blocks(x))[:, -1])  # (B, vocab)


def sequential_depth(output: torch.Tensor) -> int:
    """The longest chain of operations PyTorch's autograd recorded for ``output``, each one
    using the result of the one before and each counted as one step (views included): how many
    steps the computation takes with unlimited parallel hardware.

    Counts the nodes of the autograd graph (one node per recorded op, the ``AccumulateGrad`` of
    a leaf excluded), so ``(x * 2 + 1).sum()`` has depth 3 whatever the size of ``x``; one
    ``nn.LSTMCell`` step is a few nodes (its matrix product, gate activations and cell update).
    The count depends on how PyTorch records an op, not on the CPU: another PyTorch version, or
    CUDA (whose fused LSTM cell records fewer ops), can give another number. ``nn.LSTM`` on the
    CPU records its whole loop as one node, so unroll it to count its chain.

    Raises:
        ValueError: ``output`` has no autograd graph (computed without gradients, or a leaf).
    """
    if output.grad_fn is None:
        raise ValueError(
            "sequential_depth: expected a tensor computed from inputs that require grad "
            "(it has no grad_fn); build it outside torch.no_grad() from such inputs"
        )
    depth: dict[object, int] = {}
    stack = [(output.grad_fn, False)]
    while stack:  # iterative post-order: an RNN's graph is deeper than Python's recursion limit
        node, children_done = stack.pop()
        if node in depth:
            continue
        children = [c for c, _ in node.next_functions if c is not None]
        if children_done:
            own = 0 if type(node).__name__ == "AccumulateGrad" else 1
            depth[node] = own + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[output.grad_fn]
