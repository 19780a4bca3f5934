"""Vision-language batches: the image-chat collator, and greedy answers to check.

- ``VisionChatCollator``: rows in TRL's vision format (``images`` plus ``messages`` whose
  content lists ``{"type": "image"}`` and ``{"type": "text"}`` parts, interleaved in any order,
  any number of images) become one batch: token ids with each image expanded to one
  placeholder per patch, the pixels, and labels on the assistant's tokens only.
- ``answer_images``: greedy replies to the rows' questions, for accuracy on held-out images.

The task these chapters train on is ``ftkit.shapes``; chats are checked by
``ftkit.chat.check_messages`` (with parts), as everywhere else.

References:
    LLaVA: Liu et al. 2023, "Visual Instruction Tuning", arXiv:2304.08485 (image features, a
        projector, and the loss on the answer tokens only).
    TRL's vision data format and collator: ``DataCollatorForVisionLanguageModeling`` in TRL's
        SFTTrainer docs; transformers' multimodal chat templates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ftkit.chat import IGNORE_INDEX, require_messages
from ftkit.evaluate import greedy_new_text, left_padded_eval


def row_images(i: int, row, need_reply: bool = True) -> list:
    """The images of ``rows[i]``, after checking its messages (``check_messages``, with parts)
    and that they place exactly that many images.

    Raises:
        ValueError: the first problem, named by the row's index and field.
    """
    where = f"rows[{i}]"
    if not isinstance(row, dict) or "messages" not in row:
        raise ValueError(f"{where}: expected a dict with 'messages' and 'images', got {row!r:.80}")
    require_messages(row["messages"], f"{where}.messages", last=None, parts=True)
    images = row.get("images") or []
    if not isinstance(images, list):
        kind = type(images).__name__
        raise ValueError(f"{where}.images: expected a list of PIL images, got a {kind}")
    placed = _count_images(row["messages"])
    if placed != len(images):
        raise ValueError(
            f"{where}: the messages place {placed} image(s) but 'images' holds {len(images)}"
        )
    for k, image in enumerate(images):
        if not isinstance(image, Image.Image):
            kind = type(image).__name__
            raise ValueError(f"{where}.images[{k}]: expected a PIL image, got a {kind}")
    if need_reply and not any(m["role"] == "assistant" for m in row["messages"]):
        raise ValueError(f"{where}: no assistant reply, so nothing to learn from")
    return images


# --8<-- [start:collator] docs/vlm/index.md
def _count_images(messages: list[dict]) -> int:
    return sum(
        isinstance(part, dict) and part.get("type") == "image"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


@dataclass
class VisionChatCollator:
    """Image-text chats -> a padded batch with labels on the assistant's
    tokens only.

    Args:
        processor: a VLM processor with a chat template
            (``AutoProcessor.from_pretrained``).

    Calling it on a list of rows returns ``input_ids``, ``attention_mask``,
    ``pixel_values`` and ``labels``, ready for ``model(**batch)``. It works
    with any processor whose chat template renders a conversation's beginning
    as a prefix of the whole (LLaVA, Qwen2-VL and the tiny VLM do), so it
    needs no knowledge of the template's role markers.
    """

    processor: object

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("VisionChatCollator: no rows given")
        # 0. Check every row: a missing image or a malformed part fails here,
        #    naming the row.
        images = [row_images(i, row) for i, row in enumerate(rows)]
        # 1. Render each chat to text with the chat template: each image part
        #    becomes the model's image token (<image> here).
        render = self.processor.apply_chat_template
        texts = [render(row["messages"]) for row in rows]
        # 2. Tokenize and preprocess: the processor expands each image token
        #    to one placeholder per patch, and puts the pixels of all images,
        #    in order, into pixel_values.
        batch = self.processor(
            text=texts,
            images=_flat(images),
            padding=True,
            return_tensors="pt",
        )
        # 3. Labels: -100 (no loss) everywhere except the assistant's replies.
        batch["labels"] = self._labels(rows, images, batch)
        return dict(batch)

    def _labels(self, rows, images, batch) -> torch.Tensor:
        """Find each reply as the tokens between "chat up to it" and "chat
        through it"."""
        render = self.processor.apply_chat_template
        spans = []  # (row, message) of each reply
        before, through = [], []  # the chat up to it, the chat through it
        for i, row in enumerate(rows):
            for k, message in enumerate(row["messages"]):
                if message["role"] != "assistant":
                    continue
                head, upto = row["messages"][:k], row["messages"][: k + 1]
                spans.append((i, k))
                prompt = render(head, add_generation_prompt=True)
                before.append((prompt, _count_images(head)))
                # rstrip: the newline a template puts after a turn's end
                # token is not the reply
                through.append((render(upto).rstrip(), _count_images(upto)))
        ids = batch["input_ids"]
        labels = torch.full_like(ids, IGNORE_INDEX)
        left = self.processor.tokenizer.padding_side == "left"
        prompts = self._encode(before, spans, images)
        replies = self._encode(through, spans, images)
        for (i, k), prompt, reply in zip(spans, prompts, replies, strict=True):
            pad = int((batch["attention_mask"][i] == 0).sum()) if left else 0
            row_ids = ids[i, pad:].tolist()
            start, stop = pad + len(prompt), pad + len(reply)
            prefixes = (
                row_ids[: len(prompt)] == prompt,
                row_ids[: len(reply)] == reply,
            )
            if not all(prefixes) or start >= stop:
                raise ValueError(
                    f"rows[{i}].messages[{k}]: the chat template does not "
                    "render the chat up to this reply as a prefix of the "
                    "whole chat, so the reply cannot be located"
                )
            labels[i, start:stop] = ids[i, start:stop]
        image_token = getattr(self.processor, "image_token_id", None)
        if image_token is not None:
            # an image in a reply is input, not something to predict
            labels[labels == image_token] = IGNORE_INDEX
        return labels

    def _encode(self, texts, spans, images) -> list[list[int]]:
        """Token ids of each ``(text, n)``: the text with the first ``n``
        images of its row."""
        if not texts:
            return []
        pairs = zip(spans, texts, strict=True)
        row_images = [images[i][:n] for (i, _), (_, n) in pairs]
        encoded = self.processor(
            text=[text for text, _ in texts],
            images=_flat(row_images),
        )
        return [list(ids) for ids in encoded["input_ids"]]


