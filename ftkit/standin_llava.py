"""The stand-in for ``llava-hf/llava-interleave-qwen-0.5b-hf``: a tiny random LLaVA with that
model's processor and chat format, built offline (``ftkit.standins.standin`` returns it).

The vision-language chapter runs on ``tiny_vlm()``, built for teaching: 32-pixel pictures cut
into 16 patches, a 512-token vocabulary, a chat template with ``{% generation %}`` markers.
LLaVA-Interleave Qwen 0.5B differs in what breaks code written for the tiny one:

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

References:
    LLaVA-Interleave: Li et al. 2024, arXiv:2407.07895; the hub page and config of
    ``llava-hf/llava-interleave-qwen-0.5b-hf``; Qwen's special tokens: the Qwen1.5 tokenizer
    config on the hub.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import seeded
from ftkit.tiny import corpus

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


def llava_recipe() -> LlavaInterleaveStandIn:
    """The default recipe (``standin`` builds this one)."""
    return LlavaInterleaveStandIn()


def qwen_tokenizer(bpe_vocab: int = LlavaInterleaveStandIn.bpe_vocab):
    """A tokenizer in the format of LLaVA-Interleave Qwen's (see the module docstring)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    split = pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_vocab,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    trained.train_from_iterator(corpus(), trainer=trainer)
    model = json.loads(trained.to_str())["model"]
    vocab = dict(model["vocab"])
    for k in range(len(vocab), QWEN_REGULAR):  # never produced: no merge leads to them
        vocab[f"<unused_{k}>"] = k
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    bpe.pre_tokenizer = trained.pre_tokenizer
    bpe.decoder = decoders.ByteLevel()
    bpe.add_special_tokens([*QWEN_SPECIAL, IMAGE_TOKEN])  # ids 151643 to 151646, in order
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32_768,
        chat_template=LLAVA_INTERLEAVE_TEMPLATE,
    )


def build_llava_interleave(recipe: LlavaInterleaveStandIn, folder: Path) -> None:
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
