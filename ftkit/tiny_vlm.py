"""A tiny LLaVA-style vision-language model, built offline and loaded like a hub id.

``tiny_vlm()`` joins ``tiny_llama(pretrain_steps=100)`` to a small SigLIP vision tower through a
LLaVA projector, for the vision-language chapter, and caches the folder as ``ftkit.cache`` does
for the tiny Llama. The vision tower is pretrained here to tell the shapes task's pictures apart
(``ftkit.tasks.draw_shape``), standing in for CLIP or SigLIP pretraining; the projector between
the two is random, for the fine-tune to train.

References:
    LLaVA (vision tower, MLP projector, language model): Liu et al. 2023, arXiv:2304.08485 and
        arXiv:2310.03744; SigLIP: Zhai et al. 2023, arXiv:2303.15343.
    Simplifies: transformers ``LlavaForConditionalGeneration``, ``LlavaProcessor``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, check_ints, recipe_hash, seeded
from ftkit.tiny import ROLE_CHECK, TinyLlamaConfig, tiny_llama
from ftkit.train import train_steps

# The tiny VLM's template: message content is a string or a list of parts, as in transformers'
# multimodal chat format ({"type": "image"} and {"type": "text", "text": ...}). Each image part
# becomes one IMAGE_TOKEN, which the processor expands to one placeholder per image patch.
IMAGE_TOKEN = "<image>"
VISION_BATCH = 64  # pictures per step of the vision tower's pretraining
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
    "{% for message in messages %}" + ROLE_CHECK + "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}" + _CONTENT + "{{ eos_token }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|' ~ message['role'] ~ '|>\n' }}" + _CONTENT + "{{ eos_token ~ '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TinyVLMConfig:
    """The recipe of a tiny LLaVA-style VLM. Every field takes part in the cache key.

    A SigLIP vision tower cuts a 32x32 image into 8x8 patches (16 patch vectors), a 2-layer MLP
    projector maps them to the language model's width, and the tiny Llama reads them as 16
    tokens in front of the text. About 0.26 M parameters in all.
    """

    seed: int = 0
    text_pretrain_steps: int = 100  # the base every chapter uses: tiny_llama(pretrain_steps=100)
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
        check_ints(
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
        return recipe_hash(self, vlm=1)


def tiny_vlm(config: TinyVLMConfig | None = None, *, seed: int | None = None) -> str:
    """Build (or reuse) a tiny seeded LLaVA-style VLM and its processor; return the folder.

    The language side is ``tiny_llama(pretrain_steps=100)`` with an ``<image>`` token added;
    the vision side is a SigLIP tower pretrained here to tell shapes and colours apart; the
    projector between them is random, for the fine-tune to train. Built once (about 20 s on
    one CPU thread, after the tiny Llama's own build), then loaded from the cache like
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
    return cached(f"tiny-vlm-{config.cache_key()}", lambda folder: _build_vlm(config, folder))


def _build_vlm(config: TinyVLMConfig, folder: Path) -> None:
    """Join a pretrained vision tower and the tiny Llama with a random projector; save."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    text = TinyLlamaConfig(seed=config.seed, pretrain_steps=config.text_pretrain_steps)
    lm_path = tiny_llama(text)
    tokenizer = AutoTokenizer.from_pretrained(lm_path)
    tokenizer.add_tokens([IMAGE_TOKEN], special_tokens=True)
    processor = _processor(config, tokenizer)
    with seeded(config.seed):
        lm = AutoModelForCausalLM.from_pretrained(lm_path)
        lm.resize_token_embeddings(len(tokenizer), mean_resizing=False)  # room for <image>
        model = _join(config, lm, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN))
        if config.vision_pretrain_steps:
            _pretrain_vision(model.model.vision_tower, processor.image_processor, config)
    model.generation_config = lm.generation_config  # the same BOS, EOS and PAD ids
    model.to(torch.float32).save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# tiny-vlm\n\nA tiny LLaVA-style VLM built by `ftkit.tiny_vlm.tiny_vlm` for the LLM "
        "Fine-Tuning Study Guide: a SigLIP tower pretrained on shape and colour classes, a random "
        "projector and a tiny Llama.\nIt is for tests and teaching, not for use.\n\n"
        f"Recipe: `{json.dumps(asdict(config))}`\n"
    )


def _processor(config: TinyVLMConfig, tokenizer):
    """The image processor (resize, normalise to [-1, 1]) and the chat template, with the
    tokenizer: one ``LlavaProcessor``."""
    from transformers import LlavaProcessor, SiglipImageProcessorPil

    image_processor = SiglipImageProcessorPil(  # the PIL one: no torchvision needed
        size={"height": config.image_size, "width": config.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=config.patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=VLM_CHAT_TEMPLATE,
    )


def _join(config: TinyVLMConfig, lm, image_token_id: int):
    """A LLaVA model: a random SigLIP tower and projector, and ``lm``'s weights copied in."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration, SiglipVisionConfig

    vision_config = SiglipVisionConfig(
        hidden_size=config.vision_hidden_size,
        intermediate_size=config.vision_intermediate_size,
        num_hidden_layers=config.vision_layers,
        num_attention_heads=config.vision_heads,
        image_size=config.image_size,
        patch_size=config.patch_size,
    )
    llava_config = LlavaConfig(
        vision_config=vision_config,
        text_config=lm.config,
        image_token_index=image_token_id,
        image_seq_length=config.image_tokens,
        vision_feature_select_strategy="full",  # SigLIP has no CLS token to drop
        vision_feature_layer=-1,
    )
    model = LlavaForConditionalGeneration(llava_config)
    model.model.language_model.load_state_dict(lm.model.state_dict())
    model.lm_head.load_state_dict(lm.lm_head.state_dict())
    return model


def _pretrain_vision(tower, image_processor, config: TinyVLMConfig) -> None:
    """Train the tower to classify the shapes task's pictures (3 shapes x 4 colours).

    Mean-pooled patch features feed a linear head that is thrown away afterwards, the way a
    CLIP or SigLIP encoder is kept and its training head is not. Each step draws a fresh batch.
    """
    import random

    import torch

    from ftkit.shapes import COLOURS, SHAPES, draw_shape

    classes = [(shape, colour) for shape in SHAPES for colour in COLOURS]
    head = torch.nn.Linear(config.vision_hidden_size, len(classes))
    optimizer = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=1e-3)
    rng = random.Random(config.seed)

    def loss() -> torch.Tensor:
        labels = [rng.randrange(len(classes)) for _ in range(VISION_BATCH)]
        images = [draw_shape(*classes[k], rng, size=config.image_size) for k in labels]
        pixels = image_processor(images, return_tensors="pt")["pixel_values"]
        features = tower(pixel_values=pixels).last_hidden_state.mean(dim=1)
        return torch.nn.functional.cross_entropy(head(features), torch.tensor(labels))

    tower.train()
    train_steps(loss, optimizer, config.vision_pretrain_steps)
    tower.eval()
