"""Tiny, seeded, offline models that load like a hub id.

Every chapter of the guide runs on a real Llama code path (``AutoTokenizer`` and
``AutoModelForCausalLM.from_pretrained``), but the CI has no hub and no GPU. ``tiny_llama()``
builds a 2-layer, 64-wide Llama with a byte-level BPE tokenizer trained here, on text written
for the guide, saves both with ``save_pretrained`` and returns the folder. Readers in Colab
replace that one call with a hub id such as ``"meta-llama/Llama-3.2-1B-Instruct"``.

The folder is a cache: the first call builds it (about a second), later calls reuse it. A
partial or corrupt folder (a file missing or changed) fails its checksum manifest and is rebuilt;
two processes building at once take a file lock, and the folder appears by an atomic rename, so
no one ever loads half a model.

By default the weights are random (seeded): the foundations chapter trains them in front of the
reader. ``tiny_llama(pretrain_steps=150)`` gives a small "base model" that has read the corpus
first, which the fine-tuning chapters start from. ``tiny_vlm()`` joins that model to a small
SigLIP vision tower through a LLaVA projector, for the vision-language chapter, cached the same
way. Same recipe, same bits, on every run on one machine (CPU float sums can differ in the last
bits between CPU types).

References:
    LLaVA (vision tower, MLP projector, language model): Liu et al. 2023, arXiv:2304.08485 and
        arXiv:2310.03744; SigLIP: Zhai et al. 2023, arXiv:2303.15343.
    Llama architecture: Touvron et al. 2023, "LLaMA", arXiv:2302.13971 (RMSNorm, SwiGLU, RoPE);
        grouped-query attention as in Llama 2/3 (Ainslie et al. 2023, arXiv:2305.13245).
    Byte-level BPE: Radford et al. 2019 (GPT-2); Sennrich et al. 2016, arXiv:1508.07909.
    Generation markers for assistant-only loss: transformers' chat templating docs,
        ``return_assistant_tokens_mask``; TRL ``SFTConfig(assistant_only_loss=True)``.
    Simplifies: transformers ``LlamaConfig`` / ``LlamaForCausalLM``; huggingface_hub's cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

try:  # POSIX (Linux, macOS, Colab). Elsewhere builds still end in an atomic rename.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

CACHE_ENV = "FTKIT_CACHE"  # overrides the cache folder
DEFAULT_CACHE = Path("~/.cache/ftkit")
MANIFEST = "ftkit_manifest.json"  # written last: its presence means the build finished
BUILD_VERSION = 2  # bump when the build recipe changes, so old caches are not reused

# Special tokens. The chat roles follow the Llama 3 idea of a header per turn and an
# end-of-turn token that doubles as EOS, so generation stops at the end of a reply.
BOS = "<|begin|>"
EOS = "<|end|>"  # end of a turn; generation stops here
PAD = "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
# Reasoning tags are ordinary (non-special) added tokens: they survive decode(skip_special_tokens).
THINK_TOKENS = ("<think>", "</think>")

# A Jinja chat template. The {% generation %} markers tell transformers (and TRL's
# assistant_only_loss) which tokens the assistant wrote, so the loss can be put on them alone.
_ROLE_CHECK = (
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Unknown role ' ~ message['role'] ~ ' in message ' ~ loop.index0 "
    "~ ': expected system, user or assistant') }}"
    "{% endif %}"
)
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}" + _ROLE_CHECK + "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] ~ eos_token }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|' ~ message['role'] ~ '|>\n' ~ message['content'] ~ eos_token ~ '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# The tiny VLM's template: message content is a string or a list of parts, as in transformers'
# multimodal chat format ({"type": "image"} and {"type": "text", "text": ...}). Each image part
# becomes one IMAGE_TOKEN, which the processor expands to one placeholder per image patch.
IMAGE_TOKEN = "<image>"
_CONTENT = (
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '" + IMAGE_TOKEN + "' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% else %}{{ raise_exception('Unknown content type ' ~ part['type'] ~ ': expected image or "
    "text') }}{% endif %}{% endfor %}{% endif %}"
)
VLM_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}" + _ROLE_CHECK + "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}" + _CONTENT + "{{ eos_token }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|' ~ message['role'] ~ '|>\n' }}" + _CONTENT + "{{ eos_token ~ '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# The text the tokenizer is trained on: written for the guide, so nothing is downloaded.
_CORPUS_SENTENCES = (
    "Fine-tuning adapts a pretrained model to a new task with a small data set.",
    "Pretraining teaches a model to predict the next token on a large corpus of text.",
    "Transfer learning reuses what a model learned on one task for another task.",
    "The learning rate sets the size of each step of gradient descent.",
    "A loss function measures how far the predictions are from the targets.",
    "LoRA trains two small low-rank matrices and keeps the base weights frozen.",
    "Quantization stores each weight in fewer bits to save memory.",
    "Retrieval-augmented generation looks up documents and puts them in the prompt.",
    "An agent calls tools in a loop and decides what to do next.",
    "The assistant answers the question and then stops.",
    "Think step by step, then give the final answer.",
    "The user asks a question and the assistant replies politely.",
    "Tokens are pieces of words; the model reads and writes tokens.",
    "A chat template turns a list of messages into one string of tokens.",
    "The gradient points uphill, so the optimizer steps the other way.",
    "Embeddings map text to vectors so that similar texts are close together.",
)


def corpus() -> list[str]:
    """The tokenizer's training text: guide sentences, chat turns and small sums.

    Returns:
        Lines of text, the same on every call (no randomness involved).
    """
    lines = list(_CORPUS_SENTENCES)
    for a in range(0, 40, 3):  # digits and operators, for the arithmetic tasks
        for b in range(0, 40, 7):
            lines.append(f"<think>{a} + {b} = {a + b}, {a} * {b} = {a * b}</think> {a - b}")
    return lines


@dataclass(frozen=True)
class TinyLlamaConfig:
    """The recipe of a tiny Llama. Every field takes part in the cache key.

    The defaults give about 0.14 M parameters: a 2-layer model that trains in seconds on a
    CPU, with the same blocks as Llama 3 (RMSNorm, SwiGLU MLP, RoPE, grouped-query attention).
    """

    seed: int = 0
    vocab_size: int = 512  # BPE target size, special tokens included
    hidden_size: int = 64
    intermediate_size: int = 128  # SwiGLU width; Llama 3 uses about 3.5x hidden
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2  # grouped-query attention, as in Llama 3
    max_position_embeddings: int = 256
    tie_word_embeddings: bool = False
    # Steps of next-token training on ``corpus()`` before saving (AdamW, lr 3e-3, full batch).
    # 0 keeps the random weights; 150 gives a "base model" that has read the corpus, which the
    # fine-tuning chapters start from (as a reader starts from a pretrained checkpoint).
    pretrain_steps: int = 0

    def __post_init__(self) -> None:
        _check_ints(
            self,
            positive=(
                "vocab_size",
                "hidden_size",
                "intermediate_size",
                "num_hidden_layers",
                "num_attention_heads",
                "num_key_value_heads",
                "max_position_embeddings",
            ),
            non_negative=("pretrain_steps",),
        )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"TinyLlamaConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"TinyLlamaConfig.num_attention_heads ({self.num_attention_heads}) must be "
                f"divisible by num_key_value_heads ({self.num_key_value_heads})"
            )
        min_vocab = 256 + 3 + len(ROLE_TOKENS) + len(THINK_TOKENS)  # bytes + specials
        if self.vocab_size < min_vocab:
            raise ValueError(
                f"TinyLlamaConfig.vocab_size must be at least {min_vocab} (256 byte tokens "
                f"plus special tokens), got {self.vocab_size}"
            )

    def cache_key(self) -> str:
        """A short hash of the recipe and the build version: the cache folder's suffix."""
        return _recipe_hash(self)


