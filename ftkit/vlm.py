"""Vision-language data: shape pictures, the image-chat collator, and answers to check.

- ``draw_shape`` / ``shapes_task``: 32x32 pictures of a red, green, blue or yellow circle,
  square or triangle, drawn with PIL at a random size and place, and chats that ask for the
  colour or the shape. One-word answers, so a reply is right or wrong, with nothing to judge.
- ``VisionChatCollator``: rows in TRL's vision format (``images`` plus ``messages`` whose
  content lists ``{"type": "image"}`` and ``{"type": "text"}`` parts, interleaved in any order,
  any number of images) become one batch: token ids with each image expanded to one
  placeholder per patch, the pixels, and labels on the assistant's tokens only.
- ``answer_images``: greedy replies to the rows' questions, for accuracy on held-out images.
- ``ascii_image``: a picture as text, so a page can show what the model saw.
- ``shape_probe``: how well a vision tower alone tells the shapes apart.

References:
    LLaVA: Liu et al. 2023, "Visual Instruction Tuning", arXiv:2304.08485 (image features, a
        projector, and the loss on the answer tokens only).
    TRL's vision data format and collator: ``DataCollatorForVisionLanguageModeling`` in TRL's
        SFTTrainer docs; transformers' multimodal chat templates.
"""

from __future__ import annotations

import random

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw

# --8<-- [end:imports]
from ftkit.data import ROLES
from ftkit.evaluate import left_padded_eval

COLOURS = {  # name -> RGB, far apart so that the colour question is about seeing, not shades
    "red": (220, 30, 30),
    "green": (30, 170, 30),
    "blue": (30, 60, 220),
    "yellow": (230, 210, 20),
}
SHAPES = ("circle", "square", "triangle")
QUESTIONS = {"colour": "What colour is the shape?", "shape": "What shape is it?"}


def draw_shape(shape: str, colour: str, rng: random.Random, size: int = 32) -> Image.Image:
    """One shape on white, its side between 3/8 and 5/8 of the image, at a random place.

    Args:
        shape: one of ``SHAPES``.
        colour: one of ``COLOURS``.
        rng: the random source for size and position (pass a seeded ``random.Random``).
        size: the image's width and height in pixels.

    Raises:
        ValueError: an unknown shape or colour, named.
    """
    if shape not in SHAPES:
        raise ValueError(f"draw_shape: unknown shape {shape!r}, expected one of {SHAPES}")
    if colour not in COLOURS:
        raise ValueError(f"draw_shape: unknown colour {colour!r}, expected one of {list(COLOURS)}")
    image = Image.new("RGB", (size, size), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    side = rng.randint(size * 3 // 8, size * 5 // 8)
    x, y = rng.randint(1, size - 1 - side), rng.randint(1, size - 1 - side)
    box = [x, y, x + side, y + side]
    if shape == "circle":
        pen.ellipse(box, fill=COLOURS[colour])
    elif shape == "square":
        pen.rectangle(box, fill=COLOURS[colour])
    else:
        pen.polygon([(x + side / 2, y), (x, y + side), (x + side, y + side)], fill=COLOURS[colour])
    return image


def _row(image: Image.Image, task: str, answer: str) -> dict:
    return {
        "images": [image],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[task]}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ],
        "task": task,
    }


