"""A tiny, seeded Llama and its tokenizer, built offline and loaded like a hub id.

Every chapter of the guide runs on a real Llama code path (``AutoTokenizer`` and
``AutoModelForCausalLM.from_pretrained``), but the CI has no hub and no GPU. ``tiny_llama()``
builds a 2-layer, 64-wide Llama with a byte-level BPE tokenizer trained here, on text written
for the guide, saves both with ``save_pretrained`` and returns the folder. Readers in Colab
replace that one call with a hub id such as ``"meta-llama/Llama-3.2-1B-Instruct"``.

The folder is kept by ``ftkit.cache``: the first call builds it (about a second), later calls
reuse it, and a damaged folder is rebuilt.

By default the weights are random (seeded): the foundations chapter trains them in front of the
reader. ``tiny_llama(pretrain_steps=100)`` gives a small "base model" that has read the corpus
first, which the fine-tuning chapters start from. Same recipe, same bits, on every run on one
machine, whatever its core count (the build uses one thread); another CPU type can differ in the
last bits (the guide's numerical contract, on "How this guide works", says how the pages allow
for that).

References:
    Llama architecture: Touvron et al. 2023, "LLaMA", arXiv:2302.13971 (RMSNorm, SwiGLU, RoPE);
        grouped-query attention as in Llama 2/3 (Ainslie et al. 2023, arXiv:2305.13245).
    Byte-level BPE: Radford et al. 2019 (GPT-2); Sennrich et al. 2016, arXiv:1508.07909.
    Generation markers for assistant-only loss: transformers' chat templating docs,
        ``return_assistant_tokens_mask``; TRL ``SFTConfig(assistant_only_loss=True)``.
    Simplifies: transformers ``LlamaConfig`` / ``LlamaForCausalLM``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, check_ints, recipe_hash, seeded
from ftkit.train import train_steps

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
ROLE_CHECK = (
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Unknown role ' ~ message['role'] ~ ' in message ' ~ loop.index0 "
    "~ ': expected system, user or assistant') }}"
    "{% endif %}"
)
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}" + ROLE_CHECK + "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] ~ eos_token }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|' ~ message['role'] ~ '|>\n' ~ message['content'] ~ eos_token ~ '\n' }}"
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
        check_ints(
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
        return recipe_hash(self)


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
            of next-token training on ``corpus()`` before saving (100 take about 25 s on one
            CPU thread, once).

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
    return cached(f"tiny-llama-{config.cache_key()}", lambda folder: _build(config, folder))


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
    with seeded(config.seed):
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
    train_steps(lambda: model(**batch, labels=labels).loss, optimizer, steps)
    model.eval()
