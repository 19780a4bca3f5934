"""The Llama 3.2 stand-in has the real model's quirks, and ftkit's batching copes with them."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.chat import IGNORE_INDEX, _pad, _reply_mask, chat_batch, faq
from ftkit.standins import LLAMA3_SPECIAL, standin
from ftkit.tiny import tiny_llama

LLAMA = "meta-llama/Llama-3.2-1B-Instruct"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(standin(LLAMA))


def test_the_vocabulary_has_llama_3s_layout(tokenizer):
    assert len(tokenizer) == 128_256 and len(LLAMA3_SPECIAL) == 256
    ids = tokenizer.convert_tokens_to_ids(
        ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    )
    assert ids == [128000, 128006, 128007, 128009]
    assert tokenizer.convert_tokens_to_ids("<|finetune_right_pad_id|>") == 128004
    assert tokenizer.convert_tokens_to_ids("<think>") is None  # no reasoning tags
    pieces = tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str("12345 apples")
    assert [text for text, _ in pieces] == ["123", "45", "Ġapples"]  # digits in threes


def test_the_quirks_that_break_code_written_for_the_tiny_model(tokenizer):
    assert tokenizer.pad_token is None
    with pytest.raises(ValueError, match="padding token"):
        tokenizer(["a", "bc"], padding=True)
    chat = faq()[0]
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    assert text.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
    assert "Cutting Knowledge Date: December 2023" in text  # a system turn nobody wrote
    assert tokenizer(text)["input_ids"][:2] == [128000, 128000]  # the template's BOS, and one more
    masked = tokenizer.apply_chat_template(
        chat, return_dict=True, return_assistant_tokens_mask=True
    )
    assert sum(masked["assistant_masks"]) == 0  # no {% generation %} markers


def test_trl_cannot_patch_its_template_for_assistant_only_loss(tokenizer):
    from trl.chat_template_utils import get_training_chat_template

    with pytest.raises(ValueError, match="patching is not supported"):
        get_training_chat_template(tokenizer)


def test_the_model_loads_with_tied_embeddings_and_stops_at_any_end_token():
    model = AutoModelForCausalLM.from_pretrained(standin(LLAMA))
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert model.config.vocab_size == 128_256 and model.config.pad_token_id is None
    assert model.generation_config.eos_token_id == [128001, 128008, 128009]


def test_chat_batch_puts_the_loss_on_the_replies_without_markers_or_pad(tokenizer):
    chats = faq()[:3]
    batch = chat_batch(tokenizer, chats)
    for row, chat in zip(range(3), chats, strict=True):
        scored = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX]
        reply = chat[-1]["content"].strip()
        assert tokenizer.decode(scored) == reply + "<|eot_id|>"
    padded = batch["attention_mask"] == 0
    assert padded.any() and (batch["input_ids"][padded] == tokenizer.eos_token_id).all()


def test_without_markers_chat_batch_finds_the_same_tokens_as_the_markers():
    """On the tiny model, whose template has markers, the prefix rule gives the same batch."""
    tiny = AutoTokenizer.from_pretrained(tiny_llama())
    chats = faq()
    with_markers = chat_batch(tiny, chats)
    ids, attention, mask = _pad([_reply_mask(tiny, c, i) for i, c in enumerate(chats)], tiny)
    assert torch.equal(ids, with_markers["input_ids"])
    assert torch.equal(attention, with_markers["attention_mask"])
    assert torch.equal(ids.masked_fill(mask == 0, IGNORE_INDEX), with_markers["labels"])


def test_a_template_that_rewrites_the_past_is_refused_naming_the_reply(tokenizer):
    tiny = AutoTokenizer.from_pretrained(tiny_llama())
    # a template that prints only the last message: the chat up to a reply is not a prefix
    tiny.chat_template = "{{ messages[-1]['content'] }}"
    chat = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Goodbye"},
    ]
    with pytest.raises(ValueError, match=r"chats\[0\]\.messages\[1\]: the chat template"):
        chat_batch(tiny, [chat])


def test_unknown_hub_ids_are_named():
    with pytest.raises(ValueError, match="no stand-in for 'org/model'; there are: meta-llama"):
        standin("org/model")


def test_reply_loss_rows_keeps_markers_and_splits_where_trl_cannot_patch(tokenizer):
    from ftkit.chat import reply_loss_rows

    rows = [{"messages": chat} for chat in faq()[:2]]
    tiny = AutoTokenizer.from_pretrained(tiny_llama())
    assert reply_loss_rows(tiny, rows) == (rows, {"assistant_only_loss": True})
    split, options = reply_loss_rows(tokenizer, rows)  # Llama 3.2: no markers, no patch
    assert options == {}
    assert split[0] == {"prompt": faq()[0][:-1], "completion": faq()[0][-1:]}
    with pytest.raises(ValueError, match=r"rows\[1\]: needs messages that end with an assistant"):
        reply_loss_rows(tokenizer, [rows[0], {"messages": faq()[0][:1]}])


LLAVA = "llava-hf/llava-interleave-qwen-0.5b-hf"
PICTURE_CHAT = [
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What shape?"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "square"}]},
]


@pytest.fixture(scope="module")
def llava():
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = standin(LLAVA)
    return AutoProcessor.from_pretrained(path), AutoModelForImageTextToText.from_pretrained(path)


def test_the_llava_stand_in_has_qwens_tokens_and_729_token_pictures(llava):
    from PIL import Image

    processor, model = llava
    tokenizer = processor.tokenizer
    assert len(tokenizer) == 151_647 and model.config.text_config.vocab_size == 152_000
    ids = tokenizer.convert_tokens_to_ids(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>"]
    )
    assert ids == [151643, 151644, 151645, 151646] == [*ids[:3], model.config.image_token_id]
    assert tokenizer.bos_token is None and tokenizer.pad_token == "<|endoftext|>"
    assert (
        tokenizer("12 apples")["input_ids"][:2]
        == tokenizer("1")["input_ids"] + tokenizer("2")["input_ids"]
    )  # Qwen splits numbers into single digits, and adds no BOS
    text = processor.apply_chat_template(PICTURE_CHAT, tokenize=False)
    assert text == (
        "<|im_start|>user\n<image>\nWhat shape?<|im_end|>\n"
        "<|im_start|>assistant\n\nsquare<|im_end|>\n"
    )
    batch = processor(text=[text], images=[Image.new("RGB", (32, 32))], return_tensors="pt")
    assert batch["pixel_values"].shape == (1, 3, 384, 384)
    assert (batch["input_ids"] == model.config.image_token_id).sum() == 27 * 27
    with torch.no_grad():
        assert model(**batch).logits.shape == (1, batch["input_ids"].shape[1], 152_000)


def test_the_llava_template_drops_string_content_and_marks_no_assistant_tokens(llava):
    processor, _ = llava
    plain = [{"role": "user", "content": "What shape?"}]
    # the real template reads only lists of parts: a string message renders empty
    assert processor.apply_chat_template(plain, tokenize=False) == "<|im_start|>user\n<|im_end|>\n"
    masked = processor.tokenizer.apply_chat_template(
        PICTURE_CHAT, return_dict=True, return_assistant_tokens_mask=True
    )
    assert sum(masked["assistant_masks"]) == 0  # no {% generation %} markers