def _flat(images: list[list]) -> list | None:
    flat = [image for row_images in images for image in row_images]
    return flat or None


# --8<-- [end:collator]


def _prompt(i: int, row: dict) -> tuple[list[dict], list]:
    """The row's chat up to its last user turn, and the images that part places."""
    images = row_images(i, row, need_reply=False)
    messages = row["messages"]
    while messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    if not messages:
        raise ValueError(f"rows[{i}]: no user turn to answer")
    return messages, images[: _count_images(messages)]


@torch.no_grad()
def answer_images(
    model, processor, rows: list[dict], max_new_tokens: int = 12, batch_size: int = 40
) -> list[str]:
    """Greedy replies to each row's chat without its final assistant turn, in order.

    Prompts are padded on the left, so each row's last token sits right before its reply.
    The model's train/eval mode and the tokenizer's padding side are restored afterwards.
    """
    if not rows:
        raise ValueError("answer_images: no rows given")
    replies = []
    with left_padded_eval(model, processor.tokenizer):
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            prompts = [_prompt(start + i, row) for i, row in enumerate(chunk)]
            texts = [
                processor.apply_chat_template(messages, add_generation_prompt=True)
                for messages, _ in prompts
            ]
            images = [image for _, prompt_images in prompts for image in prompt_images]
            batch = processor(text=texts, images=images or None, padding=True, return_tensors="pt")
            new = greedy_new_text(model, processor.tokenizer, batch, max_new_tokens)
            replies += [text.strip() for text in new]
    return replies
