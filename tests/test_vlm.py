"""ftkit.shapes, ftkit.vlm and ftkit.tiny_vlm: the shapes task, the image-chat collator, greedy
answers, and the tiny VLM."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from ftkit.shapes import COLOURS, SHAPES, ascii_image, draw_shape, shape_probe, shapes_task
from ftkit.tiny_vlm import IMAGE_TOKEN, TinyVLMConfig, tiny_vlm
from ftkit.vlm import VisionChatCollator, answer_images


@pytest.fixture(scope="module")
def processor():
    return AutoProcessor.from_pretrained(tiny_vlm())


@pytest.fixture(scope="module")
def model():
    return AutoModelForImageTextToText.from_pretrained(tiny_vlm())


@pytest.fixture(scope="module")
def task():
    return shapes_task(n_train=200, n_test=40)


def picture(colour="red", shape="square", seed=0):
    return draw_shape(shape, colour, random.Random(seed))


def user(*parts):
    return {"role": "user", "content": list(parts)}


def reply(text):
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


IMAGE = {"type": "image"}


def text(value):
    return {"type": "text", "text": value}


# ------------------------------------------------------------------------- the data


def test_shapes_task_is_deterministic_and_splits_pictures(task):
    train, test = task
    again_train, again_test = shapes_task(n_train=200, n_test=40)
    assert len(train) == 200 and len(test) == 40
    pairs = zip(train, again_train, strict=True)
    assert all(a["images"][0].tobytes() == b["images"][0].tobytes() for a, b in pairs)
    assert [r["messages"] for r in test] == [r["messages"] for r in again_test]
    train_pictures = {row["images"][0].tobytes() for row in train}
    assert not any(row["images"][0].tobytes() in train_pictures for row in test)
    assert {row["task"] for row in train} == {"colour", "shape"}


def test_answers_match_the_pictures(task):
    for row in task[0][:60]:
        answer = row["messages"][-1]["content"][0]["text"]
        drawn = ascii_image(row["images"][0])
        letters = set(drawn) - {".", "\n"}
        if row["task"] == "colour":
            assert letters == {answer[0].upper()}, (answer, drawn)
        else:
            assert answer in SHAPES and len(letters) == 1


def test_draw_shape_shapes_differ_and_bad_names_are_named():
    rng_state = 7
    pixels = {s: picture("blue", s, rng_state).tobytes() for s in SHAPES}
    assert len(set(pixels.values())) == 3  # same place and size, three different pictures
    square = ascii_image(picture("blue", "square", rng_state))
    circle = ascii_image(picture("blue", "circle", rng_state))
    assert square.count("B") > circle.count("B")  # a circle fills less of its box
    with pytest.raises(ValueError, match="unknown shape 'hexagon'"):
        draw_shape("hexagon", "red", random.Random(0))
    with pytest.raises(ValueError, match="unknown colour 'pink'"):
        draw_shape("circle", "pink", random.Random(0))
    with pytest.raises(ValueError, match="n_train and n_test"):
        shapes_task(n_train=0)


# --------------------------------------------------------------------- the collator


def reference_mask(processor, rows):
    """transformers' own answer: the {% generation %} spans of the template, as a token mask."""
    encoded = processor.apply_chat_template(
        [row["messages"] for row in rows],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
        return_tensors="pt",
        processor_kwargs={"images": [row["images"] for row in rows], "padding": True},
    )
    return encoded["input_ids"], encoded["assistant_masks"]


def test_labels_equal_transformers_assistant_mask(processor, task):
    rows = [
        *task[0][:3],
        {  # two images interleaved with text, two assistant turns
            "images": [picture("red", "circle"), picture("blue", "triangle", 1)],
            "messages": [
                {"role": "system", "content": "Answer in one word."},
                user(text("First "), IMAGE, text(" then "), IMAGE, text(". Colour of the first?")),
                reply("red"),
                user(text("And the second one's shape?")),
                reply("triangle"),
            ],
        },
    ]
    batch = VisionChatCollator(processor)(rows)
    ids, mask = reference_mask(processor, rows)
    assert torch.equal(batch["input_ids"], ids)
    assert torch.equal(batch["labels"] != -100, mask.bool())
    assert torch.equal(batch["labels"][mask.bool()], ids[mask.bool()])
    tokenizer = processor.tokenizer
    last = [t for t in batch["labels"][3].tolist() if t != -100]
    assert tokenizer.decode(last) == "red<|end|>triangle<|end|>"


