"""The shapes task of the vision-language chapter: pictures with one-word answers.

- ``draw_shape`` / ``shapes_task``: 32x32 pictures of a red, green, blue or yellow circle,
  square or triangle, drawn with PIL at a random size and place, and chats that ask for the
  colour or the shape, in TRL's vision format (``images`` plus ``messages`` whose content lists
  ``{"type": "image"}`` and ``{"type": "text"}`` parts). One-word answers, so a reply is right or
  wrong, with nothing to judge.
- ``shape_probe``: how well a vision tower alone tells the shapes apart.
- ``ascii_image``: a picture as text, so a page can show what the model saw.
"""

from __future__ import annotations

import random

import torch
from PIL import Image, ImageDraw

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


# --8<-- [start:probe] docs/vlm/index.md
@torch.no_grad()
def shape_probe(
    vision_tower,
    image_processor,
    n: int = 600,
    seed: int = 1,
) -> float:
    """Shape accuracy of a nearest-centroid classifier on frozen, mean-pooled
    vision features.

    Fits one mean feature per shape on ``n`` new pictures, then classifies
    ``n`` more by the nearest mean: a measure of how well the tower alone
    tells shapes apart (chance is 1/3).
    """
    rng = random.Random(seed)

    def features():
        labels = [rng.randrange(len(SHAPES)) for _ in range(n)]
        images = []
        for k in labels:  # a colour, then the drawing, from the same rng
            colour = rng.choice(list(COLOURS))
            images.append(draw_shape(SHAPES[k], colour, rng))
        pixels = image_processor(images, return_tensors="pt")["pixel_values"]
        patches = vision_tower(pixel_values=pixels).last_hidden_state
        return patches.mean(dim=1), torch.tensor(labels)

    x, y = features()  # fit: one centroid per shape
    means = [x[y == k].mean(dim=0) for k in range(len(SHAPES))]
    centroids = torch.stack(means)
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
