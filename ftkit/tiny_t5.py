"""A tiny, seeded T5 and its tokenizer, built offline and loaded like a hub id; and what makes
T5 T5: sentinel tokens, span corruption and relative position buckets.

``tiny_t5()`` does for the T5 chapter what ``ftkit.tiny.tiny_llama()`` does for the others: it
trains a tokenizer here, builds a 2+2-layer, 64-wide ``T5ForConditionalGeneration``, saves both
with ``save_pretrained`` (weights as safetensors) and returns the folder, which
``AutoTokenizer`` and ``AutoModelForSeq2SeqLM`` load exactly as they load ``"google-t5/t5-small"``.
The folder is kept by ``ftkit.cache``.

What is T5's and kept here:

- the tokenizer's layout: a SentencePiece-style unigram vocabulary with ``<pad>`` = 0,
  ``</s>`` = 1, ``<unk>`` = 2, then the learned pieces, then 100 sentinels ``<extra_id_99>`` ...
  ``<extra_id_0>`` at the end (``<extra_id_0>`` has the last id), and ``</s>`` appended to every
  encoded text; ``decoder_start_token_id`` = the pad id, 0.
- the model's blocks (``transformers``' own T5 code: RMS layer norm, no biases, a scalar
  relative position bias per head, shared by the layers of a stack; T5 1.1's gated-GELU
  feed-forward, T5 1.0's tied and rescaled output layer).
- the pretraining objective, span corruption (``span_corruption``): 15% of the tokens, in spans
  of mean length 3, each replaced in the input by one sentinel; the target lists each sentinel
  and the tokens it hides. ``tiny_t5(pretrain_steps=n)`` takes ``n`` steps of it on
  ``ftkit.text2text.unlabelled_text()``, the way T5 was pretrained on C4.

What is smaller: the vocabulary (hundreds of pieces, not 32,000), the width (64, not 512), the
depth (2 layers a side, not 6) and the pretraining (seconds on one CPU thread on 600 lines, not
about a trillion tokens of C4 on TPUs).

References:
    Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
        Transformer", JMLR 21(140), arXiv:1910.10683: section 2.1 (the model, relative position
        bias: 32 buckets, offsets up to 128), 3.1.4 and figure 2 (sentinels), 3.3.4 and 3.7
        (span corruption, 15% of tokens, mean span length 3).
    google-research/text-to-text-transfer-transformer, ``t5/data/preprocessors.py``:
        ``span_corruption``, ``random_spans_noise_mask``, ``noise_span_to_unique_sentinel``.
    Simplifies: transformers ``T5Config``, ``T5Tokenizer`` (tokenization_t5.py), and
        ``T5Attention._relative_position_bucket`` (modeling_t5.py).
"""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, check_ints, recipe_hash, seeded
from ftkit.text2text import (
    SUMMARIZE,
    TRANSLATE,
    summarization_task,
    translation_task,
    unlabelled_text,
)
from ftkit.train import train_steps

# T5's special tokens and their ids (transformers' T5Tokenizer keeps this order).
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
N_SENTINELS = 100  # t5x's vocabulary is "cc_all.32000.100extra": 32,000 pieces + 100 sentinels
IGNORE_INDEX = -100  # labels cross_entropy skips (torch's default ignore_index)


def sentinel(i: int) -> str:
    """The ``i``-th sentinel token, ``<extra_id_i>``: it marks the ``i``-th corrupted span."""
    return f"<extra_id_{i}>"


# --8<-- [start:span_corruption] docs/bert-t5/t5.md
# T5's final objective (Raffel et al. 2020, section 3.7), the defaults of
# span_corruption in T5's t5/data/preprocessors.py
NOISE_DENSITY = 0.15  # the share of tokens corrupted
MEAN_NOISE_SPAN_LENGTH = 3.0  # tokens per corrupted span, on average


