"""The framework showdown's shared data: the reasoning task as two JSONL files,
and the model every run starts from.

Run alone: python snippets/frameworks/index/ex01_data.py
"""

# --8<-- [start:data]
import json
from pathlib import Path

from ftkit.tasks import reasoning_task
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
train, test = reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)
with open("train.jsonl", "w", encoding="utf-8") as f:
    for row in train:  # the chat only: what every framework trains on
        f.write(json.dumps({"messages": row["messages"]}) + "\n")
with open("test.jsonl", "w", encoding="utf-8") as f:
    for row in test:  # the chat and its answer, to score the replies
        f.write(json.dumps(row) + "\n")
# the commands below read the model from here: a folder, or a hub id
Path("model_id.txt").write_text(f"{MODEL_ID}\n", encoding="utf-8")

for name in ("train.jsonl", "test.jsonl"):
    lines = Path(name).read_text(encoding="utf-8").splitlines()
    print(f"{name}: {len(lines)} rows, the first:")
    print(f"  {lines[0]}")
# --8<-- [end:data]
