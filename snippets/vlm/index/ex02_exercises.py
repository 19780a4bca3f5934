"""The VLM chapter's exercises: image tokens per picture, and the size of
a projector.

Run alone: python snippets/vlm/index/ex02_exercises.py
"""

# --8<-- [start:tokens]
# name, height and width in pixels, patch size, patches merged into a token,
# tokens added around each image
MODELS = [
    ("LLaVA-1.5, 336 px, 14 px patches", 336, 336, 14, 1, 0),
    ("PaliGemma, 448 px, 14 px patches", 448, 448, 14, 1, 0),
    ("Qwen2-VL, 448x448, 14 px, 2x2 merge", 448, 448, 14, 4, 2),
    ("Qwen2-VL, 448x672, 14 px, 2x2 merge", 448, 672, 14, 4, 2),
]
for name, height, width, patch, merge, around in MODELS:
    tokens = (height // patch) * (width // patch) // merge
    extra = f" (+{around} start/end)" if around else ""
    print(f"{name}: {tokens}{extra}")
# --8<-- [end:tokens]

# --8<-- [start:projector]
import torch
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig
from transformers.models.llava.modeling_llava import LlavaMultiModalProjector


def linear(d_in: int, d_out: int) -> int:
    """A linear layer's weights and biases."""
    return d_in * d_out + d_out


# CLIP ViT-L/14 features (1,024 wide) into Vicuna-7B (4,096) or -13B (5,120)
clip = CLIPVisionConfig(hidden_size=1024, num_attention_heads=16)
for name, width in [("LLaVA-1.5-7B", 4096), ("LLaVA-1.5-13B", 5120)]:
    config = LlavaConfig(
        vision_config=clip, text_config=LlamaConfig(hidden_size=width)
    )
    with torch.device("meta"):
        projector = LlavaMultiModalProjector(config)
    counted = sum(p.numel() for p in projector.parameters())
    predicted = linear(1024, width) + linear(width, width)
    print(f"{name}: {predicted:>10,} predicted, {counted:,} counted")
# --8<-- [end:projector]
