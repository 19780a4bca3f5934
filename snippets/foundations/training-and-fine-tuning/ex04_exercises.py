"""The training chapter's exercises: count what a freeze leaves trainable,
and size the next Llama up.

Run alone:
    python snippets/foundations/training-and-fine-tuning/ex04_exercises.py
"""

# --8<-- [start:first_layer]
from transformers import AutoModelForCausalLM

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)
model.requires_grad_(False)
model.model.layers[0].requires_grad_(True)  # the first decoder layer only
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
total = model.num_parameters()
print(f"first layer only: {trainable:,} of {total:,} trainable")
# --8<-- [end:first_layer]

# --8<-- [start:three_b]
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

# Published values from the config.json of meta-llama/Llama-3.2-3B
# (model card, Sept 2024).
llama_32_3b = LlamaConfig(
    vocab_size=128_256,
    hidden_size=3072,
    intermediate_size=8192,
    num_hidden_layers=28,
    num_attention_heads=24,
    num_key_value_heads=8,
    tie_word_embeddings=True,
)
with torch.device("meta"):
    bigger = AutoModelForCausalLM.from_config(llama_32_3b)
n = bigger.num_parameters()
print(f"Llama-3.2-3B parameters: {n:,}")
print(f"full fine-tuning with Adam: {16 * n / 1e9:.1f} GB before activations")
# --8<-- [end:three_b]
