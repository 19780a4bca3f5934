"""The images of the transfer-learning chapter: letters and digits drawn by code.

- ``draw_glyph``: one character, white on black, at a random size, angle and place, drawn with
  the font Pillow ships (the same pixels on every machine with the pinned Pillow).
- ``glyph_set``: a labelled set of such pictures with pixel noise, as tensors a CNN trains on.
  Letters are the pretraining task (``LETTERS``), digits the new task (``DIGITS``): two tasks
  that share strokes, curves and corners, as ImageNet's photos share edges and textures with
  the photos of a new task.
- ``few_shot``: ``k`` labelled pictures per class, the small labelled set of the new task.
- ``ascii_glyph``: a picture as text, so a page can show what the model sees.
"""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

# 20 capital letters: the closest look-alikes of digits are left out (I and 1, O and Q and 0,
# S and 5, Z and 2), so that the new task is new, and X, to keep twenty.
LETTERS = "ABCDEFGHJKLMNPRTUVWY"
DIGITS = "0123456789"
SIZE = 24  # pixels, width and height


@cache
def _font(points: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=points)


def draw_glyph(char: str, rng: random.Random, size: int = SIZE) -> Image.Image:
    """One character in white on black ("L" mode), in a font 3/4 to 7/6 of the picture's size,
    turned by up to 20 degrees either way and moved up to 1/6 of the picture from the centre.

    Args:
        char: a single printable character.
        rng: the random source for size, angle and place (pass a seeded ``random.Random``).
        size: the picture's width and height in pixels, at least 12.

    Raises:
        ValueError: ``char`` is not one printable character, or ``size`` is under 12.
    """
    if not isinstance(char, str) or len(char) != 1 or not char.isprintable() or char.isspace():
        raise ValueError(f"draw_glyph: expected one printable character, got {char!r}")
    if size < 12:
        raise ValueError(f"draw_glyph: size must be at least 12 pixels, got {size}")
    canvas = Image.new("L", (2 * size, 2 * size), 0)  # room to turn without clipping
    points = rng.randint(size * 3 // 4, size * 7 // 6)
    ImageDraw.Draw(canvas).text((size, size), char, fill=255, font=_font(points), anchor="mm")
    canvas = canvas.rotate(rng.uniform(-20, 20), resample=Image.Resampling.BILINEAR)
    shift = size // 6
    dx, dy = rng.randint(-shift, shift), rng.randint(-shift, shift)
    left, top = size // 2 + dx, size // 2 + dy
    return canvas.crop((left, top, left + size, top + size))


def glyph_set(
    chars: str,
    per_class: int,
    seed: int = 0,
    noise: float = 0.15,
    size: int = SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` pictures of each character of ``chars``, with Gaussian pixel noise.

    Two calls with different seeds draw different pictures (sizes, angles and places are
    continuous or many-valued, and the noise is new), so a set drawn with one seed is a
    held-out test set for a model trained on another.

    Args:
        chars: the classes, in label order: label ``i`` is ``chars[i]``.
        per_class: pictures per character, at least 1.
        seed: seeds both the drawing and the noise.
        noise: the noise's standard deviation; pixels are 0 (black) to 1 (white) before it.
        size: the pictures' width and height.

    Returns:
        ``(images, labels)``: float32 ``[len(chars) * per_class, 1, size, size]`` and int64
        ``[len(chars) * per_class]``, the classes taking turns.

    Raises:
        ValueError: no characters, a repeated character, ``per_class`` under 1 or a negative
            ``noise``, named.
    """
    if not chars:
        raise ValueError("glyph_set: chars is empty; pass the classes, e.g. '0123456789'")
    repeated = sorted({c for c in chars if chars.count(c) > 1})
    if repeated:
        raise ValueError(f"glyph_set: chars repeats {repeated}: each class must be one label")
    if per_class < 1:
        raise ValueError(f"glyph_set: per_class must be at least 1, got {per_class}")
    if noise < 0:
        raise ValueError(f"glyph_set: noise is a standard deviation, >= 0, got {noise}")
    rng = random.Random(seed)
    pictures = [
        np.asarray(draw_glyph(char, rng, size), dtype=np.float32) / 255
        for _ in range(per_class)
        for char in chars
    ]
    images = np.stack(pictures)[:, None]
    # numpy's generator: the same noise on every machine
    images += np.random.default_rng(seed).normal(0, noise, images.shape).astype(np.float32)
    labels = np.tile(np.arange(len(chars)), per_class)
    return torch.from_numpy(images), torch.from_numpy(labels)


def _check_pair(images: torch.Tensor, labels: torch.Tensor, where: str) -> None:
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"{where}: images must be [N, 1, height, width], got {list(images.shape)}")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{where}: labels must be [N] with N = {images.shape[0]} images, "
            f"got {list(labels.shape)}"
        )
    if labels.dtype != torch.int64:
        raise ValueError(f"{where}: labels must be int64 class indices, got {labels.dtype}")


def few_shot(
    images: torch.Tensor, labels: torch.Tensor, k: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``k`` pictures of every class, drawn at random without replacement.

    Raises:
        ValueError: images not ``[N, 1, H, W]``, labels not ``[N]`` int64, ``k`` under 1, or a
            class with fewer than ``k`` pictures (named).
    """
    _check_pair(images, labels, "few_shot")
    if k < 1:
        raise ValueError(f"few_shot: k (labelled pictures per class) must be >= 1, got {k}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in labels.unique().tolist():
        where = torch.nonzero(labels == label)[:, 0]
        if len(where) < k:
            raise ValueError(f"few_shot: class {label} has {len(where)} pictures, k is {k}")
        chosen.append(where[torch.randperm(len(where), generator=generator)[:k]])
    index = torch.cat(chosen)
    return images[index], labels[index]


def ascii_glyph(image: torch.Tensor | np.ndarray, step: int = 2) -> str:
    """A picture (``[1, H, W]`` or ``[H, W]``, 0 black to 1 white) as text, one character per
    ``step`` x ``step`` pixels: ``#`` over 0.5, ``+`` over 0.25, ``.`` below."""
    pixels = np.asarray(image, dtype=np.float64)  # exact means of float32 pixels
    if pixels.ndim == 3 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 2:
        raise ValueError(f"ascii_glyph: expected [1, H, W] or [H, W], got {list(pixels.shape)}")
    rows = []
    for y in range(0, pixels.shape[0], step):
        cells = pixels[y : y + step].reshape(-1, pixels.shape[1])
        row = ""
        for x in range(0, pixels.shape[1], step):
            value = float(cells[:, x : x + step].mean())
            row += "#" if value > 0.5 else "+" if value > 0.25 else "."
        rows.append(row)
    return "\n".join(rows)
