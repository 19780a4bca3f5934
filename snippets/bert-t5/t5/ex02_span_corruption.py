"""Span corruption, T5's pretraining objective: one sentence corrupted, then
the held-out loss of the objective before and after the build's pretraining.

Run alone: python snippets/bert-t5/t5/ex02_span_corruption.py
"""

# --8<-- [start:corrupt]
import random
import textwrap

from transformers import AutoTokenizer

from ftkit.tiny_t5 import sentinel, span_corruption, tiny_t5

# Colab GPU: "google/flan-t5-base"
MODEL_ID = tiny_t5(pretrain_steps=60)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
sentinel_ids = tokenizer.convert_tokens_to_ids(
    [sentinel(i) for i in range(100)]
)
text = (
    "On Monday, the Dunmore council met for 3 hours. After a long debate, "
    "members voted to approve the new bridge. The Fairview water board "
    "will discuss the bus route soon."
)
ids = tokenizer(text, add_special_tokens=False).input_ids
inputs, targets = span_corruption(ids, sentinel_ids, random.Random(6))
print(f"{len(ids)} tokens -> input {len(inputs)}, target {len(targets)}")
for name, ids in [("input", inputs), ("target", targets)]:
    print(textwrap.fill(f"{name}: {tokenizer.decode(ids)}", 72))
# --8<-- [end:corrupt]

# --8<-- [start:denoise]
import torch
from transformers import AutoModelForSeq2SeqLM

from ftkit.text2text import (
    SUMMARIZE,
    TRANSLATE,
    summarization_task,
    translation_task,
)
from ftkit.tiny_t5 import corrupted_batch

# the held-out inputs of the two tasks, prefixes off: text the build's
# pretraining never read
held_out = [
    row["input"].removeprefix(SUMMARIZE).removeprefix(TRANSLATE)
    for row in summarization_task()["test"] + translation_task()["test"]
]
batch = corrupted_batch(held_out, tokenizer, random.Random(0))
pretrained = AutoModelForSeq2SeqLM.from_pretrained(MODEL_ID)
torch.manual_seed(0)
untrained = AutoModelForSeq2SeqLM.from_config(pretrained.config)
print(f"span corruption on {len(held_out)} held-out texts, mean loss:")
with torch.no_grad():
    for name, model in [
        ("random weights", untrained),
        ("pretrained", pretrained),
    ]:
        print(f"  {name:15} {model(**batch).loss.item():.2f}")
# --8<-- [end:denoise]
