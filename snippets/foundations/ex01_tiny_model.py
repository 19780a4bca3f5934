"""Load a causal language model with from_pretrained and count its parameters.

Run alone: python snippets/foundations/ex01_tiny_model.py
"""

# --8<-- [start:load]
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)

print(type(model).__name__, "with", len(tokenizer), "tokens in its vocabulary")
print(f"parameters: {model.num_parameters():,}")
for name, part in [
    ("embed_tokens", model.model.embed_tokens),
    ("layers", model.model.layers),
    ("norm", model.model.norm),
    ("lm_head", model.lm_head),
]:
    print(f"  {name:<12} {sum(p.numel() for p in part.parameters()):>7,}")
# --8<-- [end:load]
