"""ftkit.tiny_t5: T5's tokenizer layout, a model that loads like t5-small, span corruption's
invariants, the relative position buckets against transformers, and pretraining that learns."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
from transformers.models.t5.modeling_t5 import T5Attention

from ftkit.cache import CACHE_ENV, MANIFEST
from ftkit.text2text import SUMMARIZE, TRANSLATE, summarization_task, translation_task
from ftkit.tiny_t5 import (
    MEAN_NOISE_SPAN_LENGTH,
    N_SENTINELS,
    NOISE_DENSITY,
    TinyT5Config,
    corrupted_batch,
    random_spans_noise_mask,
    relative_position_bucket,
    sentinel,
    span_corruption,
    tiny_t5,
)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(tiny_t5())  # the shared cache: random weights, fast


def test_tokenizer_has_t5s_layout(tokenizer):
    assert type(tokenizer).__name__ == "T5Tokenizer"
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "</s>"
    n = len(tokenizer)
    assert tokenizer.convert_tokens_to_ids(sentinel(0)) == n - 1  # <extra_id_0>: the last id
    assert tokenizer.convert_tokens_to_ids(sentinel(N_SENTINELS - 1)) == n - N_SENTINELS
    assert tokenizer("The council met.").input_ids[-1] == tokenizer.eos_token_id


def test_tokenizer_covers_the_tasks_and_round_trips(tokenizer):
    rows = summarization_task(n_train=50)["train"] + translation_task(n_train=50)["train"]
    for row in rows:
        for text in (row["input"], row["target"]):
            ids = tokenizer(text).input_ids
            assert tokenizer.unk_token_id not in ids, text
            assert tokenizer.decode(ids, skip_special_tokens=True) == text
    # words are pieces and punctuation is kept apart, as T5's SentencePiece cuts them
    pieces = tokenizer.convert_ids_to_tokens(tokenizer("summarize: the council met.").input_ids)
    assert pieces == ["▁summarize", ":", "▁the", "▁council", "▁met", ".", "</s>"]


def test_loads_like_a_hub_model_and_round_trips_logits(cache, tmp_path):
    path = tiny_t5()
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(
        json.loads((Path(path) / MANIFEST).read_text())["files"]
    )
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert model.config.model_type == "t5"
    assert model.config.decoder_start_token_id == tokenizer.pad_token_id == 0
    assert model.generation_config.decoder_start_token_id == 0
    assert model.num_parameters() == 239_488
    batch = tokenizer(["summarize: The council met."], return_tensors="pt")
    labels = tokenizer(["council meets"], return_tensors="pt").input_ids
    model.save_pretrained(tmp_path / "copy")
    again = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "copy")
    with torch.no_grad():
        assert torch.equal(
            model(**batch, labels=labels).logits, again(**batch, labels=labels).logits
        )


def test_same_recipe_same_bits_in_separate_caches(tmp_path, monkeypatch):
    def digests() -> dict:
        path = Path(tiny_t5(pretrain_steps=2))
        return json.loads((path / MANIFEST).read_text())["files"]

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a"))
    first = digests()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "b"))
    assert digests() == first


def test_build_does_not_touch_the_callers_rng(cache):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_t5()
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("length", [2, 3, 7, 13, 20, 43, 100, 512])
def test_the_mask_has_t5s_counts(length):
    """round(15%) of the tokens (at least 1, not all), in round(noise / 3) spans, whatever the
    seed; the rotation moves the spans, so the last token is not always corrupted."""
    noise = min(max(round(length * NOISE_DENSITY), 1), length - 1)
    spans = min(max(round(noise / MEAN_NOISE_SPAN_LENGTH), 1), noise, length - noise)
    last_corrupted = 0
    for seed in range(50):
        mask = random_spans_noise_mask(length, random.Random(seed))
        assert len(mask) == length and sum(mask) == noise
        # spans counted around the circle: the rotation may split one across the end
        starts = sum(m and not mask[i - 1] for i, m in enumerate(mask))
        assert starts == spans
        last_corrupted += mask[-1]
    assert last_corrupted < 50


def test_span_corruption_puts_every_token_back():
    """Replacing each sentinel of the input with what follows it in the target gives the
    original sequence back; the sentinels come in order, <extra_id_0> first."""
    sentinel_ids = list(range(1000, 900, -1))  # like T5's: counting down from the top
    for seed in range(200):
        rng = random.Random(seed)
        ids = [rng.randrange(50) for _ in range(rng.randint(2, 80))]
        inputs, targets = span_corruption(ids, sentinel_ids, random.Random(seed))
        used = [t for t in inputs if t in sentinel_ids]
        assert used == sentinel_ids[: len(used)]
        assert [t for t in targets if t in sentinel_ids] == used
        hidden, current = {}, None
        for token in targets:
            if token in sentinel_ids:
                current = token
                hidden[current] = []
            else:
                hidden[current].append(token)
        restored = [t for s in inputs for t in (hidden[s] if s in sentinel_ids else [s])]
        assert restored == ids
        assert len(targets) - len(used) == round(len(ids) * NOISE_DENSITY) or len(ids) < 7


def test_span_corruption_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="needs 2 tokens, got 1"):
        span_corruption([5], [99], random.Random(0))
    with pytest.raises(ValueError, match="only 1 sentinel ids were given"):
        span_corruption(list(range(100)), [999], random.Random(0))
    with pytest.raises(ValueError, match="noise_density must be in"):
        span_corruption(list(range(10)), [999], random.Random(0), noise_density=1.5)
    with pytest.raises(ValueError, match="got 0.15 and 0.5"):
        random_spans_noise_mask(10, random.Random(0), 0.15, 0.5)


def test_corrupted_batch_pads_and_names_bad_rows(tokenizer):
    batch = corrupted_batch(
        ["the big dog sees a cat", "hundo vidas katon"], tokenizer, random.Random(0)
    )
    assert batch["input_ids"].shape[0] == 2
    assert ((batch["input_ids"] == 0) == (batch["attention_mask"] == 0)).all()
    for row in batch["labels"].tolist():
        assert [t for t in row if t != -100][-1] == tokenizer.eos_token_id
    with pytest.raises(ValueError, match="row 1 is int, not text"):
        corrupted_batch(["a cat", 7], tokenizer, random.Random(0))
    with pytest.raises(ValueError, match="row 0 has 1 tokens; need 2"):
        corrupted_batch(["cat"], tokenizer, random.Random(0))


@pytest.mark.parametrize("num_buckets, max_distance", [(32, 128), (16, 64), (64, 256), (8, 20)])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_buckets_equal_transformers(num_buckets, max_distance, bidirectional):
    offsets = torch.arange(-2000, 2001)
    ours = relative_position_bucket(offsets, bidirectional, num_buckets, max_distance)
    theirs = T5Attention._relative_position_bucket(
        offsets, bidirectional, num_buckets=num_buckets, max_distance=max_distance
    )
    assert torch.equal(ours, theirs)
    assert ours.min() >= 0 and ours.max() < num_buckets


def test_pretraining_lowers_the_held_out_denoising_loss():
    """The page's build (the shared cache): on the two tasks' held-out inputs, text the
    pretraining never read, span corruption's loss falls far below the random model's."""
    path = tiny_t5(pretrain_steps=60)
    tokenizer = AutoTokenizer.from_pretrained(path)
    rows = summarization_task()["test"] + translation_task()["test"]
    texts = [row["input"].removeprefix(SUMMARIZE).removeprefix(TRANSLATE) for row in rows]
    batch = corrupted_batch(texts, tokenizer, random.Random(0))
    pretrained = AutoModelForSeq2SeqLM.from_pretrained(path)
    random_weights = AutoModelForSeq2SeqLM.from_pretrained(tiny_t5())
    with torch.no_grad():
        before = random_weights(**batch).loss.item()
        after = pretrained(**batch).loss.item()
    assert after < 0.6 * before


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"d_model": 0}, "d_model"),
        ({"num_heads": -1}, "num_heads"),
        ({"pretrain_steps": -2}, "pretrain_steps"),
        ({"vocab_size": 50}, "vocab_size"),
        ({"feed_forward_proj": "swiglu"}, "feed_forward_proj"),
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TinyT5Config(**kwargs)


def test_seed_and_config_are_exclusive():
    with pytest.raises(ValueError, match="either config or seed"):
        tiny_t5(TinyT5Config(), seed=1)