def shapes_task(n_train: int = 1200, n_test: int = 120, seed: int = 0) -> tuple[list, list]:
    """Chats about shape pictures, split into train and test with no picture in both.

    Each row asks for the colour or the shape of one picture (each half the time) and holds
    the one-word answer as the assistant's reply; ``row["task"]`` says which question it is.
    Every test picture differs from every training picture, pixel for pixel.

    Returns:
        ``(train, test)``: lists of ``{"images", "messages", "task"}`` rows, the same for the
        same arguments.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"shapes_task: n_train and n_test must be >= 1, got {n_train}, {n_test}")
    rng = random.Random(seed)
    seen: set[bytes] = set()
    splits: list[list[dict]] = [[], []]
    for split, count in enumerate((n_train, n_test)):
        while len(splits[split]) < count:
            shape, colour = rng.choice(SHAPES), rng.choice(list(COLOURS))
            image = draw_shape(shape, colour, rng)
            pixels = image.tobytes()
            if split == 1 and pixels in seen:
                continue  # the same picture is in train: draw another
            seen.add(pixels)
            task = rng.choice(list(QUESTIONS))
            splits[split].append(_row(image, task, colour if task == "colour" else shape))
    return splits[0], splits[1]


# --8<-- [start:probe]
@torch.no_grad()
def shape_probe(vision_tower, image_processor, n: int = 600, seed: int = 1) -> float:
    """Shape accuracy of a nearest-centroid classifier on frozen, mean-pooled vision features.

    Fits one mean feature per shape on ``n`` new pictures, then classifies ``n`` more by the
    nearest mean: a measure of how well the tower alone tells shapes apart (chance is 1/3).
    """
    rng = random.Random(seed)

    def features():
        labels = [rng.randrange(len(SHAPES)) for _ in range(n)]
        images = [draw_shape(SHAPES[k], rng.choice(list(COLOURS)), rng) for k in labels]
        pixels = image_processor(images, return_tensors="pt")["pixel_values"]
        patches = vision_tower(pixel_values=pixels).last_hidden_state
        return patches.mean(dim=1), torch.tensor(labels)

    x, y = features()  # fit: one centroid per shape
    centroids = torch.stack([x[y == k].mean(dim=0) for k in range(len(SHAPES))])
    x, y = features()  # test on new pictures
    return (torch.cdist(x, centroids).argmin(dim=1) == y).float().mean().item()


# --8<-- [end:probe]


def _distance(a, b) -> int:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


def ascii_image(image: Image.Image, step: int = 2) -> str:
    """The picture as text, one character per ``step`` x ``step`` pixels.

    ``.`` is white; a letter is the first letter of the nearest of ``COLOURS`` (upper case).
    """
    width, height = image.size
    rgb = image.convert("RGB")
    lines = []
    for y in range(0, height, step):
        line = ""
        for x in range(0, width, step):
            pixel = rgb.getpixel((x, y))
            if min(pixel) > 200:
                line += "."
                continue
            nearest = min(COLOURS, key=lambda c: _distance(COLOURS[c], pixel))
            line += nearest[0].upper()
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- collator


def _check_row(i: int, row, need_reply: bool = True) -> list:
    """The row's images, after checking that its messages place exactly that many."""
    if not isinstance(row, dict) or "messages" not in row:
        raise ValueError(f"row {i}: expected a dict with 'messages' and 'images', got {row!r:.80}")
    images = row.get("images") or []
    if not isinstance(images, list):
        kind = type(images).__name__
        raise ValueError(f"row {i}: 'images' must be a list of PIL images, got a {kind}")
    placed, replies = 0, 0
    for j, message in enumerate(row["messages"]):
        where = f"row {i}, message {j}"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ValueError(f"{where}: expected a role in {ROLES}, got {message!r:.80}")
        replies += message["role"] == "assistant"
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise ValueError(f"{where}: content must be a string or a list of parts")
        for k, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "image":
                placed += 1
            elif kind != "text" or not isinstance(part.get("text"), str):
                raise ValueError(
                    f"{where}, part {k}: expected {{'type': 'image'}} or "
                    f"{{'type': 'text', 'text': str}}, got {part!r:.80}"
                )
    if placed != len(images):
        raise ValueError(
            f"row {i}: the messages place {placed} image(s) but 'images' holds {len(images)}"
        )
    for k, image in enumerate(images):
        if not isinstance(image, Image.Image):
            kind = type(image).__name__
            raise ValueError(f"row {i}, image {k}: expected a PIL image, got a {kind}")
    if need_reply and not replies:
        raise ValueError(f"row {i}: no assistant reply, so nothing to learn from")
    return images