def test_batch_equals_trls_vision_collator(processor, task):
    """TRL's DataCollatorForVisionLanguageModeling(assistant_only_loss=True) builds the same,
    on single-turn, multi-turn and multi-image rows."""
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    rows = [{"images": r["images"], "messages": r["messages"]} for r in task[0][:5]]
    rows[1]["messages"] = [*rows[1]["messages"], user(text("Sure?")), reply("yes")]
    rows.append(  # two images, interleaved with text
        {
            "images": [picture("red", "circle"), picture("blue", "triangle", 1)],
            "messages": [
                user(text("First "), IMAGE, text(" then "), IMAGE, text(". Colour of the first?")),
                reply("red"),
            ],
        }
    )
    ours = VisionChatCollator(processor)(rows)
    trl = DataCollatorForVisionLanguageModeling(processor, assistant_only_loss=True)(rows)
    assert set(ours) == set(trl)
    for name in ours:
        assert torch.equal(ours[name], trl[name]), name


def test_images_expand_to_one_token_per_patch_in_order(processor):
    rows = [
        {
            "images": [picture("red"), picture("green", seed=1)],
            "messages": [user(IMAGE, text("and"), IMAGE), reply("two")],
        },
        {"images": [picture("blue")], "messages": [user(text("one"), IMAGE), reply("one")]},
    ]
    batch = VisionChatCollator(processor)(rows)
    image_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    per_image = TinyVLMConfig().image_tokens
    assert per_image == 16
    assert (batch["input_ids"] == image_id).sum(dim=1).tolist() == [2 * per_image, per_image]
    assert batch["pixel_values"].shape == (3, 3, 32, 32)  # all images, row by row
    expected = processor.image_processor(
        [picture("red"), picture("green", seed=1), picture("blue")], return_tensors="pt"
    )["pixel_values"]
    assert torch.equal(batch["pixel_values"], expected)
    assert not (batch["labels"] == image_id).any()


def test_left_padding_gives_the_same_labels_shifted(processor, task):
    rows = [
        task[0][0],
        {**task[0][1], "messages": [*task[0][1]["messages"], user(text("ok?")), reply("yes")]},
    ]
    right = VisionChatCollator(processor)(rows)
    left_processor = copy.deepcopy(processor)
    left_processor.tokenizer.padding_side = "left"
    left = VisionChatCollator(left_processor)(rows)
    for i in range(2):
        keep_r, keep_l = right["attention_mask"][i] == 1, left["attention_mask"][i] == 1
        assert torch.equal(right["labels"][i][keep_r], left["labels"][i][keep_l])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"images": [], "messages": [user(IMAGE, text("?")), reply("x")]},
            r"rows\[0\]: .*place 1 .*holds 0",
        ),
        ({"images": [picture()] * 2, "messages": [user(IMAGE), reply("x")]}, "place 1 .*holds 2"),
        (
            {"images": ["cat.png"], "messages": [user(IMAGE), reply("x")]},
            r"rows\[0\]\.images\[0\]: .*PIL",
        ),
        ({"images": [picture()], "messages": [user(IMAGE)]}, r"rows\[0\]: no assistant reply"),
        (
            {"images": [], "messages": [{"role": "robot", "content": "hi"}]},
            r"rows\[0\]\.messages\[0\]\.role: unknown role 'robot'",
        ),
        (
            {"images": [], "messages": [user({"type": "audio"}), reply("x")]},
            r"rows\[0\]\.messages\[0\]\.content\[0\]: expected",
        ),
        ({"messages": "hello"}, r"rows\[0\]\.messages: expected a non-empty list"),
        ("just text", r"rows\[0\]: expected a dict"),
        (
            {"images": picture(), "messages": [user(IMAGE), reply("x")]},
            r"rows\[0\]\.images: expected a list of PIL images",
        ),
    ],
)
def test_bad_rows_are_named(processor, row, message):
    with pytest.raises(ValueError, match=message):
        VisionChatCollator(processor)([row])


