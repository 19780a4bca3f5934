"""The stand-ins have their real models' quirks (Llama 3.2, LLaVA-Interleave Qwen, BERT-base,
Flan-T5 Base, DeepSeek-R1-Distill-Qwen), and ftkit's batching copes with them."""

from __future__ import annotations

import random

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


BERT = "google-bert/bert-base-uncased"


def test_the_bert_stand_in_has_bert_base_uncaseds_real_vocabulary_and_config():
    import hashlib
    import json
    from pathlib import Path

    from transformers import AutoConfig

    from ftkit.encoders import minilm_path

    path = Path(standin(BERT))
    vocab = (path / "vocab.txt").read_bytes()
    assert vocab == (Path(minilm_path()) / "vocab.txt").read_bytes()
    # the SHA-256 that projects pin for bert-base-uncased's vocab.txt (231,508 bytes)
    assert hashlib.sha256(vocab).hexdigest().startswith("07eced375cec144d27c900241f3e3394")
    assert json.loads((path / "tokenizer_config.json").read_text()) == {
        "do_lower_case": True,
        "model_max_length": 512,
    }  # the hub's file, whole
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert len(tokenizer) == 30_522 and tokenizer.model_max_length == 512
    names = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tokenizer.convert_tokens_to_ids(names) == [0, 100, 101, 102, 103]
    pair = tokenizer("Where was Mara born?", "Mara was born in LISBON.")
    tokens = " ".join(tokenizer.convert_ids_to_tokens(pair["input_ids"]))
    assert tokens == "[CLS] where was mara born ? [SEP] mara was born in lisbon . [SEP]"
    assert pair["token_type_ids"] == [0] * 7 + [1] * 7
    # MiniLM's tokenizer.json pads and cuts at 128; bert-base-uncased's does neither
    assert len(tokenizer("word " * 200)["input_ids"]) == 202
    config = AutoConfig.from_pretrained(path)
    assert config.architectures == ["BertForMaskedLM"] and config.model_type == "bert"
    assert (config.vocab_size, config.max_position_embeddings, config.type_vocab_size) == (
        30_522,
        512,
        2,
    )
    assert config.num_hidden_layers == 12  # DistilBERT's layers [0, 2, 4, 7, 9, 11] exist


def test_the_bert_stand_in_loads_its_pooler_and_starts_only_the_new_head_at_random():
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    heads = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        heads.append(AutoModelForSequenceClassification.from_pretrained(standin(BERT)))
    assert torch.equal(heads[0].bert.pooler.dense.weight, heads[1].bert.pooler.dense.weight)
    assert not torch.equal(heads[0].classifier.weight, heads[1].classifier.weight)
    mlm = AutoModelForMaskedLM.from_pretrained(standin(BERT))
    assert mlm.cls.predictions.decoder.weight is mlm.bert.embeddings.word_embeddings.weight


T5 = "google/flan-t5-base"


def test_the_t5_stand_in_has_t5s_vocabulary_layout_and_sentinels():
    from ftkit.tiny_t5 import corrupted_batch

    tokenizer = AutoTokenizer.from_pretrained(standin(T5))
    assert len(tokenizer) == 32_100 and tokenizer.bos_token is None
    ids = tokenizer.convert_tokens_to_ids(["<pad>", "</s>", "<unk>", "<extra_id_99>"])
    assert ids == [0, 1, 2, 32_000]
    assert tokenizer.convert_tokens_to_ids("<extra_id_0>") == 32_099  # the last id
    encoded = tokenizer("The council met.")["input_ids"]
    assert encoded[-1] == tokenizer.eos_token_id and tokenizer.unk_token_id not in encoded
    # braces are out of T5's vocabulary; runs of spaces and newlines fold into one space
    assert tokenizer("{x}")["input_ids"].count(tokenizer.unk_token_id) == 2
    assert tokenizer("a  b\nc")["input_ids"] == tokenizer("a b c")["input_ids"]
    batch = corrupted_batch(["The council met for three hours."] * 2, tokenizer, random.Random(0))
    assert (batch["input_ids"] >= 32_000).any()  # a sentinel in every corrupted input


