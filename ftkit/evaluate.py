"""Evaluation: the numbers that show a fine-tune learned something.

A loss curve says the model fits its training rows. These functions ask the question a reader
cares about, on rows the model never saw: does it answer in the right format, and is the
answer right? Generation is greedy, so the same model gives the same numbers on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

# --8<-- [start:generate]
import torch

from ftkit.data import score


def _prompt_chats(chats) -> list[list[dict]]:
    chats = list(chats)
    if not chats:
        raise ValueError("generate_replies: no chats given")
    for i, chat in enumerate(chats):
        if not chat or not isinstance(chat, list) or chat[-1].get("role") != "user":
            raise ValueError(
                f"generate_replies: chat {i} must be a non-empty list of messages ending with a "
                f"user turn, got {str(chat)[:80]}"
            )
    return chats


@torch.no_grad()
def generate_replies(
    model, tokenizer, chats, max_new_tokens: int = 48, batch_size: int = 64
) -> list[str]:
    """Greedy replies to chats, in order, decoded without the prompt and special tokens.

    Each chat is a list of messages ending with a user turn; the chat template adds the
    assistant's header (``add_generation_prompt=True``), so the model's next tokens are its
    reply. Prompts are padded on the left, so every row's last token sits right before the
    first generated one. The model's train/eval mode and the tokenizer's padding side are
    restored afterwards.

    Raises:
        ValueError: no chats, or a chat that does not end with a user turn (named by index).
    """
    chats = _prompt_chats(chats)
    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"
    replies = []
    try:
        for start in range(0, len(chats), batch_size):
            prompts = [
                tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
                for chat in chats[start : start + batch_size]
            ]
            batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            batch = batch.to(model.device)
            out = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            new_tokens = out[:, batch["input_ids"].shape[1] :]
            replies += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    finally:
        model.train(was_training)
        tokenizer.padding_side = side
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
    """Score a model on reasoning rows (``ftkit.data.reasoning_task``'s shape).

    The model answers each row's question (every message but the last, which is the reference
    reply); ``ftkit.data.score`` checks the reply. ``format`` counts replies with the reasoning
    inside ``<think>...</think>`` followed by an answer; ``exact_match`` counts replies in that
    format whose answer equals the row's ``answer``.
    """
    rows = list(rows)
    for i, row in enumerate(rows):
        if "answer" not in row or "messages" not in row:
            raise ValueError(f"reasoning_scores: row {i} needs 'messages' and 'answer'")
    replies = generate_replies(model, tokenizer, [r["messages"][:-1] for r in rows], max_new_tokens)
    scores = [score(reply, row["answer"]) for reply, row in zip(replies, rows, strict=True)]
    n = len(rows)
    return ReasoningScores(
        format=sum(s["format"] for s in scores) / n,
        exact_match=sum(s["correct"] for s in scores) / n,
        replies=replies,
    )
