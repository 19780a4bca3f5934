"""Chats: the messages format, its one set of checks, and chats turned into training batches.

A chat is a list of ``{"role": ..., "content": ...}`` messages, the format of transformers' chat
templates and TRL's conversational data sets. Content is a string or, for vision-language chats,
a list of parts, ``{"type": "text", "text": ...}`` and ``{"type": "image"}``.

- ``check_messages(messages)``: every problem of one chat, as (field, problem) pairs
  (``require_messages`` raises the first). The data
  set validator, the batchers (``chat_batch`` here, ``ftkit.vlm.VisionChatCollator``) and the
  evaluators (``ftkit.evaluate``) all check chats with it, so a chat is good or bad the same way
  everywhere.
- ``faq()``: 12 question/answer chats about the sentences the tiny base model read in
  pretraining. Full fine-tuning and LoRA learn it in about a hundred steps on a CPU, which is
  what the PEFT and LoRA chapters need: a task where "it learned" is measured in seconds.
- ``chat_batch(tokenizer, chats)``: tokenizes chats with the chat template and puts the loss on
  the assistant's tokens only (every other label is -100, which cross-entropy ignores), with or
  without ``{% generation %}`` markers in the template and a pad token in the tokenizer.
- ``show_loss_tokens``: an example's tokens with the ones that carry loss in [brackets].

References:
    Assistant-only loss: transformers chat templating docs (``return_assistant_tokens_mask`` and
        ``{% generation %}`` markers); TRL ``SFTConfig(assistant_only_loss=True)``.
    Loss on completions only: Ouyang et al. 2022 (InstructGPT), arXiv:2203.02155.
"""

from __future__ import annotations

import re
import reprlib

import torch

ROLES = ("system", "user", "assistant")
TOOL_ROLE = "tool"  # a tool's result, after an assistant turn that calls tools (``tool_calls``)
FIRST_ROLES = ("system", "user")  # a chat opens with an optional system message, then the user
_NEXT_ROLES = {"system": ("user",), "user": ("assistant",), "assistant": ("user",)}
_AFTER_TOOL_CALLS = ("tool",)  # an assistant that calls tools is answered by the tools
_AFTER_TOOL = ("tool", "assistant")  # more results, or the assistant reads them
IGNORE_INDEX = -100  # torch.nn.functional.cross_entropy's default ignore_index

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


_REPR = reprlib.Repr()  # Python 3.11's Repr takes its limits as attributes, not arguments
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 3, 40, 40, 4, 4


def short(value) -> str:
    """``repr(value)``, cut to 40 characters: enough to recognise a bad value in a message.
    Nested values are cut by depth too, so a value nested 100,000 deep is still one short line."""
    text = _REPR.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_messages(
    messages,
    where: str = "messages",
    first: tuple[str, ...] = FIRST_ROLES,
    last: str | None = "assistant",
    parts: bool = False,
    tools: bool = False,
) -> list[tuple[str, str]]:
    """Every problem of one chat, as ``(field, problem)`` pairs; ``[]`` for a good chat.

    Args:
        messages: the chat.
        where: the chat's own field name, which each problem's field starts with
            (``"messages"`` gives ``"messages[2].role"``).
        first: the roles the chat may open with; after that user and assistant take turns.
        last: the role the chat must end with (a training chat: the assistant, or nothing is
            learned; a prompt: the user), or None for any.
        parts: content may also be a list of text and image parts (vision-language chats).
        tools: tool calling, as transformers' chat templates and TRL take it: an assistant
            turn may carry ``tool_calls`` (a list of ``{"type": "function", "function":
            {"name": str, "arguments": dict}}``, and then needs no content), and is answered by
            ``tool`` turns before the assistant speaks again. A field that is None counts as
            absent, as in a Parquet file, where every message has every column.
    """
    if not isinstance(messages, list) or not messages:
        return [(where, f"expected a non-empty list of messages, got {short(messages)}")]
    roles = (*ROLES, TOOL_ROLE) if tools else ROLES
    problems, previous, expected = [], None, first
    for i, message in enumerate(messages):
        at = f"{where}[{i}]"
        if not isinstance(message, dict):
            problems.append((at, f"expected an object with role and content, got {short(message)}"))
            continue
        role = message.get("role")
        calls = tools and role == "assistant" and message.get("tool_calls") is not None
        if "role" not in message:
            problems.append((f"{at}.role", "missing"))
        elif role not in roles:
            problems.append((f"{at}.role", f"unknown role {short(role)}; use one of {roles}"))
        if calls:
            problems += _check_tool_calls(message["tool_calls"], f"{at}.tool_calls")
        if not calls or message.get("content") not in (None, ""):
            problems += _check_content(message, f"{at}.content", parts)
        if role == TOOL_ROLE and tools:
            problems += [
                (f"{at}.{key}", f"expected a string, got {short(message[key])}")
                for key in ("name", "tool_call_id")
                if message.get(key) is not None and not isinstance(message[key], str)
            ]
        if role in roles:
            if role not in expected:
                problems.append(
                    (f"{at}.role", f"{role!r} out of turn: expected {' or '.join(expected)}")
                )
            previous = role
            if calls:
                expected = _AFTER_TOOL_CALLS
            elif role == TOOL_ROLE:
                expected = _AFTER_TOOL
            else:
                expected = _NEXT_ROLES[role]
    if last and previous in roles and previous != last:
        problems.append((where, f"the last message is {previous!r}; it must be {last!r}"))
    return problems