def test_the_t5_stand_in_is_t5_1_1_with_its_own_output_layer():
    import json
    from pathlib import Path

    from transformers import AutoModelForSeq2SeqLM

    path = Path(standin(T5))
    assert json.loads((path / "config.json").read_text())["tie_word_embeddings"] is False
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    config = model.config
    assert config.vocab_size == 32_128 and model.shared.weight.shape[0] == 32_128
    assert config.feed_forward_proj == "gated-gelu" and config.is_gated_act
    assert config.decoder_start_token_id == config.pad_token_id == 0
    assert model.lm_head.weight is not model.shared.weight  # untied, as Flan-T5's checkpoint
    assert not config.scale_decoder_outputs  # T5 1.1: no d_model ** -0.5 before the output
    inputs = AutoTokenizer.from_pretrained(path)(["a b"], return_tensors="pt")
    start = torch.zeros(1, 1, dtype=torch.long)  # the decoder starts from <pad>
    assert model(**inputs, decoder_input_ids=start).logits.shape == (1, 1, 32_128)


R1 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"


@pytest.fixture(scope="module")
def r1_tokenizer():
    return AutoTokenizer.from_pretrained(standin(R1))


def test_the_r1_stand_in_has_deepseeks_tokens_in_qwens_places(r1_tokenizer):
    tokenizer = r1_tokenizer
    assert len(tokenizer) == 151_665
    names = ["<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>"]
    assert tokenizer.convert_tokens_to_ids(names) == [151643, 151644, 151645, 151646]
    assert tokenizer.convert_tokens_to_ids(["<think>", "</think>"]) == [151648, 151649]
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") is None  # not Qwen's chat tokens
    assert tokenizer.bos_token_id == 151646 and tokenizer.eos_token_id == 151643
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    assert tokenizer("Hi")["input_ids"][0] == 151646  # add_bos_token
    # the think tags and turn markers are not special: decoding keeps them
    ids = tokenizer("<think>2</think>2<｜end▁of▁sentence｜>", add_special_tokens=False)
    assert tokenizer.decode(ids["input_ids"], skip_special_tokens=True) == "<think>2</think>2"


def test_the_r1_template_drops_past_reasoning_and_opens_the_next(r1_tokenizer):
    from trl.chat_template_utils import get_training_chat_template

    chat = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Start at 3. Add 2."},
        {"role": "assistant", "content": "<think>3 + 2 = 5.</think>5"},
        {"role": "user", "content": "Take 1."},
    ]
    text = r1_tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert text == (  # the hub template's rendering: no separators, no past reasoning
        "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Start at 3. Add 2.<｜Assistant｜>5"
        "<｜end▁of▁sentence｜><｜User｜>Take 1.<｜Assistant｜><think>\n"
    )
    with pytest.raises(ValueError, match=r"chats\[0\]\.messages\[2\]: the chat template"):
        chat_batch(r1_tokenizer, [chat[:3]])  # the reply is not where the prompt ends
    training = get_training_chat_template(r1_tokenizer)  # TRL's: keeps it, marks it
    assert "{% generation %}" in training and "split('</think>')" not in training


def test_the_r1_stand_in_is_an_untied_qwen2_that_samples_by_default():
    model = AutoModelForCausalLM.from_pretrained(standin(R1))
    assert model.config.model_type == "qwen2" and model.config.vocab_size == 151_936
    assert model.lm_head.weight is not model.model.embed_tokens.weight
    assert model.config.num_key_value_heads < model.config.num_attention_heads
    generation = model.generation_config
    assert generation.do_sample and (generation.temperature, generation.top_p) == (0.6, 0.95)
    assert (generation.bos_token_id, generation.eos_token_id) == (151646, 151643)
