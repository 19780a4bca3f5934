"""Freezing: choose which parameters training may change, and watch the trainable count.

Run alone: python snippets/foundations/ex03_freeze.py
"""

from transformers import AutoModelForCausalLM

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)


# --8<-- [start:freeze]
def trainable(model) -> str:
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"{n:>7,} of {total:,} trainable ({100 * n / total:.1f}%)"


print("full fine-tuning:   ", trainable(model))

for p in model.parameters():  # freeze everything ...
    p.requires_grad = False
for p in model.lm_head.parameters():  # ... then unfreeze the output head only
    p.requires_grad = True
print("head only:          ", trainable(model))

for p in model.model.layers[-1].parameters():  # and the last decoder layer
    p.requires_grad = True
print("last layer + head:  ", trainable(model))
# --8<-- [end:freeze]