def random_spans_noise_mask(
    length: int,
    rng: random.Random,
    noise_density: float = NOISE_DENSITY,
    mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
) -> list[bool]:
    """Which of ``length`` tokens to corrupt: ``round(length * density)``
    of them, in ``round(noise / mean_span)`` spans; the spans' lengths,
    the gaps between them and a rotation are random.

    T5's ``random_spans_noise_mask`` with ``random_roll=True``, an option
    T5's own ``span_corruption`` leaves off. Without the roll the last
    token is always corrupted: T5 packs text into long chunks, where that
    hardly matters; on our one-sentence lines it would.
    """
    if length < 2:
        raise ValueError(f"span corruption needs 2 tokens, got {length}")
    if not 0 < noise_density < 1 or mean_noise_span_length < 1:
        raise ValueError(
            "noise_density must be in (0, 1) and mean_noise_span_length >= 1, "
            f"got {noise_density} and {mean_noise_span_length}"
        )
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = max(round(n_noise / mean_noise_span_length), 1)
    n_spans = min(n_spans, n_noise, length - n_noise)

    def split(total: int) -> list[int]:  # total items into n_spans parts >= 1
        cuts = sorted(rng.sample(range(1, total), n_spans - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

    mask: list[bool] = []
    gaps, spans = split(length - n_noise), split(n_noise)
    for keep, noise in zip(gaps, spans, strict=True):
        mask += [False] * keep + [True] * noise
    shift = rng.randrange(length)
    return mask[shift:] + mask[:shift]


def span_corruption(
    ids: list[int],
    sentinel_ids: list[int],
    rng: random.Random,
    noise_density: float = NOISE_DENSITY,
    mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
) -> tuple[list[int], list[int]]:
    """Corrupt a token sequence for T5 pretraining.

    Each corrupted span becomes one sentinel in the input; the target is
    each sentinel followed by the tokens it replaced (Raffel et al. 2020,
    figure 2: "Thank you <X> me to your party <Y> week." -> "<X> for
    inviting <Y> last <Z>"; like T5's code, no final sentinel).

    Args:
        ids: token ids, without ``</s>``.
        sentinel_ids: the ids of ``<extra_id_0>``, ``<extra_id_1>``, ...

    Returns:
        ``(inputs, targets)``, token ids without ``</s>``.
    """
    mask = random_spans_noise_mask(
        len(ids),
        rng,
        noise_density,
        mean_noise_span_length,
    )
    inputs, targets, span = [], [], -1
    for i, (token, noisy) in enumerate(zip(ids, mask, strict=True)):
        if noisy and (i == 0 or not mask[i - 1]):  # a span starts
            span += 1
            if span >= len(sentinel_ids):
                raise ValueError(
                    f"span corruption made {span + 1} spans; only "
                    f"{len(sentinel_ids)} sentinel ids were given"
                )
            inputs.append(sentinel_ids[span])
            targets.append(sentinel_ids[span])
        (targets if noisy else inputs).append(token)
    return inputs, targets


# --8<-- [end:span_corruption]


def corrupted_batch(texts: list[str], tokenizer, rng: random.Random) -> dict:
    """Span-corrupt each text and pad them into one batch for a T5 model.

    Args:
        texts: plain texts; row ``i`` must give at least 2 tokens.
        tokenizer: a T5 tokenizer (``<extra_id_0>``... sentinels, ``</s>`` as EOS).
        rng: the random source of the masks.

    Returns:
        ``{"input_ids", "attention_mask", "labels"}`` as int64 tensors; ``</s>`` ends inputs
        and labels, labels are padded with -100 so the loss skips the padding.

    Raises:
        ValueError: a text is not a string or too short, naming its row.
    """
    import torch

    sentinel_ids = tokenizer.convert_tokens_to_ids([sentinel(i) for i in range(N_SENTINELS)])
    if tokenizer.unk_token_id in sentinel_ids:
        raise ValueError("corrupted_batch: the tokenizer has no <extra_id_N> sentinel tokens")
    inputs, targets = [], []
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"corrupted_batch: row {row} is {type(text).__name__}, not text")
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) < 2:
            raise ValueError(f"corrupted_batch: row {row} has {len(ids)} tokens; need 2")
        source, target = span_corruption(ids, sentinel_ids, rng)
        inputs.append(source + [tokenizer.eos_token_id])
        targets.append(target + [tokenizer.eos_token_id])

    def pad(rows: list[list[int]], value: int):
        width = max(map(len, rows))
        return torch.tensor([r + [value] * (width - len(r)) for r in rows])

    input_ids = pad(inputs, tokenizer.pad_token_id)
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != tokenizer.pad_token_id).long(),
        "labels": pad(targets, IGNORE_INDEX),
    }