def _check_ints(config, positive: tuple[str, ...], non_negative: tuple[str, ...]) -> None:
    """Raise a ValueError naming the config field that is not a positive (or >= 0) int."""
    kind = type(config).__name__
    for names, low, rule in ((positive, 1, "a positive int"), (non_negative, 0, "an int >= 0")):
        for name in names:
            value = getattr(config, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{kind}.{name} must be {rule}, got {value!r}")


def _recipe_hash(config, **extra) -> str:
    """12 hex digits of the recipe's fields, the build version and ``extra``."""
    blob = json.dumps({"build": BUILD_VERSION, **extra, **asdict(config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """The folder tiny models are cached in: ``$FTKIT_CACHE`` or ``~/.cache/ftkit``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def tiny_llama(
    config: TinyLlamaConfig | None = None,
    *,
    seed: int | None = None,
    pretrain_steps: int | None = None,
) -> str:
    """Build (or reuse) a tiny seeded Llama and its tokenizer; return the folder to load.

    Args:
        config: the recipe; ``TinyLlamaConfig()`` by default.
        seed: shorthand for ``TinyLlamaConfig(seed=seed)``; not allowed with ``config``.
        pretrain_steps: shorthand for ``TinyLlamaConfig(pretrain_steps=...)``: that many steps
            of next-token training on ``corpus()`` before saving (150 take about 8 s, once).

    Returns:
        A local folder path, as a string, that ``AutoTokenizer.from_pretrained`` and
        ``AutoModelForCausalLM.from_pretrained`` load, exactly like a hub id.

    Example:
        >>> model_id = tiny_llama()  # in Colab: "meta-llama/Llama-3.2-1B-Instruct"
        >>> model = AutoModelForCausalLM.from_pretrained(model_id)
    """
    if config is not None and (seed is not None or pretrain_steps is not None):
        raise ValueError("tiny_llama: pass either config or seed/pretrain_steps, not both")
    config = config or TinyLlamaConfig(
        seed=0 if seed is None else seed, pretrain_steps=pretrain_steps or 0
    )
    return _cached(f"tiny-llama-{config.cache_key()}", lambda folder: _build(config, folder))


def _cached(name: str, build) -> str:
    """Return ``cache_dir() / name``, calling ``build(folder)`` first if it is not complete.

    The build writes into a staging folder; the manifest is written last and the folder
    appears by an atomic rename, under a file lock, so no one ever loads half a model.
    """
    root = cache_dir()
    target = root / name
    if _is_complete(target):  # fast path: no lock needed to read a finished folder
        return str(target)
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f"{target.name}.lock"):
        if _is_complete(target):  # another process finished it while we waited
            return str(target)
        if target.exists():  # partial or corrupt: rebuild it from scratch
            shutil.rmtree(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
        try:
            build(staging)
            _write_manifest(staging)
            os.replace(staging, target)  # atomic: readers see all of it or none of it
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def train_tokenizer(vocab_size: int = TinyLlamaConfig.vocab_size):
    """Train a byte-level BPE tokenizer on ``corpus()`` and wrap it for transformers.

    Args:
        vocab_size: the target vocabulary size, special tokens included.

    Returns:
        A ``PreTrainedTokenizerFast`` with BOS, EOS (end of turn), PAD, the chat roles,
        ``<think>``/``</think>`` and a chat template with generation markers.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: no unknown tokens
        show_progress=False,
    )
    bpe.train_from_iterator(corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=TinyLlamaConfig.max_position_embeddings,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_tokens(list(THINK_TOKENS))
    return tokenizer


def _build(config: TinyLlamaConfig, folder: Path) -> None:
    """Train the tokenizer, build the seeded model and save both into ``folder``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(config.vocab_size)
    llama_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=config.tie_word_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with _seeded(config.seed):
        model = LlamaForCausalLM(llama_config)
        if config.pretrain_steps:
            _pretrain(model, tokenizer, config.pretrain_steps)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors by default
    tokenizer.save_pretrained(folder)
    state = f"pretrained {config.pretrain_steps} steps" if config.pretrain_steps else "random"
    (folder / "README.md").write_text(
        f"# tiny-llama\n\nA tiny Llama ({state}) built by `ftkit.tiny.tiny_llama` "
        "for the LLM Fine-Tuning Study Guide.\nIt is for tests and teaching, not for use.\n\n"
        f"Recipe: `{json.dumps(asdict(config))}`\n"
    )


def _chats() -> list[list[dict[str, str]]]:
    """16 pretraining chats: the user gives half a corpus sentence, the assistant ends it."""
    chats = []
    for sentence in _CORPUS_SENTENCES:
        words = sentence.split()
        half = len(words) // 2
        chats.append(
            [
                {"role": "user", "content": "Complete: " + " ".join(words[:half])},
                {"role": "assistant", "content": " ".join(words[half:])},
            ]
        )
    return chats


def _pretrain(model, tokenizer, steps: int) -> None:
    """Full-batch next-token training on ``corpus()`` plus 16 chat turns in the template.

    The chat turns ("Complete: <first half of a sentence>" -> the second half) let the base model
    see its role and end-of-turn tokens, as a real instruct model has: a base model that never
    saw ``<|end|>`` gives it a random embedding and a suppressed output row, which LoRA alone
    adapts poorly (the LoRA chapter measures this).
    """
    import torch

    texts = corpus() + [tokenizer.apply_chat_template(c, tokenize=False) for c in _chats()]
    batch = tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=False)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator for the body, then restore the caller's RNG state."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    manifest = {"build": BUILD_VERSION, "files": {n: _file_digest(folder / n) for n in files}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _is_complete(folder: Path) -> bool:
    """True when ``folder`` has a manifest and every file in it matches its checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = manifest["files"]
        return bool(files) and all(_file_digest(folder / n) == d for n, d in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (a no-op where fcntl is missing)."""
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- the tiny VLM


@dataclass(frozen=True)
class TinyVLMConfig:
    """The recipe of a tiny LLaVA-style VLM. Every field takes part in the cache key.

    A SigLIP vision tower cuts a 32x32 image into 8x8 patches (16 patch vectors), a 2-layer MLP
    projector maps them to the language model's width, and the tiny Llama reads them as 16
    tokens in front of the text. About 0.26 M parameters in all.
    """

    seed: int = 0
    text_pretrain_steps: int = 150  # the language model: tiny_llama(pretrain_steps=...)
    image_size: int = 32
    patch_size: int = 8
    vision_hidden_size: int = 64
    vision_intermediate_size: int = 128
    vision_layers: int = 2
    vision_heads: int = 4
    # Steps of shape-and-colour classification for the vision tower before saving (AdamW,
    # lr 1e-3, batch 64). It stands in for CLIP or SigLIP pretraining: a real VLM starts from
    # an encoder that already sees. 0 keeps the random weights, which barely tell shapes apart.
    vision_pretrain_steps: int = 400

    def __post_init__(self) -> None:
        _check_ints(
            self,
            positive=(
                "image_size",
                "patch_size",
                "vision_hidden_size",
                "vision_intermediate_size",
                "vision_layers",
                "vision_heads",
            ),
            non_negative=("text_pretrain_steps", "vision_pretrain_steps"),
        )
        if self.image_size % self.patch_size:
            raise ValueError(
                f"TinyVLMConfig.image_size ({self.image_size}) must be a multiple of "
                f"patch_size ({self.patch_size})"
            )
        if self.vision_hidden_size % self.vision_heads:
            raise ValueError(
                f"TinyVLMConfig.vision_hidden_size ({self.vision_hidden_size}) must be divisible "
                f"by vision_heads ({self.vision_heads})"
            )

    @property
    def image_tokens(self) -> int:
        """Tokens one image takes in the language model: one per patch."""
        return (self.image_size // self.patch_size) ** 2

    def cache_key(self) -> str:
        """A short hash of the recipe and the build version: the cache folder's suffix."""
        return _recipe_hash(self, vlm=1)


def tiny_vlm(config: TinyVLMConfig | None = None, *, seed: int | None = None) -> str:
    """Build (or reuse) a tiny seeded LLaVA-style VLM and its processor; return the folder.

    The language side is ``tiny_llama(pretrain_steps=150)`` with an ``<image>`` token added;
    the vision side is a SigLIP tower pretrained here to tell shapes and colours apart; the
    projector between them is random, for the fine-tune to train. Built once (about 25 s on
    two cores from an empty cache, the tiny Llama included), then loaded from the cache like
    ``tiny_llama``.

    Args:
        config: the recipe; ``TinyVLMConfig()`` by default.
        seed: shorthand for ``TinyVLMConfig(seed=seed)``; not allowed with ``config``.

    Returns:
        A local folder that ``AutoProcessor.from_pretrained`` and
        ``AutoModelForImageTextToText.from_pretrained`` load, exactly like a hub id.

    Example:
        >>> model_id = tiny_vlm()  # in Colab: "llava-hf/llava-interleave-qwen-0.5b-hf"
        >>> model = AutoModelForImageTextToText.from_pretrained(model_id)
    """
    if config is not None and seed is not None:
        raise ValueError("tiny_vlm: pass either config or seed, not both")
    config = config or TinyVLMConfig(seed=0 if seed is None else seed)
    return _cached(f"tiny-vlm-{config.cache_key()}", lambda folder: _build_vlm(config, folder))


def _build_vlm(config: TinyVLMConfig, folder: Path) -> None:
    """Join a pretrained vision tower and the tiny Llama with a random projector; save."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
    )

    text = TinyLlamaConfig(seed=config.seed, pretrain_steps=config.text_pretrain_steps)
    lm_path = tiny_llama(text)
    tokenizer = AutoTokenizer.from_pretrained(lm_path)
    tokenizer.add_tokens([IMAGE_TOKEN], special_tokens=True)
    vision_config = SiglipVisionConfig(
        hidden_size=config.vision_hidden_size,
        intermediate_size=config.vision_intermediate_size,
        num_hidden_layers=config.vision_layers,
        num_attention_heads=config.vision_heads,
        image_size=config.image_size,
        patch_size=config.patch_size,
    )
    image_processor = SiglipImageProcessorPil(  # the PIL one: no torchvision needed
        size={"height": config.image_size, "width": config.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    with _seeded(config.seed):
        lm = AutoModelForCausalLM.from_pretrained(lm_path)
        lm.resize_token_embeddings(len(tokenizer), mean_resizing=False)  # room for <image>
        llava_config = LlavaConfig(
            vision_config=vision_config,
            text_config=lm.config,
            image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
            image_seq_length=config.image_tokens,
            vision_feature_select_strategy="full",  # SigLIP has no CLS token to drop
            vision_feature_layer=-1,
        )
        model = LlavaForConditionalGeneration(llava_config)
        model.model.language_model.load_state_dict(lm.model.state_dict())
        model.lm_head.load_state_dict(lm.lm_head.state_dict())
        if config.vision_pretrain_steps:
            _pretrain_vision(model.model.vision_tower, image_processor, config)
    model.generation_config = lm.generation_config  # the same BOS, EOS and PAD ids
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=config.patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=VLM_CHAT_TEMPLATE,
    )
    model.to(torch.float32).save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# tiny-vlm\n\nA tiny LLaVA-style VLM built by `ftkit.tiny.tiny_vlm` for the LLM "
        "Fine-Tuning Study Guide: a SigLIP tower pretrained on shape and colour classes, a random "
        "projector and a tiny Llama.\nIt is for tests and teaching, not for use.\n\n"
        f"Recipe: `{json.dumps(asdict(config))}`\n"
    )


def _pretrain_vision(tower, image_processor, config: TinyVLMConfig) -> None:
    """Train the tower to classify ``ftkit.vlm`` shape pictures (3 shapes x 4 colours).

    Mean-pooled patch features feed a linear head that is thrown away afterwards, the way a
    CLIP or SigLIP encoder is kept and its training head is not.
    """
    import random

    import torch

    from ftkit.vlm import COLOURS, SHAPES, draw_shape

    classes = [(shape, colour) for shape in SHAPES for colour in COLOURS]
    head = torch.nn.Linear(config.vision_hidden_size, len(classes))
    optimizer = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=1e-3)
    rng = random.Random(config.seed)
    tower.train()
    for _ in range(config.vision_pretrain_steps):
        labels = [rng.randrange(len(classes)) for _ in range(64)]
        images = [draw_shape(*classes[k], rng, size=config.image_size) for k in labels]
        pixels = image_processor(images, return_tensors="pt")["pixel_values"]
        features = tower(pixel_values=pixels).last_hidden_state.mean(dim=1)
        loss = torch.nn.functional.cross_entropy(head(features), torch.tensor(labels))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    tower.eval()
