"""Data for fine-tuning: the small tasks the guide trains on, and chats turned into batches.

- ``faq()``: 12 question/answer chats about the sentences the tiny base model read in
  pretraining. Full fine-tuning and LoRA learn it in about a hundred steps on a CPU, which is
  what the PEFT and LoRA chapters need: a task where "it learned" is measured in seconds.
- ``chat_batch(tokenizer, chats)``: tokenizes chats with the chat template and puts the loss on
  the assistant's tokens only (every other label is -100, which cross-entropy ignores).

References:
    Assistant-only loss: transformers chat templating docs (``return_assistant_tokens_mask`` and
        ``{% generation %}`` markers); TRL ``SFTConfig(assistant_only_loss=True)``.
    Loss on completions only: Ouyang et al. 2022 (InstructGPT), arXiv:2203.02155.
"""

from __future__ import annotations

import torch

_FAQ = (
    ("What does fine-tuning adapt?", "A pretrained model, to a new task."),
    ("What does pretraining teach?", "To predict the next token."),
    ("What does transfer learning reuse?", "What a model learned on one task."),
    ("What does the learning rate set?", "The size of each step."),
    ("What does a loss function measure?", "How far the predictions are from the targets."),
    ("What does LoRA train?", "Two small low-rank matrices."),
    ("What does quantization store?", "Each weight in fewer bits."),
    ("What does retrieval-augmented generation look up?", "Documents, to put in the prompt."),
    ("What does an agent call?", "Tools, in a loop."),
    ("What are tokens?", "Pieces of words."),
    ("What does a chat template turn?", "A list of messages into one string."),
    ("Where does the gradient point?", "Uphill."),
)


def faq() -> list[list[dict[str, str]]]:
    """12 chats, a user question and the assistant's short answer, written for the guide.

    Returns:
        A list of conversations in the ``messages`` format, the same on every call.
    """
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in _FAQ]


def chat_batch(tokenizer, chats: list[list[dict[str, str]]]) -> dict[str, torch.Tensor]:
    """Tokenize chats into one padded batch with labels on the assistant's tokens only.

    Args:
        tokenizer: a tokenizer whose chat template has ``{% generation %}`` markers.
        chats: conversations, each a list of ``{"role": ..., "content": ...}`` messages.

    Returns:
        ``input_ids``, ``attention_mask`` and ``labels`` (shape ``(len(chats), T)``), ready
        for ``model(**batch)``; labels are -100 outside the assistant's replies.

    Raises:
        ValueError: a chat is not a list of role/content messages, or has no assistant
            reply to learn from (its loss would be 0/0), naming the chat's index.
    """
    if not chats:
        raise ValueError("chat_batch: no chats given")
    for i, chat in enumerate(chats):
        if not isinstance(chat, list) or not chat:
            raise ValueError(f"chat {i}: expected a non-empty list of messages, got {chat!r:.80}")
        for j, message in enumerate(chat):
            if not isinstance(message, dict) or set(message) != {"role", "content"}:
                raise ValueError(
                    f"chat {i}, message {j}: expected keys 'role' and 'content', "
                    f"got {message!r:.80}"
                )
    encoded = tokenizer.apply_chat_template(
        chats,
        return_dict=True,
        return_assistant_tokens_mask=True,
        padding=True,
        return_tensors="pt",
    )
    mask = encoded["assistant_masks"]
    silent = (mask.sum(dim=1) == 0).nonzero().flatten().tolist()
    if silent:
        raise ValueError(f"chat {silent[0]}: no assistant reply, so nothing to learn from")
    labels = encoded["input_ids"].masked_fill(mask == 0, -100)
    return {
        "input_ids": encoded["input_ids"],
        "attention_mask": encoded["attention_mask"],
        "labels": labels,
    }