def test_bad_row_is_named_by_its_index(processor, task):
    bad = {"images": [], "messages": task[0][0]["messages"]}
    with pytest.raises(ValueError, match=r"rows\[2\]: the messages place 1"):
        VisionChatCollator(processor)([task[0][0], task[0][1], bad])
    with pytest.raises(ValueError, match="no rows"):
        VisionChatCollator(processor)([])


def test_a_template_that_is_not_prefix_consistent_is_refused(processor, task):
    odd = copy.deepcopy(processor)
    odd.chat_template = "{{ messages | length }}" + processor.chat_template  # a count up front
    with pytest.raises(ValueError, match=r"rows\[0\]\.messages\[1\]: .*prefix"):
        VisionChatCollator(odd)(task[0][:1])


# ---------------------------------------------------------------------- the tiny VLM


def test_tiny_vlm_loads_like_a_hub_model_and_runs(model, processor, task):
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    assert type(processor).__name__ == "LlavaProcessor"
    assert model.config.vision_config.model_type == "siglip_vision_model"
    batch = VisionChatCollator(processor)(task[0][:4])
    out = model(**batch)
    assert out.logits.shape == (*batch["input_ids"].shape, len(processor.tokenizer))
    assert torch.isfinite(out.loss)


def test_same_recipe_same_bits_in_separate_caches(tmp_path, monkeypatch):
    quick = TinyVLMConfig(vision_pretrain_steps=3, text_pretrain_steps=2)
    files = []
    for name in ("a", "b"):
        monkeypatch.setenv("FTKIT_CACHE", str(tmp_path / name))
        files.append((Path(tiny_vlm(quick)) / "model.safetensors").read_bytes())
    assert files[0] == files[1]
    monkeypatch.setenv("FTKIT_CACHE", str(tmp_path / "c"))
    other = Path(tiny_vlm(TinyVLMConfig(seed=1, vision_pretrain_steps=3, text_pretrain_steps=2)))
    assert (other / "model.safetensors").read_bytes() != files[0]


def test_the_vision_tower_sees_shapes(model, processor):
    """Pretraining made shapes separable: a nearest-centroid probe on frozen features."""
    pretrained = shape_probe(model.model.vision_tower, processor.image_processor, n=300, seed=5)
    assert pretrained > 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 30}, "multiple of patch_size"),
        ({"vision_hidden_size": 66}, "divisible by vision_heads"),
        ({"vision_pretrain_steps": -1}, "vision_pretrain_steps must be an int >= 0"),
        ({"patch_size": 0}, "patch_size must be a positive int"),
    ],
)
def test_bad_recipes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TinyVLMConfig(**kwargs)
    with pytest.raises(ValueError, match="not both"):
        tiny_vlm(TinyVLMConfig(), seed=1)


# --------------------------------------------------------------------------- answers


def test_answer_images_restores_state_and_matches_one_by_one(model, processor, task):
    rows = task[1][:6]
    model.train()
    together = answer_images(model, processor, rows, max_new_tokens=4, batch_size=6)
    assert model.training and processor.tokenizer.padding_side == "right"
    alone = [answer_images(model, processor, [row], max_new_tokens=4)[0] for row in rows]
    assert together == alone  # left padding does not change a greedy reply
    prompt_only = {**rows[0], "messages": rows[0]["messages"][:1]}
    assert answer_images(model, processor, [prompt_only], max_new_tokens=4) == together[:1]
    with pytest.raises(ValueError, match="no rows"):
        answer_images(model, processor, [])


def test_ascii_image_marks_colours_and_white():
    image = Image.new("RGB", (4, 2), (255, 255, 255))
    image.putpixel((0, 0), COLOURS["green"])
    image.putpixel((2, 0), (225, 205, 30))  # near yellow
    assert ascii_image(image, step=1) == "G.Y.\n...."
