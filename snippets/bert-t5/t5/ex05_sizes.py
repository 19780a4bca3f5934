"""What the Colab models weigh: t5-small and flan-t5-base counted from their
shapes, on the meta device (no memory, no download).

Run alone: python snippets/bert-t5/t5/ex05_sizes.py
"""

# --8<-- [start:sizes]
import torch
from transformers import T5Config, T5ForConditionalGeneration

# (shape, whether the output layer is the input embedding)
shapes = {
    # transformers' T5Config defaults are t5-small's
    "google-t5/t5-small": (T5Config(), True),
    # t5x's t5_1_1/base.gin, the shape of Flan-T5 Base; T5 1.1 gives
    # the output layer its own weights and drops T5 1.0's rescale
    "google/flan-t5-base": (
        T5Config(
            d_model=768,
            d_ff=2048,
            num_layers=12,
            num_heads=12,
            d_kv=64,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,  # as in its config.json
        ),
        False,
    ),
}
for name, (config, tied) in shapes.items():
    with torch.device("meta"):  # shapes only: no memory is allocated
        model = T5ForConditionalGeneration(config)
    count = sum(p.numel() for p in model.parameters())  # shared: once
    if not tied and model.lm_head.weight is model.shared.weight:
        # transformers 5 builds T5 tied; from_pretrained unties it when
        # the checkpoint has its own output layer
        count += config.vocab_size * config.d_model
    print(
        f"{name:20} {count / 1e6:6.1f} M parameters, "
        f"{config.num_layers} + {config.num_decoder_layers} layers, "
        f"bf16 weights {2 * count / 2**30:.2f} GiB"
    )
# --8<-- [end:sizes]
