"""ftkit.export.to_gguf: transformers reads the file back as the same model and tokenizer."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from ftkit.export import (
    LLAMA3_REGEX,
    ExportError,
    _permute_for_rope,
    llama_cpp_pre_tokenizer,
    rope_freq_factors,
    to_gguf,
)
from ftkit.tiny import TinyLlamaConfig, tiny_llama

TEXT = "<|user|>\nStart at 7, add 7, take 9.<|end|>\n<|assistant|>\n<think>7 + 7 = 14.</think>"


def _logits(model, tokenizer):
    ids = tokenizer(TEXT, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        return model(ids).logits


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    source = tiny_llama(pretrain_steps=100)
    folder = tmp_path_factory.mktemp("gguf")
    files = {q: to_gguf(source, folder / f"tiny-{q}.gguf", q) for q in ("F32", "F16", "Q8_0")}
    return source, folder, files


def test_f32_round_trip_is_exact(exported):
    source, folder, files = exported
    model, tokenizer = (
        AutoModelForCausalLM.from_pretrained(source),
        AutoTokenizer.from_pretrained(source),
    )
    back = AutoModelForCausalLM.from_pretrained(folder, gguf_file=files["F32"].name)
    back_tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=files["F32"].name)
    assert torch.equal(_logits(back, tokenizer), _logits(model, tokenizer))
    assert back_tokenizer(TEXT).input_ids == tokenizer(TEXT, add_special_tokens=False).input_ids
    fields = gguf.GGUFReader(files["F32"]).fields
    template = fields["tokenizer.chat_template"]
    assert bytes(template.parts[template.data[0]]).decode() == tokenizer.chat_template


def test_f16_and_q8_0_are_close_and_smaller(exported):
    source, folder, files = exported
    model, tokenizer = (
        AutoModelForCausalLM.from_pretrained(source),
        AutoTokenizer.from_pretrained(source),
    )
    reference = _logits(model, tokenizer)
    error = {}
    for qtype in ("F16", "Q8_0"):
        back = AutoModelForCausalLM.from_pretrained(folder, gguf_file=files[qtype].name)
        error[qtype] = (_logits(back, tokenizer) - reference).abs().max().item()
    assert 0 < error["F16"] < 0.02 and error["F16"] < error["Q8_0"] < 0.5
    sizes = [files[q].stat().st_size for q in ("F32", "F16", "Q8_0")]
    assert sizes == sorted(sizes, reverse=True)
    types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(files["Q8_0"]).tensors}
    assert types["blk.0.attn_q.weight"] == "Q8_0" and types["blk.0.attn_norm.weight"] == "F32"


def test_q_and_k_are_stored_in_llama_cpp_rotary_order(exported):
    source, _, files = exported
    model = AutoModelForCausalLM.from_pretrained(source)
    heads = model.config.num_attention_heads
    stored = {t.name: np.array(t.data) for t in gguf.GGUFReader(files["F32"]).tensors}
    q = model.model.layers[0].self_attn.q_proj.weight.detach().numpy()
    assert np.array_equal(stored["blk.0.attn_q.weight"], _permute_for_rope(q, heads))
    assert not np.array_equal(stored["blk.0.attn_q.weight"], q)  # so the order is checked


def test_tied_embeddings_write_no_output_tensor(tmp_path):
    source = tiny_llama(config=TinyLlamaConfig(tie_word_embeddings=True))
    path = to_gguf(source, tmp_path / "tied.gguf", "F32")
    assert "output.weight" not in {t.name for t in gguf.GGUFReader(path).tensors}
    model, tokenizer = (
        AutoModelForCausalLM.from_pretrained(source),
        AutoTokenizer.from_pretrained(source),
    )
    back = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=path.name)
    assert torch.equal(_logits(back, tokenizer), _logits(model, tokenizer))


def test_bad_requests_are_named(tmp_path):
    source = tiny_llama()
    with pytest.raises(ExportError, match="qtype must be one of F32, F16, Q8_0"):
        to_gguf(source, tmp_path / "x.gguf", "Q4_K")
    with pytest.raises(ExportError, match="has no config.json"):
        to_gguf(tmp_path, tmp_path / "x.gguf")
    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16)).save_pretrained(gpt2)
    with pytest.raises(ExportError, match="only Llama models.*'gpt2'"):
        to_gguf(gpt2, tmp_path / "x.gguf")


def test_the_pre_tokenizer_type_is_read_off_the_tokenizer(tmp_path):
    from tokenizers import normalizers, pre_tokenizers

    from ftkit.standins import LLAMA3_SPLIT, LLAMA32, standin

    tiny = AutoTokenizer.from_pretrained(tiny_llama(pretrain_steps=100))
    assert llama_cpp_pre_tokenizer(tiny) == "gpt-2"  # ByteLevel's GPT-2 rule
    llama3 = AutoTokenizer.from_pretrained(standin(LLAMA32))
    assert llama_cpp_pre_tokenizer(llama3) == "llama-bpe"
    assert LLAMA3_REGEX == LLAMA3_SPLIT  # the reference is Meta's rule, as the stand-in's
    # a split llama.cpp does not know under a name: refused, naming the tokenizer
    source = tiny_llama()
    model = tmp_path / "whitespace"
    AutoModelForCausalLM.from_pretrained(source).save_pretrained(model)
    other = AutoTokenizer.from_pretrained(source)
    other.backend_tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    other.save_pretrained(model)
    with pytest.raises(ExportError, match=r"tokenizer of .*whitespace splits text like none"):
        to_gguf(model, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()  # no file that would tokenize differently
    other.backend_tokenizer.normalizer = normalizers.NFKC()
    with pytest.raises(ExportError, match="normalizes text .NFKC."):
        llama_cpp_pre_tokenizer(other)


def test_llama3_rope_factors_are_transformers_own():
    from transformers import AutoConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    from ftkit.standins import LLAMA32, standin

    config = AutoConfig.from_pretrained(standin(LLAMA32))  # rope_type llama3, as Llama 3.2's
    factors = rope_freq_factors(config)
    head_dim = config.hidden_size // config.num_attention_heads
    plain = 1.0 / config.rope_parameters["rope_theta"] ** (np.arange(0, head_dim, 2) / head_dim)
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    # llama.cpp divides each angle by its factor: the same rotation as transformers' frequencies
    assert np.allclose(plain / factors, scaled.numpy(), rtol=1e-6)
    assert factors[0] == 1 and factors[-1] == config.rope_parameters["factor"]  # fast, slow
    assert rope_freq_factors(AutoConfig.from_pretrained(tiny_llama())) is None  # plain RoPE
    config.rope_parameters = {"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}
    with pytest.raises(ExportError, match="RoPE scaling 'yarn' is not supported"):
        rope_freq_factors(config)