# --8<-- [start:buckets] docs/bert-t5/t5.md
def relative_position_bucket(
    relative_position,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
):
    """T5's bucket for each key-minus-query offset (Raffel et al. 2020,
    section 2.1): each bucket has one learned scalar per head, added to
    the attention logit.

    Half the buckets hold the exact small offsets; the other half cover
    offsets up to ``max_distance`` on a log scale, and every offset beyond
    it shares the last bucket. Bidirectional (the encoder): half the
    buckets for keys after the query, half for keys before. Causal (the
    decoder): only keys at or before the query count.
    """
    import torch

    offset = torch.as_tensor(relative_position)
    bucket = torch.zeros_like(offset)
    if bidirectional:
        num_buckets //= 2
        bucket += (offset > 0).long() * num_buckets  # keys after the query
        distance = offset.abs()
    else:
        distance = (-offset).clamp(min=0)  # keys after the query: 0
    exact = num_buckets // 2
    growth = math.log(max_distance / exact)  # the log of the far range
    log_scale = torch.log(distance.float() / exact) / growth
    far = exact + (log_scale * (num_buckets - exact)).long()
    far = far.clamp(max=num_buckets - 1)
    return bucket + torch.where(distance < exact, distance, far)


# --8<-- [end:buckets]


@dataclass(frozen=True)
class TinyT5Config:
    """The recipe of a tiny T5. Every field takes part in the cache key.

    The defaults give about 0.2 M parameters: 2 encoder and 2 decoder layers, 64 wide, the
    gated-GELU feed-forward blocks of T5 1.1 and Flan-T5 (and no dropout while pretraining),
    with T5 1.0's output layer: tied to the input embedding, the decoder output rescaled by
    d_model ** -0.5 before it (transformers' ``T5Config`` does that when ``tie_word_embeddings``
    is not False).
    """

    seed: int = 0
    vocab_size: int = 600  # the most subword pieces, 3 special tokens included, not sentinels
    d_model: int = 64
    d_kv: int = 16  # per head; T5 keeps d_kv * num_heads = d_model
    d_ff: int = 128
    num_layers: int = 2  # encoder layers; the decoder gets as many
    num_heads: int = 4
    relative_attention_num_buckets: int = 32  # T5's: 32 buckets, offsets up to 128
    relative_attention_max_distance: int = 128
    feed_forward_proj: str = "gated-gelu"  # "relu" is the original T5's
    # Steps of span corruption on pretraining_text() before saving (AdamW, batches of 32).
    # 0 keeps the random weights.
    pretrain_steps: int = 0
    pretrain_lines: int = 600

    def __post_init__(self) -> None:
        check_ints(
            self,
            positive=(
                "vocab_size",
                "d_model",
                "d_kv",
                "d_ff",
                "num_layers",
                "num_heads",
                "relative_attention_num_buckets",
                "relative_attention_max_distance",
                "pretrain_lines",
            ),
            non_negative=("pretrain_steps",),
        )
        if self.feed_forward_proj not in ("relu", "gated-gelu"):
            raise ValueError(
                "TinyT5Config.feed_forward_proj must be 'relu' (T5) or 'gated-gelu' "
                f"(T5 1.1, Flan-T5), got {self.feed_forward_proj!r}"
            )
        if self.vocab_size < 100:
            raise ValueError(
                f"TinyT5Config.vocab_size must be at least 100 (letters, digits, punctuation "
                f"and special tokens), got {self.vocab_size}"
            )

    def cache_key(self) -> str:
        """A short hash of the recipe and the build version: the cache folder's suffix."""
        return recipe_hash(self, kind="t5")


def tiny_t5(
    config: TinyT5Config | None = None,
    *,
    seed: int | None = None,
    pretrain_steps: int | None = None,
) -> str:
    """Build (or reuse) a tiny seeded T5 and its tokenizer; return the folder to load.

    Args:
        config: the recipe; ``TinyT5Config()`` by default.
        seed: shorthand for ``TinyT5Config(seed=seed)``; not allowed with ``config``.
        pretrain_steps: shorthand for ``TinyT5Config(pretrain_steps=...)``.

    Returns:
        A local folder path that ``AutoTokenizer.from_pretrained`` and
        ``AutoModelForSeq2SeqLM.from_pretrained`` load, like ``"google-t5/t5-small"``.
    """
    if config is not None and (seed is not None or pretrain_steps is not None):
        raise ValueError("tiny_t5: pass either config or seed/pretrain_steps, not both")
    config = config or TinyT5Config(
        seed=0 if seed is None else seed, pretrain_steps=pretrain_steps or 0
    )
    return cached(f"tiny-t5-{config.cache_key()}", lambda folder: _build(config, folder))


def pretraining_text(lines: int = TinyT5Config.pretrain_lines) -> list[str]:
    """The unlabelled text the tiny T5's tokenizer and pretraining read: reports, English and
    Toylang sentences, none of them about a held-out row of the chapter's two tasks (their
    default splits)."""
    held_out = summarization_task()["test"] + translation_task()["test"]
    return unlabelled_text(lines, exclude=held_out)