# --8<-- [start:collator]
def _count_images(messages: list[dict]) -> int:
    return sum(
        isinstance(part, dict) and part.get("type") == "image"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


@dataclass
class VisionChatCollator:
    """Image-text chats -> a padded batch with labels on the assistant's tokens only.

    Args:
        processor: a VLM processor with a chat template (``AutoProcessor.from_pretrained``).

    Calling it on a list of rows returns ``input_ids``, ``attention_mask``, ``pixel_values``
    and ``labels``, ready for ``model(**batch)``. It works with any processor whose chat
    template renders a conversation's beginning as a prefix of the whole (LLaVA, Qwen2-VL and
    the tiny VLM do), so it needs no knowledge of the template's role markers.
    """

    processor: object

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("VisionChatCollator: no rows given")
        # 0. Check every row: a missing image or a malformed part fails here, naming the row.
        images = [_check_row(i, row) for i, row in enumerate(rows)]
        # 1. Render each chat to text with the chat template: each image part becomes the
        #    model's image token (<image> here).
        texts = [self.processor.apply_chat_template(row["messages"]) for row in rows]
        # 2. Tokenize and preprocess: the processor expands each image token to one placeholder
        #    per patch, and puts the pixels of all images, in order, into pixel_values.
        batch = self.processor(text=texts, images=_flat(images), padding=True, return_tensors="pt")
        # 3. Labels: -100 (no loss) everywhere except the assistant's replies.
        batch["labels"] = self._labels(rows, images, batch)
        return dict(batch)

    def _labels(self, rows, images, batch) -> torch.Tensor:
        """Find each reply as the tokens between "chat up to it" and "chat through it"."""
        render = self.processor.apply_chat_template
        spans, before, through = [], [], []  # (row, message), prompt texts, reply texts
        for i, row in enumerate(rows):
            for k, message in enumerate(row["messages"]):
                if message["role"] != "assistant":
                    continue
                head, upto = row["messages"][:k], row["messages"][: k + 1]
                spans.append((i, k))
                before.append((render(head, add_generation_prompt=True), _count_images(head)))
                # rstrip: the newline a template puts after a turn's end token is not the reply
                through.append((render(upto).rstrip(), _count_images(upto)))
        ids, labels = batch["input_ids"], torch.full_like(batch["input_ids"], -100)
        left = self.processor.tokenizer.padding_side == "left"
        prompts, replies = self._encode(before, spans, images), self._encode(through, spans, images)
        for (i, k), prompt, reply in zip(spans, prompts, replies, strict=True):
            pad = int((batch["attention_mask"][i] == 0).sum()) if left else 0
            row_ids = ids[i, pad:].tolist()
            start, stop = pad + len(prompt), pad + len(reply)
            if row_ids[: len(prompt)] != prompt or row_ids[: len(reply)] != reply or start >= stop:
                raise ValueError(
                    f"row {i}, message {k}: the chat template does not render the chat up to "
                    "this reply as a prefix of the whole chat, so the reply cannot be located"
                )
            labels[i, start:stop] = ids[i, start:stop]
        image_token = getattr(self.processor, "image_token_id", None)
        if image_token is not None:
            labels[labels == image_token] = -100  # an image in a reply is input, not a target
        return labels

    def _encode(self, texts, spans, images) -> list[list[int]]:
        """Token ids of each ``(text, n)``: the text with the first ``n`` images of its row."""
        if not texts:
            return []
        row_images = [images[i][:n] for (i, _), (_, n) in zip(spans, texts, strict=True)]
        encoded = self.processor(text=[text for text, _ in texts], images=_flat(row_images))
        return [list(ids) for ids in encoded["input_ids"]]


def _flat(images: list[list]) -> list | None:
    flat = [image for row_images in images for image in row_images]
    return flat or None


# --8<-- [end:collator]


def _prompt(i: int, row: dict) -> tuple[list[dict], list]:
    """The row's chat up to its last user turn, and the images that part places."""
    images = _check_row(i, row, need_reply=False)
    messages = row["messages"]
    while messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    if not messages:
        raise ValueError(f"row {i}: no user turn to answer")
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
    tokenizer = processor.tokenizer
    replies = []
    with left_padded_eval(model, tokenizer):
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            prompts = [_prompt(start + i, row) for i, row in enumerate(chunk)]
            texts = [
                processor.apply_chat_template(messages, add_generation_prompt=True)
                for messages, _ in prompts
            ]
            images = [image for _, row_images in prompts for image in row_images]
            batch = processor(text=texts, images=images or None, padding=True, return_tensors="pt")
            out = model.generate(
                **batch.to(model.device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            new_tokens = out[:, batch["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            replies += [text.strip() for text in texts]
    return replies
