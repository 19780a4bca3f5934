"""Evaluation: the numbers that show a fine-tune learned something.

A loss curve says the model fits its training rows. These functions ask the question a reader
cares about, on rows the model never saw: does it answer in the right format, and is the
answer right? Generation is greedy, so the same model gives the same numbers on every run.

For retrievers: ``retrieval_scores`` ranks every passage for every query by cosine similarity
and reports recall@k (is the right passage in the top k?) and the mean reciprocal rank.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ftkit.chat import require_messages
from ftkit.tasks import score


# --8<-- [start:generate] docs/sft/reasoning.md
@contextlib.contextmanager
def left_padded_eval(model, tokenizer):
    """Eval mode and left padding for batched generation; all restored on
    exit.

    Left padding puts every prompt's last token right before the first
    generated one. A tokenizer without a pad token (Llama 3's) pads with its
    end-of-sequence token meanwhile: the attention mask hides padding.
    """
    was_training, side = model.training, tokenizer.padding_side
    pad = tokenizer.pad_token
    model.eval()
    tokenizer.padding_side = "left"
    if pad is None:
        tokenizer.pad_token = tokenizer.eos_token
    try:
        yield
    finally:
        model.train(was_training)
        tokenizer.padding_side = side
        if pad is None:
            tokenizer.pad_token = None


def greedy_new_text(
    model,
    tokenizer,
    batch,
    max_new_tokens: int,
    logits_processor=None,
) -> list[str]:
    """Greedy decoding of a left-padded batch: each row's new tokens, decoded
    without the special tokens (the end of turn that stops a reply, the
    padding). ``logits_processor``: an optional list passed to ``generate``,
    which applies it to the logits before each greedy choice."""
    extra = {}
    if logits_processor is not None:
        extra["logits_processor"] = logits_processor
    out = model.generate(
        **batch.to(model.device),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )
    new_tokens = out[:, batch["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


@torch.no_grad()
def generate_replies(
    model,
    tokenizer,
    chats,
    max_new_tokens: int = 48,
    batch_size: int = 64,
    logits_processors=None,
) -> list[str]:
    """Greedy replies to chats, in order, decoded without the prompt and
    special tokens.

    Each chat is a list of messages ending with a user turn; the chat template
    adds the assistant's header (``add_generation_prompt=True``), so the
    model's next tokens are its reply. Prompts are padded on the left, so
    every row's last token sits right before the first generated one. The
    model's train/eval mode and the tokenizer's padding side and pad token
    are restored afterwards. ``logits_processors``, if given, is called once
    per batch and returns the list of logits processors for that
    ``generate`` call (fresh ones: a processor may keep one state per row).

    Raises:
        ValueError: no chats, or a chat that breaks
            ``ftkit.chat.check_messages`` or does not end with a user turn
            (named by its index).
    """
    chats = list(chats)
    if not chats:
        raise ValueError("generate_replies: no chats given")
    for i, chat in enumerate(chats):
        where = f"chats[{i}]"
        require_messages(chat, where, "generate_replies: ", last="user")
    replies = []
    with left_padded_eval(model, tokenizer):
        for start in range(0, len(chats), batch_size):
            prompts = [
                tokenizer.apply_chat_template(
                    chat,
                    add_generation_prompt=True,
                    tokenize=False,
                )
                for chat in chats[start : start + batch_size]
            ]
            batch = tokenizer(
                prompts,
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            )
            processors = logits_processors() if logits_processors else None
            replies += greedy_new_text(
                model,
                tokenizer,
                batch,
                max_new_tokens,
                processors,
            )
    return replies


# --8<-- [end:generate]


def exact_match(predictions, references) -> float:
    """The share of predictions equal to their reference, ignoring surrounding whitespace."""
    predictions, references = list(predictions), list(references)
    if not references or len(predictions) != len(references):
        raise ValueError(
            f"exact_match: {len(predictions)} predictions for {len(references)} references; "
            "give one prediction per reference, at least one"
        )
    hits = sum(p.strip() == r.strip() for p, r in zip(predictions, references, strict=True))
    return hits / len(references)


def key_fact_rate(replies, facts) -> float:
    """The share of replies that contain their key fact (a substring, case and spacing kept).

    A chatbot's reply can be right in other words than the reference's, which exact match would
    count wrong; the key fact (the price, the hour, the password) is what the user needed.
    """
    replies, facts = list(replies), list(facts)
    if not facts or len(replies) != len(facts):
        raise ValueError(
            f"key_fact_rate: {len(replies)} replies for {len(facts)} facts; "
            "give one reply per fact, at least one"
        )
    return sum(fact in reply for reply, fact in zip(replies, facts, strict=True)) / len(facts)


@dataclass
class ReasoningScores:
    """Held-out scores of a reasoning model: ``format`` and ``exact_match`` are shares of rows."""

    format: float
    exact_match: float
    replies: list[str]

    def __str__(self) -> str:
        n = len(self.replies)
        return f"format {self.format:.0%}, exact match {self.exact_match:.0%} on {n}"


def reasoning_scores(model, tokenizer, rows, max_new_tokens: int = 48) -> ReasoningScores:
    """Score a model on reasoning rows (``ftkit.tasks.reasoning_task``'s rows).

    The model answers each row's question (every message but the last, which is the reference
    reply); ``ftkit.tasks.score`` checks the reply. ``format`` counts replies with the reasoning
    inside ``<think>...</think>`` followed by an answer; ``exact_match`` counts replies in that
    format whose answer equals the row's ``answer``.
    """
    rows = list(rows)
    for i, row in enumerate(rows):
        if "answer" not in row or "messages" not in row:
            raise ValueError(f"reasoning_scores: row {i} needs 'messages' and 'answer'")
    replies = generate_replies(model, tokenizer, [r["messages"][:-1] for r in rows], max_new_tokens)
    format_rate, exact_match = reply_rates(replies, [row["answer"] for row in rows])
    return ReasoningScores(format=format_rate, exact_match=exact_match, replies=replies)


def reply_rates(replies: list[str], answers: list[str]) -> tuple[float, float]:
    """The share of ``replies`` in the reasoning format, and the share whose answer equals its
    one of ``answers`` (``ftkit.tasks.score`` on each pair; the lists have one length)."""
    scores = [score(reply, answer) for reply, answer in zip(replies, answers, strict=True)]
    n = len(scores)
    return sum(s["format"] for s in scores) / n, sum(s["correct"] for s in scores) / n


# --------------------------------------------------------------------------- retrieval


def relevant_ranks(query_embeddings, passage_embeddings, relevant):
    """The 1-based rank of each query's relevant passage, by cosine similarity.

    Args:
        query_embeddings: ``(Q, D)`` tensor, one row per query.
        passage_embeddings: ``(P, D)`` tensor, one row per passage in the index.
        relevant: ``Q`` passage indices, the passage that answers each query.

    A passage that ties with the relevant one does not push it down: the rank is one plus the
    number of passages scored strictly higher.
    """
    import torch

    queries, passages = torch.as_tensor(query_embeddings), torch.as_tensor(passage_embeddings)
    relevant = torch.as_tensor(relevant, dtype=torch.long)
    if queries.dim() != 2 or passages.dim() != 2 or queries.shape[1] != passages.shape[1]:
        raise ValueError(
            f"expected (Q, D) queries and (P, D) passages, got {tuple(queries.shape)} and "
            f"{tuple(passages.shape)}"
        )
    if relevant.shape != (queries.shape[0],):
        raise ValueError(f"{queries.shape[0]} queries but {relevant.numel()} relevant indices")
    if len(relevant) and not (0 <= relevant.min() and relevant.max() < passages.shape[0]):
        raise ValueError(f"relevant indices must lie in 0..{passages.shape[0] - 1}")
    queries = torch.nn.functional.normalize(queries.float(), dim=-1)
    passages = torch.nn.functional.normalize(passages.float(), dim=-1)
    scores = queries @ passages.T  # cosine similarity, (Q, P)
    gold = scores[torch.arange(len(relevant)), relevant].unsqueeze(1)
    return (scores > gold).sum(dim=1) + 1


def recall_at_k(ranks, k: int) -> float:
    """The share of queries whose relevant passage is among the top ``k``."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ranks = [int(r) for r in ranks]
    if not ranks:
        raise ValueError("recall_at_k: no queries")
    return sum(r <= k for r in ranks) / len(ranks)


def mean_reciprocal_rank(ranks) -> float:
    """The mean of 1 / rank of the relevant passage: 1.0 when it is always first."""
    ranks = [int(r) for r in ranks]
    if not ranks or min(ranks) < 1:
        raise ValueError("mean_reciprocal_rank: give at least one rank, each >= 1")
    return sum(1 / r for r in ranks) / len(ranks)


@dataclass
class RetrievalScores:
    """recall@k for each k, MRR, and the rank of every query's relevant passage."""

    recall: dict[int, float]
    mrr: float
    ranks: list[int]

    def __str__(self) -> str:
        recall = ", ".join(f"recall@{k} {v:.0%}" for k, v in self.recall.items())
        return f"{recall}, MRR {self.mrr:.3f} on {len(self.ranks)} queries"


def retrieval_scores(query_embeddings, passage_embeddings, relevant, ks=(1, 5, 10)):
    """recall@k and MRR of a retriever, from its embeddings (see ``relevant_ranks``)."""
    ranks = relevant_ranks(query_embeddings, passage_embeddings, relevant).tolist()
    recall = {k: recall_at_k(ranks, k) for k in ks}
    return RetrievalScores(recall, mean_reciprocal_rank(ranks), ranks)
