"""Stand-ins for two hub models with Qwen's tokenizer: tiny random models whose tokenizer, chat
template and config have the real ones' quirks, built offline (``ftkit.standins.standin``).

``standin("llava-hf/llava-interleave-qwen-0.5b-hf")`` is for the vision-language chapter,
whose ``tiny_vlm()`` has 32-pixel pictures cut into 16 patches, a 512-token vocabulary and a
chat template with ``{% generation %}`` markers. LLaVA-Interleave Qwen 0.5B differs in what
breaks code written for the tiny one:

- Qwen's tokenizer layout: 151,643 byte-level BPE tokens, then ``<|endoftext|>`` (151643),
  ``<|im_start|>`` (151644) and ``<|im_end|>`` (151645), then LLaVA's ``<image>`` (151646); the
  text model's embedding matrix has 152,000 rows. Qwen's pre-tokenizer splits numbers into
  single digits. No BOS token is added; ``<|im_end|>`` ends a turn and ``<|endoftext|>`` pads.
- Its chat template (the one on the model's hub page): ``<|im_start|>role`` then a newline,
  every image of the message first, then each text part on a line of its own, then
  ``<|im_end|>``. Content must be a list of parts: a plain string renders as nothing. It has no
  ``{% generation %}`` markers, so the assistant-token mask is all zeros.
- Its pictures: SigLIP at 384x384 pixels in 14-pixel patches, so one image is 27 x 27 = 729
  ``<image>`` tokens in the language model (the tiny VLM's are 16), with every patch kept
  (``vision_feature_select_strategy="full"``: SigLIP has no CLS token).

What differs from the real one: the BPE merges are learned on ``ftkit.tiny.corpus()`` and the
other ordinary ids are placeholders the tokenizer never produces; the towers are 2 layers, 64
wide, and random. The real model's vision tower is SigLIP so400m and its language model Qwen1.5
0.5B (its config.json on the hub).

``standin("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")`` is the distillation chapter's teacher
on a GPU, a Qwen2 model fine-tuned by DeepSeek on R1's reasoning traces. It keeps Qwen2.5's
151,643 BPE tokens but not Qwen's chat tokens, and that is what code written for the tiny
reasoning teacher meets:

- DeepSeek's 22 added tokens replace Qwen2.5's at ids 151643-151664, in the hub
  ``tokenizer_config.json``'s order: ``<｜end▁of▁sentence｜>`` 151643 (end of sequence and pad),
  ``<｜User｜>`` 151644, ``<｜Assistant｜>`` 151645, ``<｜begin▁of▁sentence｜>`` 151646 (BOS),
  ``<|EOT|>``, ``<think>`` 151648, ``</think>`` 151649, then Qwen2.5's vision, tool and
  fill-in-the-middle tokens; ``len(tokenizer)`` is 151,665 and the embedding matrix has 151,936
  rows, untied from the output layer. The turn markers and the think tags are not "special":
  ``skip_special_tokens=True`` keeps them in decoded text.
- The tokenizer adds ``<｜begin▁of▁sentence｜>`` to every text it encodes (``add_bos_token``, a
  ``TemplateProcessing`` post-processor), and its config names ``LlamaTokenizerFast`` over a
  byte-level BPE, which transformers 5 loads with Qwen2's tokenizer class instead (qwen2 is in
  its list of hub configs with a wrong ``tokenizer_class``).
- DeepSeek's chat template, in the revision that ends the generation prompt with
  ``<｜Assistant｜><think>\\n`` (the first revision ended it with ``<｜Assistant｜>``): the model's
  reply starts inside its reasoning, without the ``<think>`` opener. No turn separators or
  newlines, no system turn unless given, and every assistant message is rendered without its
  reasoning (the text up to ``</think>`` is dropped), so the chat up to a reply is not a prefix
  of the whole chat and no ``{% generation %}`` markers say where replies are.
- ``generation_config.json`` samples (``do_sample=True``, temperature 0.6, top-p 0.95, DeepSeek's
  advice for R1) and stops at ``<｜end▁of▁sentence｜>``; the config has RoPE base 10,000 and
  131,072 positions.

What differs from the real one: as for LLaVA, the merges are learned on the corpus and the other
ordinary ids are placeholders; the model is 2 layers (not 28), 64 wide, 4 query and 2 key-value
heads, and random.

References:
    LLaVA-Interleave: Li et al. 2024, arXiv:2407.07895; the hub page and config of
    ``llava-hf/llava-interleave-qwen-0.5b-hf``; Qwen's special tokens: the Qwen1.5 tokenizer
    config on the hub.
    DeepSeek-R1: DeepSeek-AI 2025, arXiv:2501.12948 (section 2.4, the distilled models; the
    README's usage advice: temperature 0.6, start the reply with ``<think>\\n``); the hub's
    ``config.json``, ``generation_config.json`` and ``tokenizer_config.json`` of
    ``deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B``; the chat template as TRL 1.16 ships it
    (``trl/chat_templates/deepseek_r1_distill.jinja``, "shipped byte-identically by every
    distill checkpoint", its README); transformers' ``MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS``
    (``models/auto/tokenization_auto.py``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, recipe_hash, seeded
from ftkit.standins_llama import STANDIN_BUILD, byte_level_bpe

LLAVA_INTERLEAVE = "llava-hf/llava-interleave-qwen-0.5b-hf"
R1_DISTILL_QWEN = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"

QWEN_REGULAR = 151_643  # ordinary BPE tokens; the special tokens follow
QWEN_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
IMAGE_TOKEN = "<image>"  # id 151646, right after Qwen's specials
TEXT_VOCAB = 152_000  # rows of the text model's embedding matrix (padded past the tokenizer)
# Qwen2's pre-tokenizer split: as Llama 3's, but numbers one digit at a time.
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# The chat template of llava-hf/llava-interleave-qwen-0.5b-hf (chat_template.json on its hub page).
LLAVA_INTERLEAVE_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n'}}"
    "{# Render all images first #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>' }}"
    "{% endfor %}"
    "{# Render all text next #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ '\\n' + content['text'] }}"
    "{% endfor %}"
    "{{'<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class LlavaInterleaveStandIn:
    """The recipe of the LLaVA-Interleave stand-in. Every field takes part in the cache key."""

    seed: int = 0
    bpe_vocab: int = 600  # merges learned on the corpus; the rest of 151,643 are placeholders
    image_size: int = 384  # as the real SigLIP tower's
    patch_size: int = 14
    hidden_size: int = 64  # both towers, as the tiny models: the pages' LoRA ranks fit
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4


def llava_interleave_standin() -> str:
    """The folder of the LLaVA-Interleave Qwen 0.5B stand-in, built on first use."""
    recipe = LlavaInterleaveStandIn()
    key = recipe_hash(recipe, builder=STANDIN_BUILD)
    return cached(f"standin-llava-qwen-{key}", lambda f: _build_llava(recipe, f))


def qwen_tokenizer(bpe_vocab: int = LlavaInterleaveStandIn.bpe_vocab):
    """A tokenizer in the format of LLaVA-Interleave Qwen's (see the module docstring)."""
    from transformers import PreTrainedTokenizerFast

    bpe = byte_level_bpe(QWEN_SPLIT, bpe_vocab, QWEN_REGULAR)
    bpe.add_special_tokens([*QWEN_SPECIAL, IMAGE_TOKEN])  # ids 151643 to 151646, in order
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32_768,
        chat_template=LLAVA_INTERLEAVE_TEMPLATE,
    )


