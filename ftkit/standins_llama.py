"""The Llama 3.2 stand-in: a tiny random Llama whose tokenizer and chat format have Meta's
quirks, built offline; and the byte-level BPE that the Llama and Qwen stand-ins share.

``tiny_llama()`` is built for teaching: a 512-token vocabulary, a pad token, a chat template
with ``{% generation %}`` markers. Real models are less convenient, and code that only ever met
the tiny one breaks on them. ``standin("meta-llama/Llama-3.2-1B-Instruct")`` (``ftkit.standins``)
returns a folder that ``from_pretrained`` loads like that hub id, with what makes Llama 3.2
different:

- the vocabulary's layout: 128,000 byte-level BPE tokens, then 256 special tokens at ids
  128000-128255 with Meta's names and places (``<|begin_of_text|>`` 128000,
  ``<|start_header_id|>`` 128006, ``<|eot_id|>`` 128009...), so ``len(tokenizer)`` is
  128,256 and the embedding matrix is that tall;
- Llama 3's pre-tokenizer rule: digits split in groups of at most three, words keep their
  leading space;
- no pad token (``tokenizer.pad_token is None``): ``padding=True`` fails until you set one;
- the tokenizer adds ``<|begin_of_text|>`` to any text it encodes, so a chat rendered by the
  template (which writes its own) and then encoded with ``add_special_tokens=True`` starts with
  two;
- Meta's own chat template (read from TRL, which ships it): a header per turn, ``<|eot_id|>``
  after each, a system turn with the knowledge cutoff and today's date even when the chat has
  none, and no ``{% generation %}`` markers, so ``return_assistant_tokens_mask`` is all zeros
  and TRL's ``assistant_only_loss`` refuses it (TRL 1.16 patches Llama 3.0's template, not
  3.2's);
- ``<|eot_id|>`` as the instruct model's end of turn, with ``<|end_of_text|>`` and ``<|eom_id|>``
  also stopping generation; tied input and output embeddings and Llama 3's RoPE scaling, as in
  the 1B model's config.

What differs from the real one: the BPE merges are learned here, on ``ftkit.tiny.corpus()``,
so the same text splits into other (more, shorter) tokens and the ids of ordinary tokens mean
other strings; the 127,000-odd ordinary tokens the corpus does not need are placeholders that
the tokenizer never produces; the model is 2 layers, 64 wide, and random. Meta's tokenizer is
not on PyPI under a licence that lets the guide ship it, so it is rebuilt to the same format.

References:
    Llama 3 tokenizer and chat format: Meta's model card and prompt-format docs for Llama 3.1
    and 3.2 (llama.com, "Llama 3.2 model cards and prompt formats"); the special-token ids and
    names are those of ``meta-llama/Llama-3.2-1B-Instruct``'s ``tokenizer_config.json``.
    Byte-level BPE: Radford et al. 2019 (GPT-2); simplifies ``tokenizers``' ``BpeTrainer`` and
    transformers' ``PreTrainedTokenizerFast``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, recipe_hash, seeded
from ftkit.tiny import corpus

LLAMA3_REGULAR = 128_000  # ordinary BPE tokens; the 256 special tokens follow
# Llama 3's special tokens from id 128000, in order; the rest are reserved placeholders.
LLAMA3_SPECIAL = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    *(f"<|reserved_special_token_{k}|>" for k in range(3, 248)),
)
# Llama 3's pre-tokenizer split (as in Meta's tokenizer.json): contractions, words with their
# leading character, numbers in groups of up to three digits, punctuation runs, newlines.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA32 = "meta-llama/Llama-3.2-1B-Instruct"
STANDIN_BUILD = 2  # part of the cache key: raise it when the build changes


@dataclass(frozen=True)
class Llama3StandIn:
    """The recipe of the Llama 3.2 stand-in. Every field takes part in the cache key."""

    seed: int = 0
    bpe_vocab: int = 600  # merges learned on the corpus; the rest of 128,000 are placeholders
    hidden_size: int = 64  # as the tiny model's: the pages' ranks (up to 32) fit
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2


def llama32_standin() -> str:
    """The folder of the Llama 3.2 1B Instruct stand-in, built on first use (a few seconds)."""
    recipe = Llama3StandIn()
    key = recipe_hash(recipe, builder=STANDIN_BUILD)
    return cached(f"standin-llama3-{key}", lambda f: _build(recipe, f))


def byte_level_bpe(split: str, bpe_vocab: int, regular: int):
    """A byte-level BPE in a real model's format: ``bpe_vocab`` tokens learned on
    ``ftkit.tiny.corpus()`` with the pre-tokenizer rule ``split``, then placeholders up to
    ``regular`` ordinary ids (no merge leads to them, so they are never produced). The special
    tokens, post-processor and chat template are the caller's."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    split_rule = pre_tokenizers.Split(Regex(split), behavior="isolated")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.Sequence([split_rule, byte_level])
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_vocab,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    trained.train_from_iterator(corpus(), trainer=trainer)
    model = json.loads(trained.to_str())["model"]
    vocab = dict(model["vocab"])
    for k in range(len(vocab), regular):
        vocab[f"<unused_{k}>"] = k
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    bpe.pre_tokenizer = trained.pre_tokenizer
    bpe.decoder = decoders.ByteLevel()
    return bpe


def llama3_tokenizer(bpe_vocab: int = Llama3StandIn.bpe_vocab):
    """A tokenizer in Llama 3.2 Instruct's format (see the module docstring), trained here."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    bpe = byte_level_bpe(LLAMA3_SPLIT, bpe_vocab, LLAMA3_REGULAR)
    bpe.add_special_tokens(list(LLAMA3_SPECIAL))  # ids 128000 onwards, in order
    bos = LLAMA3_SPECIAL[0]
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, LLAMA3_REGULAR)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=bos,
        eos_token="<|eot_id|>",
        chat_template=llama32_chat_template(),
        model_max_length=131_072,
        clean_up_tokenization_spaces=True,  # as Meta's config (transformers 5 ignores it)
    )


def llama32_chat_template() -> str:
    """Meta's chat template of Llama 3.2 Instruct, as TRL ships it (``trl/chat_templates``,
    where TRL keeps the templates it recognises): the stand-in's template is the real one."""
    from importlib.resources import files

    return (files("trl") / "chat_templates" / "llama3_2.jinja").read_text(encoding="utf-8")


def _build(recipe: Llama3StandIn, folder: Path) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = llama3_tokenizer(recipe.bpe_vocab)
    ids = {name: LLAMA3_REGULAR + i for i, name in enumerate(LLAMA3_SPECIAL)}
    stop = [ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_hidden_layers,
        num_attention_heads=recipe.num_attention_heads,
        num_key_value_heads=recipe.num_key_value_heads,
        max_position_embeddings=131_072,
        rope_theta=500_000.0,
        rope_scaling={
            "rope_type": "llama3",
            "factor": 32.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
        tie_word_embeddings=True,
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=stop,
        pad_token_id=None,
    )
    with seeded(recipe.seed):
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|begin_of_text|>"], eos_token_id=stop
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# Llama 3.2 1B Instruct stand-in\n\nA tiny random model in the format of "
        "meta-llama/Llama-3.2-1B-Instruct, built by `ftkit.standins.standin` for the LLM "
        "Fine-Tuning Study Guide's tests. Not Meta's tokenizer or weights.\n\n"
        f"Recipe: `{json.dumps(asdict(recipe))}`\n"
    )
