"""ftkit.glyphs: letters and digits drawn by code, the data of the transfer-learning chapter."""

from __future__ import annotations

import hashlib
import random

import pytest
import torch
import torch.nn.functional as F

from ftkit.glyphs import DIGITS, LETTERS, SIZE, ascii_glyph, draw_glyph, few_shot, glyph_set


def test_the_pictures_are_the_same_on_every_machine():
    """Pillow's own font and integer drawing: these bytes are what every host draws (the
    chapter's printed pictures and its training data rest on it)."""
    images, _ = glyph_set(DIGITS, per_class=2, seed=0, noise=0)
    digest = hashlib.sha256(images.numpy().tobytes()).hexdigest()
    assert digest == "25cdc440fd06b36b6f89e1886ed572e864016bda2adf58680afa7c566b4cb920"


def test_a_set_has_its_shapes_labels_in_turn_and_its_seed():
    images, labels = glyph_set(LETTERS, per_class=3, seed=4)
    assert images.shape == (60, 1, SIZE, SIZE) and images.dtype == torch.float32
    assert labels.tolist() == list(range(20)) * 3
    again, _ = glyph_set(LETTERS, per_class=3, seed=4)
    assert torch.equal(images, again)
    other, _ = glyph_set(LETTERS, per_class=3, seed=5)
    assert not torch.equal(images, other)


def test_pictures_are_bright_strokes_on_black_with_the_noise_asked_for():
    clean, _ = glyph_set(DIGITS, per_class=5, seed=0, noise=0)
    assert clean.min() == 0 and clean.max() == 1
    ink = (clean > 0.5).float().mean().item()
    assert 0.03 < ink < 0.3  # a stroke, not an empty or a filled square
    noisy, _ = glyph_set(DIGITS, per_class=5, seed=0, noise=0.15)
    assert abs((noisy - clean).std().item() - 0.15) < 0.01


def test_test_pictures_differ_from_training_pictures():
    train, _ = glyph_set(DIGITS, per_class=30, seed=2, noise=0)
    test, _ = glyph_set(DIGITS, per_class=50, seed=3, noise=0)
    seen = {bytes(x.numpy().tobytes()) for x in train}
    assert not any(bytes(x.numpy().tobytes()) in seen for x in test)


def test_digits_are_learnable_from_pixels():
    """A linear classifier on raw pixels learns the digits above chance (10%) on 200 held-out
    pictures (23.5% here): the task has signal, yet moved and turned strokes defeat pixels
    alone, which is the room the chapter's convolutions fill."""
    x, y = glyph_set(DIGITS, per_class=30, seed=2)
    xt, yt = glyph_set(DIGITS, per_class=20, seed=3)
    torch.manual_seed(0)
    linear = torch.nn.Linear(SIZE * SIZE, 10)
    optimizer = torch.optim.Adam(linear.parameters(), lr=1e-2)
    for _ in range(100):
        loss = F.cross_entropy(linear(x.flatten(1)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    accuracy = (linear(xt.flatten(1)).argmax(-1) == yt).float().mean().item()
    assert accuracy > 0.17


def test_few_shot_takes_k_distinct_pictures_of_every_class():
    images, labels = glyph_set(DIGITS, per_class=6, seed=0)
    x, y = few_shot(images, labels, k=4, seed=1)
    assert x.shape == (40, 1, SIZE, SIZE)
    assert torch.bincount(y).tolist() == [4] * 10
    assert len({bytes(p.numpy().tobytes()) for p in x}) == 40
    x2, _ = few_shot(images, labels, k=4, seed=1)
    assert torch.equal(x, x2)


def test_ascii_glyph_draws_half_resolution_rows():
    picture = torch.zeros(1, SIZE, SIZE)
    picture[0, :4, :4] = 1.0
    picture[0, 4:6, :2] = 0.4
    rows = ascii_glyph(picture).splitlines()
    assert len(rows) == SIZE // 2 and all(len(r) == SIZE // 2 for r in rows)
    assert rows[0].startswith("##..") and rows[2].startswith("+.")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: glyph_set("", 3), "chars is empty"),
        (lambda: glyph_set("ABA", 3), r"repeats \['A'\]"),
        (lambda: glyph_set(DIGITS, 0), "per_class must be at least 1, got 0"),
        (lambda: glyph_set(DIGITS, 2, noise=-0.1), "noise is a standard deviation"),
        (lambda: draw_glyph("AB", random.Random(0)), "one printable character, got 'AB'"),
        (lambda: draw_glyph(" ", random.Random(0)), "one printable character"),
        (lambda: draw_glyph("A", random.Random(0), size=8), "at least 12 pixels, got 8"),
        (
            lambda: few_shot(torch.zeros(4, 24, 24), torch.zeros(4, dtype=torch.long), 1),
            r"images must be \[N, 1, height, width\], got \[4, 24, 24\]",
        ),
        (
            lambda: few_shot(torch.zeros(4, 1, 24, 24), torch.zeros(3, dtype=torch.long), 1),
            r"labels must be \[N\] with N = 4 images, got \[3\]",
        ),
        (
            lambda: few_shot(torch.zeros(4, 1, 24, 24), torch.zeros(4), 1),
            "labels must be int64 class indices, got torch.float32",
        ),
        (lambda: few_shot(*glyph_set(DIGITS, 2), k=0), r"k \(labelled pictures per class\)"),
        (lambda: few_shot(*glyph_set(DIGITS, 2), k=3), "class 0 has 2 pictures, k is 3"),
        (lambda: ascii_glyph(torch.zeros(2, 3, 4, 4)), r"expected \[1, H, W\] or \[H, W\]"),
    ],
)
def test_bad_input_is_refused_naming_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
