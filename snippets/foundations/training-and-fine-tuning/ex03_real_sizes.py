"""What changes on a real GPU: the same Llama class at Llama-3.2-1B's size,
on the meta device.

Run alone:
    python snippets/foundations/training-and-fine-tuning/ex03_real_sizes.py
"""

# --8<-- [start:sizes]
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

# Published values from the config.json of meta-llama/Llama-3.2-1B
# (model card, Sept 2024).
llama_32_1b = LlamaConfig(
    vocab_size=128_256,
    hidden_size=2048,
    intermediate_size=8192,
    num_hidden_layers=16,
    num_attention_heads=32,
    num_key_value_heads=8,
    tie_word_embeddings=True,
)
# shapes only: no memory is allocated, nothing is downloaded
with torch.device("meta"):
    big = AutoModelForCausalLM.from_config(llama_32_1b)

n = big.num_parameters()
GB = 1e9
# Mixed-precision Adam keeps 16 bytes per parameter: bf16 weights (2) and
# gradients (2), plus fp32 master weights, momentum and variance
# (4 + 4 + 4). ZeRO paper, Section 3.1.
print(f"Llama-3.2-1B parameters: {n:,}")
print(f"bf16 weights alone:          {2 * n / GB:5.1f} GB")
print(f"full fine-tuning with Adam:  {16 * n / GB:5.1f} GB before activations")
# --8<-- [end:sizes]