def _check_tool_calls(calls, where: str) -> list[tuple[str, str]]:
    """Problems of an assistant turn's ``tool_calls``: each names a function and gives its
    arguments as an object, the format of transformers' tool-use docs."""
    if not isinstance(calls, list) or not calls:
        return [(where, f"expected a non-empty list of tool calls, got {short(calls)}")]
    problems = []
    for k, call in enumerate(calls):
        at = f"{where}[{k}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            problems.append(
                (at, f"expected {{'type': 'function', 'function': {{...}}}}, got {short(call)}")
            )
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append((f"{at}.function.name", f"expected a function name, got {short(name)}"))
        if not isinstance(function.get("arguments"), dict):
            args = short(function.get("arguments"))
            problems.append((f"{at}.function.arguments", f"expected an object, got {args}"))
    return problems


def require_messages(messages, where: str, prefix: str = "", **rules) -> None:
    """Raise a ValueError naming the first problem ``check_messages(messages, where, **rules)``
    finds, after ``prefix`` (the function that refuses the chat), if it finds one."""
    problems = check_messages(messages, where, **rules)
    if problems:
        field, problem = problems[0]
        raise ValueError(f"{prefix}{field}: {problem}")


def _check_content(message: dict, where: str, parts: bool) -> list[tuple[str, str]]:
    if "content" not in message:
        return [(where, "missing")]
    content = message["content"]
    if isinstance(content, str):
        return [] if content.strip() else [(where, "empty")]
    if not parts or not isinstance(content, list):
        wanted = "a string or a list of parts" if parts else "a string"
        return [(where, f"expected {wanted}, got {type(content).__name__}")]
    if not content:
        return [(where, "an empty list of parts")]
    problems = []
    for k, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image" or (kind == "text" and isinstance(part.get("text"), str)):
            continue
        problems.append(
            (
                f"{where}[{k}]",
                f"expected {{'type': 'image'}} or {{'type': 'text', 'text': str}}, "
                f"got {short(part)}",
            )
        )
    return problems


def faq() -> list[list[dict[str, str]]]:
    """12 chats, a user question and the assistant's short answer, written for the guide.

    Returns:
        A list of conversations in the ``messages`` format, the same on every call.
    """
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in _FAQ]


GENERATION_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")


def chat_batch(tokenizer, chats: list[list[dict[str, str]]]) -> dict[str, torch.Tensor]:
    """Tokenize chats into one padded batch with labels on the assistant's tokens only.

    With ``{% generation %}`` markers in the chat template, transformers marks the assistant's
    tokens (``return_assistant_tokens_mask``). Real templates mostly have none (Llama 3.2,
    Qwen 2.5): then each reply is found as the text between the chat rendered up to it, with
    the generation prompt, and the chat rendered through it, the split TRL makes for
    prompt-completion data. A tokenizer without a pad token is padded with its end-of-sequence
    token, as TRL's ``SFTTrainer`` does; padding gets no loss either way.

    Args:
        tokenizer: a tokenizer with a chat template.
        chats: conversations, each a list of ``{"role": ..., "content": ...}`` messages.

    Returns:
        ``input_ids``, ``attention_mask`` and ``labels`` (shape ``(len(chats), T)``), ready
        for ``model(**batch)``; labels are -100 outside the assistant's replies.

    Raises:
        ValueError: a chat breaks ``check_messages``, has no assistant reply to learn from
            (its loss would be 0/0), or a template does not render a chat's beginning as a
            prefix of the whole (so a reply cannot be located), naming the chat by its index.
    """
    if not chats:
        raise ValueError("chat_batch: no chats given")
    for i, chat in enumerate(chats):
        require_messages(chat, f"chats[{i}]", "chat_batch: ", last=None)
    if GENERATION_RE.search(_template(tokenizer)) and tokenizer.pad_token is not None:
        encoded = tokenizer.apply_chat_template(
            chats,
            return_dict=True,
            return_assistant_tokens_mask=True,
            padding=True,
            return_tensors="pt",
        )
        ids, attention = encoded["input_ids"], encoded["attention_mask"]
        mask = encoded["assistant_masks"]
    else:
        rows = [_reply_mask(tokenizer, chat, i) for i, chat in enumerate(chats)]
        ids, attention, mask = _pad(rows, tokenizer)
    silent = (mask.sum(dim=1) == 0).nonzero().flatten().tolist()
    if silent:
        raise ValueError(
            f"chat_batch: chats[{silent[0]}]: no assistant reply, so nothing to learn from"
        )
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def _template(tokenizer) -> str:
    """The tokenizer's chat template (the ``default`` one of a set of named templates)."""
    template = tokenizer.chat_template or ""
    return template.get("default", "") if isinstance(template, dict) else template


