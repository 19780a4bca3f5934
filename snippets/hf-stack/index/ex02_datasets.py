"""datasets: map, filter, batched map, Arrow files and memory mapping,
streaming, and formats.

Run alone: python snippets/hf-stack/index/ex02_datasets.py
"""

# --8<-- [start:build]
from datasets import Dataset, disable_progress_bars

from ftkit.tasks import reasoning_task

disable_progress_bars()  # the page prints its own numbers

# the guide's arithmetic task, generated offline: 200 training questions
train, _ = reasoning_task(n_train=200, n_test=0)
rows = [
    {"question": row["messages"][0]["content"], "answer": row["answer"]}
    for row in train
]
ds = Dataset.from_list(rows)
print(ds)
print(ds[0])
# map: a function of one row returns new columns, old ones are kept
ds = ds.map(lambda row: {"takes": row["question"].count("take")})
# filter: keep the rows for which the function is True
no_take = ds.filter(lambda row: row["takes"] == 0)
print(f"{len(no_take)} of {len(ds)} questions only add:", no_take[0])
# --8<-- [end:build]

# --8<-- [start:batched]
from transformers import AutoTokenizer

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
# Llama 3's tokenizer sets no pad token, but its vocabulary reserves one
if tokenizer.pad_token is None:
    tokenizer.pad_token = "<|finetune_right_pad_id|>"
calls = []


def tokenize(batch):
    """batched=True: `batch` is a dict of columns, each a list of rows."""
    calls.append(len(batch["question"]))
    return tokenizer(batch["question"], padding="max_length", max_length=24)


tokenized = ds.map(tokenize, batched=True, batch_size=64)
print(f"{len(calls)} calls for {len(ds)} rows, batch sizes {calls}")
print(tokenized.column_names)
print(tokenized.features["input_ids"])
# --8<-- [end:batched]

# --8<-- [start:arrow]
import tempfile
from pathlib import Path

from datasets import load_from_disk

work = Path(tempfile.mkdtemp())  # a scratch folder for this page's files
print("in memory:", type(tokenized.data).__name__, tokenized.cache_files)

tokenized.save_to_disk(work / "reasoning")
on_disk = load_from_disk(work / "reasoning")
print("loaded:   ", type(on_disk.data).__name__)
for cache_file in on_disk.cache_files:
    print("  reads", Path(cache_file["filename"]).relative_to(work))

# a map of a memory-mapped dataset writes its result next to it, in Arrow
lengths = on_disk.map(lambda row: {"tokens": sum(row["attention_mask"])})
print(
    "map wrote",
    len(lengths.cache_files),
    "cache file in reasoning/:",
    Path(lengths.cache_files[0]["filename"]).parent == work / "reasoning",
)
print("tokens per question, first five:", lengths["tokens"][:5])
# --8<-- [end:arrow]

# --8<-- [start:stream]
import json

import datasets
from datasets import IterableDataset, load_dataset

# load_dataset sends a request to count downloads, even for a local file,
# unless offline; switch the count off (or set HF_HUB_OFFLINE=1 before
# starting Python)
datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False

with open(work / "reasoning.jsonl", "w") as file:
    for row in rows:
        file.write(json.dumps(row) + "\n")

stream = load_dataset(
    "json",
    data_files=str(work / "reasoning.jsonl"),
    split="train",
    streaming=True,
)
print(type(stream).__name__, isinstance(stream, IterableDataset))
# nothing is read yet: map and filter are recorded, run row by row
fives = stream.filter(lambda row: row["answer"] == "5").map(
    lambda batch: tokenizer(batch["question"]), batched=True
)
for row in fives.take(2):
    print(row["question"], "->", len(row["input_ids"]), "tokens")
# --8<-- [end:stream]

# --8<-- [start:formats]
as_torch = tokenized.with_format(
    "torch", columns=["input_ids", "attention_mask"]
)
batch = as_torch[:8]
print({name: tuple(value.shape) for name, value in batch.items()})
print(batch["input_ids"].dtype)

frame = ds.to_pandas()
print(type(frame).__name__, frame.shape)
print(frame.groupby("takes").size().to_dict())
# --8<-- [end:formats]