def _build_llava(recipe: LlavaInterleaveStandIn, folder: Path) -> None:
    """Build the stand-in into ``folder``: tiny random towers, the processor, a README."""
    import torch
    from transformers import (
        GenerationConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        Qwen2Config,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
    )

    tokenizer = qwen_tokenizer(recipe.bpe_vocab)
    ids = {name: QWEN_REGULAR + i for i, name in enumerate([*QWEN_SPECIAL, IMAGE_TOKEN])}
    width = dict(
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_hidden_layers,
        num_attention_heads=recipe.num_attention_heads,
    )
    text_config = Qwen2Config(
        vocab_size=TEXT_VOCAB,
        num_key_value_heads=recipe.num_attention_heads,
        max_position_embeddings=32_768,
        rope_theta=1_000_000.0,
        tie_word_embeddings=True,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        **width,
    )
    vision_config = SiglipVisionConfig(
        image_size=recipe.image_size, patch_size=recipe.patch_size, **width
    )
    image_tokens = (recipe.image_size // recipe.patch_size) ** 2
    config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=ids[IMAGE_TOKEN],
        image_seq_length=image_tokens,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        tie_word_embeddings=True,
    )
    with seeded(recipe.seed):
        model = LlavaForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors
    image_processor = SiglipImageProcessorPil(  # the PIL one: no torchvision needed
        size={"height": recipe.image_size, "width": recipe.image_size},
        resample=3,  # bicubic, as the real one
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=recipe.patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        image_token=IMAGE_TOKEN,
        chat_template=LLAVA_INTERLEAVE_TEMPLATE,
    )
    processor.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# LLaVA-Interleave Qwen 0.5B stand-in\n\nA tiny random model in the format of "
        "llava-hf/llava-interleave-qwen-0.5b-hf, built by `ftkit.standins.standin` for the LLM "
        "Fine-Tuning Study Guide's tests. Not the real tokenizer or weights.\n\n"
        f"Recipe: `{json.dumps(asdict(recipe))}`\n"
    )