def _reply_mask(tokenizer, chat, index: int) -> tuple[list[int], list[int]]:
    """Token ids of a rendered chat and, for each, 1 if an assistant reply wrote it."""
    render = tokenizer.apply_chat_template
    text = render(chat, tokenize=False)
    spans = []
    for k, message in enumerate(chat):
        if message["role"] != "assistant":
            continue
        before = render(chat[:k], tokenize=False, add_generation_prompt=True) if k else ""
        through = render(chat[: k + 1], tokenize=False).rstrip()
        located = text.startswith(before) and text.startswith(through)
        if not located or len(before) >= len(through):
            raise ValueError(
                f"chat_batch: chats[{index}].messages[{k}]: the chat template does not render "
                "the chat up to this reply as a prefix of the whole chat, so the reply cannot "
                "be located; use a template with {% generation %} markers"
            )
        spans.append((len(before), len(through)))
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    # a token is the reply's if it overlaps the reply's characters
    mask = [
        int(any(start < hi and end > lo for lo, hi in spans))
        for start, end in encoded["offset_mapping"]
    ]
    return encoded["input_ids"], mask


def _pad(rows, tokenizer):
    """Rows of (ids, mask) -> padded ids, attention mask and reply mask, on the tokenizer's
    padding side, with its pad token or else its end-of-sequence token."""
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id
    if pad_id is None:
        raise ValueError("chat_batch: the tokenizer has neither a pad token nor an EOS token")
    width = max(len(ids) for ids, _ in rows)
    left = tokenizer.padding_side == "left"

    def padded(row: list[int], value: int) -> list[int]:
        fill = [value] * (width - len(row))
        return fill + row if left else row + fill

    ids = [padded(row_ids, pad_id) for row_ids, _ in rows]
    attention = [padded([1] * len(row_ids), 0) for row_ids, _ in rows]
    mask = [padded(row_mask, 0) for _, row_mask in rows]
    return torch.tensor(ids), torch.tensor(attention), torch.tensor(mask)


def reply_loss_rows(tokenizer, rows: list[dict]) -> tuple[list[dict], dict]:
    """Conversational rows, and the ``SFTConfig`` options, that put TRL's loss on the
    assistant's replies only, whatever the model's chat template.

    - A template with ``{% generation %}`` markers, or one TRL knows how to patch
      (``trl.chat_template_utils.get_training_chat_template``: Llama 3.0, Qwen, Gemma...): the
      rows as they are, with ``{"assistant_only_loss": True}``.
    - Any other template (Llama 3.1 and 3.2 in TRL 1.16): each row split into a prompt, the
      messages before its last reply, and a completion, that reply; TRL puts the loss on the
      completion of such rows by default (``completion_only_loss``), so no option is needed.
      Earlier replies in a multi-turn row then carry no loss.
    - A TRL without ``trl.chat_template_utils`` (0.24, the newest that some Unsloth releases
      allow, has none): it patches no template, so only a template with markers keeps the
      rows; any other is split as above.

    Raises:
        ValueError: a row without ``messages`` ending with an assistant reply, naming the row.
    """
    patchable = bool(GENERATION_RE.search(_template(tokenizer)))
    if not patchable:
        try:
            from trl.chat_template_utils import get_training_chat_template

            patchable = bool(get_training_chat_template(tokenizer))
        except ImportError:  # an older TRL, without the module: it patches nothing
            patchable = False
        except ValueError:  # "patching is not supported for this template"
            patchable = False
    for i, row in enumerate(rows):
        messages = row.get("messages") if isinstance(row, dict) else None
        if not messages or messages[-1].get("role") != "assistant":
            raise ValueError(
                f"reply_loss_rows: rows[{i}]: needs messages that end with an assistant reply"
            )
    if patchable:
        return list(rows), {"assistant_only_loss": True}
    split = [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
    return split, {}


def show_loss_tokens(tokenizer, input_ids, labels) -> str:
    """The tokens of one example, with the ones that carry loss in [brackets].

    ``labels`` is -100 where there is no loss, as in ``chat_batch`` and TRL's SFTTrainer.
    """
    pieces = []
    for token, label in zip(input_ids, labels, strict=True):
        text = tokenizer.decode([int(token)])
        pieces.append(f"[{text}]" if int(label) != IGNORE_INDEX else text)
    return "".join(pieces)