def train_tokenizer(vocab_size: int = TinyT5Config.vocab_size, lines: list[str] | None = None):
    """Learn subword pieces from ``lines`` and lay them out as T5's unigram tokenizer.

    T5's SentencePiece model is a unigram language model: each piece has a log-probability, and
    a word is cut into the pieces whose log-probabilities sum highest. Here the pieces come from
    BPE merges and each piece's score is the log of its frequency in ``lines``: the unigram
    trainer of ``tokenizers`` seeds its pieces from substrings shared between distinct words,
    and a few hundred distinct words leave it cutting even "the" into letters. Punctuation is
    kept out of the pieces, so "hours." is "▁hours" then ".", as T5 cuts it.

    Args:
        vocab_size: the most pieces BPE may learn (the 3 special tokens included); it stops
            earlier when every word is one piece.
        lines: the training text; ``pretraining_text()`` and the two task prefixes by default
            (T5's vocabulary was learned on C4, which holds the prefixes' words).

    Returns:
        A transformers ``T5Tokenizer``: ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2, the pieces, then
        ``<extra_id_99>`` ... ``<extra_id_0>``; ``</s>`` is appended to every encoded text.
    """
    from collections import Counter

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5Tokenizer

    lines = lines if lines is not None else [*pretraining_text(), SUMMARIZE, TRANSLATE]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()]  # "▁" marks a word start
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, UNK],
        # every ASCII letter, digit and punctuation mark is a piece: fewer unknown tokens
        initial_alphabet=list(string.ascii_letters + string.digits + string.punctuation),
        show_progress=False,
    )
    bpe.train_from_iterator(lines, trainer=trainer)
    counts = Counter(piece for line in lines for piece in bpe.encode(line).tokens)
    total = sum(counts.values())
    by_id = sorted(bpe.get_vocab().items(), key=lambda item: item[1])
    pieces = [  # unigram scores: log frequency; a piece never used counts as used once
        (piece, math.log(max(counts[piece], 1) / total))
        for piece, _ in by_id
        if piece not in (PAD, EOS, UNK)
    ]
    sentinels = [(sentinel(i), 0.0) for i in reversed(range(N_SENTINELS))]
    vocab = [(PAD, 0.0), (EOS, 0.0), (UNK, 0.0), *pieces, *sentinels]
    return T5Tokenizer(vocab=vocab, extra_ids=N_SENTINELS, model_max_length=512)


def _build(config: TinyT5Config, folder: Path) -> None:
    """Train the tokenizer, build the seeded model, pretrain it and save both into ``folder``."""
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    lines = pretraining_text(config.pretrain_lines)
    tokenizer = train_tokenizer(config.vocab_size, [*lines, SUMMARIZE, TRANSLATE])
    t5_config = T5Config(
        vocab_size=len(tokenizer),
        d_model=config.d_model,
        d_kv=config.d_kv,
        d_ff=config.d_ff,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        relative_attention_num_buckets=config.relative_attention_num_buckets,
        relative_attention_max_distance=config.relative_attention_max_distance,
        feed_forward_proj=config.feed_forward_proj,
        dropout_rate=0.0,  # T5 1.1 turned dropout off for pretraining
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,  # as t5-small's config.json
    )
    with seeded(config.seed):
        model = T5ForConditionalGeneration(t5_config)
        if config.pretrain_steps:
            _pretrain(model, tokenizer, lines, config.pretrain_steps, config.seed)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors by default
    tokenizer.save_pretrained(folder)
    state = f"pretrained {config.pretrain_steps} steps" if config.pretrain_steps else "random"
    (folder / "README.md").write_text(
        f"# tiny-t5\n\nA tiny T5 ({state}) built by `ftkit.tiny_t5.tiny_t5` for the LLM "
        "Fine-Tuning Study Guide.\nIt is for tests and teaching, not for use.\n\n"
        f"Recipe: `{json.dumps(asdict(config))}`\n"
    )


PRETRAIN_BATCH = 32  # lines per step, each corrupted afresh every time it is drawn
PRETRAIN_LR = 3e-3  # AdamW; T5 used Adafactor at 1e-2 (Raffel et al. 2020, section 3.1.2)


def _pretrain(model, tokenizer, lines: list[str], steps: int, seed: int) -> list[float]:
    """``steps`` steps of span corruption on random batches of ``lines``; return the losses."""
    import torch

    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PRETRAIN_LR)

    def loss():
        batch = corrupted_batch(rng.sample(lines, PRETRAIN_BATCH), tokenizer, rng)
        return model(**batch).loss

    model.train()
    losses = train_steps(loss, optimizer, steps)
    model.eval()
    return losses
