"""A tiny Llama from from_pretrained, trained on next-token prediction, then
partly frozen.

The code of "Training and fine-tuning" up to the freezing section, in the
page's order.
Run alone:
    python snippets/foundations/training-and-fine-tuning/ex01_tiny_model.py
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

# --8<-- [start:train]
import math

import torch

# the 16 sentences below are written for the guide
from ftkit.tiny import corpus

# a real pretraining run takes trillions of tokens; we take 16 sentences
STEPS = 100
LEARNING_RATE = 3e-3

torch.manual_seed(0)
texts = corpus()[:16]
# Padding needs a pad token. Llama 3's tokenizer has none, so pad with its
# end-of-sequence token, as TRL does (padding gets no loss either way).
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
# input_ids: (16, T)
batch = tokenizer(texts, padding=True, return_tensors="pt")
# no loss on pads
labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)


def complete(prompt: str, new_tokens: int = 10) -> str:
    """Greedy decoding: always take the most likely next token."""
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(
            **inputs, max_new_tokens=new_tokens, do_sample=False
        )
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :])


print(
    f"a uniform guess over {len(tokenizer)} tokens has loss "
    f"ln({len(tokenizer)}) = {math.log(len(tokenizer)):.2f}"
)
print(f"training tokens: {int(batch['attention_mask'].sum())}")
print("before:", repr(complete("Fine-tuning adapts a")))
optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
model.train()
for step in range(STEPS + 1):
    # mean cross-entropy of the next token
    loss = model(**batch, labels=labels).loss
    if step % 25 == 0:
        print(f"step {step:>3}  loss {loss.item():.2f}")
    loss.backward()  # gradients of the loss with respect to every parameter
    optimizer.step()  # move each parameter a little against its gradient
    optimizer.zero_grad()
model.eval()
print("after: ", repr(complete("Fine-tuning adapts a")))
# --8<-- [end:train]


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