# DeepSeek-R1-Distill-Qwen's added tokens from id 151643, in order, and whether each is special
# (``skip_special_tokens`` drops it): the hub tokenizer_config.json's added_tokens_decoder.
R1_ADDED = (
    ("<｜end▁of▁sentence｜>", True),
    ("<｜User｜>", False),
    ("<｜Assistant｜>", False),
    ("<｜begin▁of▁sentence｜>", True),
    ("<|EOT|>", False),
    ("<think>", False),
    ("</think>", False),
    *((token, True) for token in ("<|quad_start|>", "<|quad_end|>", "<|vision_start|>")),
    *((token, True) for token in ("<|vision_end|>", "<|vision_pad|>", "<|image_pad|>")),
    ("<|video_pad|>", True),
    *((token, False) for token in ("<tool_call>", "</tool_call>", "<|fim_prefix|>")),
    *((token, False) for token in ("<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>")),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
R1_BOS, R1_EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
R1_VOCAB = 151_936  # rows of the embedding matrix (config.json's vocab_size)
R1_BUILD = 1  # part of the R1 stand-in's cache key: raise it when its build changes


@dataclass(frozen=True)
class R1DistillQwenStandIn:
    """The recipe of the DeepSeek-R1-Distill-Qwen stand-in. Every field is in the cache key."""

    seed: int = 0
    bpe_vocab: int = 600  # merges learned on the corpus; the rest of 151,643 are placeholders
    hidden_size: int = 64  # as the tiny teacher's
    intermediate_size: int = 128
    num_hidden_layers: int = 2  # as the tiny teacher's: the page cuts a 1-layer student
    num_attention_heads: int = 4  # grouped-query attention, as the real 12 query / 2 KV heads
    num_key_value_heads: int = 2


def r1_distill_standin() -> str:
    """The folder of the DeepSeek-R1-Distill-Qwen-1.5B stand-in, built on first use."""
    recipe = R1DistillQwenStandIn()
    key = recipe_hash(recipe, builder=R1_BUILD)
    return cached(f"standin-r1-distill-qwen-{key}", lambda f: _build_r1(recipe, f))


def r1_distill_chat_template() -> str:
    """DeepSeek's chat template of the R1 distills, as TRL ships it (``trl/chat_templates``):
    the revision whose generation prompt ends with ``<｜Assistant｜><think>\\n``."""
    from importlib.resources import files

    path = files("trl") / "chat_templates" / "deepseek_r1_distill.jinja"
    return path.read_text(encoding="utf-8")


def r1_distill_tokenizer(bpe_vocab: int = R1DistillQwenStandIn.bpe_vocab):
    """A tokenizer in the format of DeepSeek-R1-Distill-Qwen's (see the module docstring)."""
    from tokenizers import AddedToken, normalizers, processors
    from transformers import PreTrainedTokenizerFast

    bpe = byte_level_bpe(QWEN_SPLIT, bpe_vocab, QWEN_REGULAR)
    bpe.normalizer = normalizers.NFC()  # as Qwen2's tokenizer.json
    # ids 151643 to 151664, in order
    bpe.add_tokens([AddedToken(t, special=s, normalized=False) for t, s in R1_ADDED])
    bos_id = QWEN_REGULAR + [token for token, _ in R1_ADDED].index(R1_BOS)
    bpe.post_processor = processors.TemplateProcessing(  # add_bos_token: true
        single=f"{R1_BOS} $A",
        pair=f"{R1_BOS} $A {R1_BOS}:1 $B:1",
        special_tokens=[(R1_BOS, bos_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=R1_BOS,
        eos_token=R1_EOS,
        pad_token=R1_EOS,
        model_max_length=16_384,
        clean_up_tokenization_spaces=False,
        chat_template=r1_distill_chat_template(),
    )


# tokenizer_config.json entries of the hub's files that transformers reads when it loads them
R1_TOKENIZER_CONFIG = {
    "tokenizer_class": "LlamaTokenizerFast",
    "add_bos_token": True,
    "add_eos_token": False,
    "legacy": True,
    "unk_token": None,
    "use_default_system_prompt": False,
}


def _build_r1(recipe: R1DistillQwenStandIn, folder: Path) -> None:
    """Build the stand-in into ``folder``: a tiny random Qwen2, the tokenizer, a README."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = r1_distill_tokenizer(recipe.bpe_vocab)
    ids = {token: QWEN_REGULAR + i for i, (token, _) in enumerate(R1_ADDED)}
    config = Qwen2Config(
        vocab_size=R1_VOCAB,
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_hidden_layers,
        num_attention_heads=recipe.num_attention_heads,
        num_key_value_heads=recipe.num_key_value_heads,
        max_position_embeddings=131_072,
        rope_theta=10_000.0,
        rms_norm_eps=1e-6,
        use_sliding_window=False,
        tie_word_embeddings=False,
        bos_token_id=ids[R1_EOS],  # config.json names 151643 for both
        eos_token_id=ids[R1_EOS],
    )
    with seeded(recipe.seed):
        model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(  # the hub's generation_config.json
        bos_token_id=ids[R1_BOS],
        eos_token_id=ids[R1_EOS],
        do_sample=True,
        temperature=0.6,
        top_p=0.95,
    )
    model.to(torch.float32).save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **R1_TOKENIZER_CONFIG}, indent=2))
    (folder / "README.md").write_text(
        "# DeepSeek-R1-Distill-Qwen-1.5B stand-in\n\nA tiny random model in the format of "
        f"{R1_DISTILL_QWEN}, built by `ftkit.standins.standin` for the LLM Fine-Tuning Study "
        "Guide's tests. Not DeepSeek's weights; the BPE merges are learned here.\n\n"
        f"Recipe: `{json.dumps(asdict(recipe))}`\n"
    )
