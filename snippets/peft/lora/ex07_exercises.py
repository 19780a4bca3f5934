"""The LoRA chapter's exercises: count an adapter before building it.

Run alone: python snippets/peft/lora/ex07_exercises.py
"""

# --8<-- [start:rank4]
from transformers import AutoModelForCausalLM

from ftkit.lora import inject_lora
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
config = base.config
# the prediction: r (d + k) per wrapped projection, two per layer
hidden, layers = config.hidden_size, config.num_hidden_layers
kv = config.num_key_value_heads * (hidden // config.num_attention_heads)
predicted = layers * 4 * ((hidden + hidden) + (hidden + kv))
print(f"predicted: {predicted:,}")

small = inject_lora(base, ["q_proj", "v_proj"], r=4, alpha=8)
trainable = sum(p.numel() for p in small.parameters() if p.requires_grad)
print(f"trainable: {trainable:,}")
# --8<-- [end:rank4]

# --8<-- [start:llama8b]
# Llama-3.1-8B's attention projections (in_features, out_features): its
# config.json has hidden_size 4096, 32 layers, 32 query heads and 8
# key-value heads of 128 dimensions each.
SHAPES = {
    "q_proj": (4096, 4096),
    "k_proj": (4096, 8 * 128),
    "v_proj": (4096, 8 * 128),
    "o_proj": (4096, 4096),
}
LAYERS, R = 32, 16
per_layer = sum(R * (d_in + d_out) for d_in, d_out in SHAPES.values())
adapter = LAYERS * per_layer
print(f"per layer: {per_layer:,}")
print(f"adapter:   {adapter:,} parameters")
print(f"in bf16:   {adapter * 2 / 2**20:.1f} MiB")
# --8<-- [end:llama8b]
