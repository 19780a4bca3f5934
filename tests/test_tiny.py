"""ftkit.tiny: determinism, the cache (reuse, corruption, concurrency), loading, chat template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from jinja2.exceptions import TemplateError
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit import tiny
from ftkit.cache import CACHE_ENV, MANIFEST, _is_complete
from ftkit.tiny import TinyLlamaConfig, tiny_llama

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def digests(folder: str) -> dict[str, str]:
    return json.loads((Path(folder) / MANIFEST).read_text())["files"]


def test_same_seed_same_bits_in_separate_caches(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a"))
    first = tiny_llama()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "b"))
    second = tiny_llama()
    assert first != second
    assert digests(first) == digests(second)  # model.safetensors and tokenizer.json included
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(digests(first))


def test_pretraining_runs_on_one_thread_whatever_the_caller_set(cache, monkeypatch):
    """How a sum splits between threads changes its last bits (on some CPUs, not all), and
    pretraining carries them into the weights: so the build always uses one thread."""
    seen = []
    pretrain = tiny._pretrain

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return pretrain(*args, **kwargs)

    monkeypatch.setattr(tiny, "_pretrain", spy)
    torch.set_num_threads(2)
    try:
        tiny_llama(pretrain_steps=2)
        assert seen == [1]
        assert torch.get_num_threads() == 2  # the caller's setting is back
    finally:
        torch.set_num_threads(1)  # as the test processes run (tests/conftest.py)


def test_other_seed_other_weights(cache):
    a = AutoModelForCausalLM.from_pretrained(tiny_llama(seed=0))
    b = AutoModelForCausalLM.from_pretrained(tiny_llama(seed=1))
    assert not torch.equal(a.lm_head.weight, b.lm_head.weight)


def test_build_does_not_touch_the_callers_rng(cache):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_llama()
    assert torch.equal(torch.rand(3), expected)


def test_second_call_reuses_the_cache(cache, monkeypatch):
    path = tiny_llama()
    monkeypatch.setattr(tiny, "_build", lambda *a: pytest.fail("rebuilt a complete cache"))
    assert tiny_llama() == path


@pytest.mark.parametrize("damage", ["delete_weights", "truncate_weights", "drop_manifest"])
def test_partial_or_corrupt_cache_is_rebuilt(cache, damage):
    path = Path(tiny_llama())
    good = digests(str(path))
    weights = path / "model.safetensors"
    if damage == "delete_weights":
        weights.unlink()
    elif damage == "truncate_weights":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (path / MANIFEST).unlink()
    assert tiny_llama() == str(path)
    assert digests(str(path)) == good
    AutoModelForCausalLM.from_pretrained(path)  # loads again


def test_a_build_inside_a_process_group_is_refused_but_a_built_model_loads(cache, monkeypatch):
    """On rank 1 of a torch.distributed group, transformers' save_pretrained writes no weights:
    a build there would leave a tokenizer and a manifest vouching for it, and no model."""
    path = tiny_llama()  # built outside any group
    dist = torch.distributed
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    assert tiny_llama() == path  # a finished folder is read, group or not
    with pytest.raises(RuntimeError, match=r"rank 1 of a group of 2.*before init_process_group"):
        tiny_llama(seed=1)
    assert list(cache.glob("*.lock")) == [cache / f"{Path(path).name}.lock"]  # nothing started


def test_concurrent_builds_do_not_corrupt(cache):
    code = "from ftkit.tiny import tiny_llama; print(tiny_llama())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)  # two race as well as three; each process pays the imports
    ]
    paths = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(paths) == 1
    assert _is_complete(Path(paths.pop()))
    leftovers = [p.name for p in cache.iterdir() if p.is_dir() and p.name.startswith(".")]
    assert leftovers == []  # no staging folders left behind


def test_loads_like_a_hub_model_and_round_trips_logits(cache, tmp_path):
    path = tiny_llama()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == "llama"
    assert model.num_parameters() == 139_840
    ids = tokenizer("Fine-tuning adapts a model", return_tensors="pt")["input_ids"]
    model.save_pretrained(tmp_path / "copy")
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "copy")
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    assert (tmp_path / "copy" / "model.safetensors").exists()  # safetensors, never pickle


def test_tokenizer_round_trips_text_and_keeps_think_tags(cache):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    text = "<think>12 + 7 = 19</think> The answer is 19. Ünïcödé too."
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert tokenizer.convert_tokens_to_ids("<think>") in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text  # think tags are not special


def test_chat_template_masks_exactly_the_assistant_reply(cache):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "5"},
        {"role": "user", "content": "And 4 + 4?"},
        {"role": "assistant", "content": "8"},
    ]
    out = tokenizer.apply_chat_template(
        messages, return_dict=True, return_assistant_tokens_mask=True
    )
    kept = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(kept) == "5<|end|>8<|end|>"  # the replies and their end-of-turn
    prompt = tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|assistant|>\n")


def test_chat_template_rejects_an_unknown_role(cache):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    with pytest.raises(TemplateError, match="Unknown role bot in message 1"):
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}], tokenize=False
        )


def test_generation_stops_at_end_of_turn(cache):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama())
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama())
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids("<|end|>")
    assert tokenizer.pad_token == "<|pad|>"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"hidden_size": 65}, "hidden_size"),
        ({"num_key_value_heads": 3}, "num_attention_heads"),
        ({"vocab_size": 100}, "vocab_size"),
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TinyLlamaConfig(**kwargs)


def test_seed_and_config_are_exclusive(cache):
    with pytest.raises(ValueError, match="either config or seed"):
        tiny_llama(TinyLlamaConfig(), seed=1)


def test_cache_key_changes_with_the_recipe():
    assert TinyLlamaConfig().cache_key() == TinyLlamaConfig(seed=0).cache_key()
    assert TinyLlamaConfig().cache_key() != TinyLlamaConfig(seed=1).cache_key()
    assert TinyLlamaConfig().cache_key() != TinyLlamaConfig(hidden_size=128).cache_key()


def test_pretrained_base_has_read_the_corpus_and_the_chat_tokens():
    """pretrain_steps gives a different folder whose model predicts the corpus and <|end|>."""
    import math

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftkit.tiny import corpus

    random_path, base_path = tiny_llama(), tiny_llama(pretrain_steps=100)
    assert random_path != base_path
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    batch = tokenizer(corpus()[:16], padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    losses = {}
    for name, path in [("random", random_path), ("base", base_path)]:
        model = AutoModelForCausalLM.from_pretrained(path)
        with torch.no_grad():
            losses[name] = model(**batch, labels=labels).loss.item()
    assert losses["random"] > math.log(len(tokenizer)) - 0.2  # about ln(514): a uniform guess
    assert losses["base"] < 1.0  # 0.25 measured
    # the chat turns of pretraining: after a reply, <|end|> is the likely next token
    chat = [
        {"role": "user", "content": "Complete: The learning rate sets"},
        {"role": "assistant", "content": "the size of each step of gradient descent."},
    ]
    ids = tokenizer.apply_chat_template(chat, return_tensors="pt", return_dict=True)["input_ids"]
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    position = (ids[0] == end).nonzero()[-1].item()  # the <|end|> closing the reply
    with torch.no_grad():
        logits = AutoModelForCausalLM.from_pretrained(base_path)(ids).logits
    assert logits[0, position - 1].argmax().item() == end


@pytest.mark.parametrize("steps", [-1, 1.5, "10"])
def test_bad_pretrain_steps(steps):
    with pytest.raises(ValueError, match="pretrain_steps must be an int >= 0"):
        TinyLlamaConfig(pretrain_steps=steps)


def test_config_and_pretrain_steps_together_is_an_error():
    with pytest.raises(ValueError, match="either config or seed/pretrain_steps"):
        tiny_llama(TinyLlamaConfig(), pretrain_steps=10)
