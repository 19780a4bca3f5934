"""The data sets chapter's exercises: pack by hand, and validate a file
before a trainer sees it.

Run alone: python snippets/sft/index/ex02_exercises.py
"""

# --8<-- [start:pack32]
from datasets import Dataset
from trl import pack_dataset

LENGTHS = [15, 18, 15, 17, 15, 15]  # the six sentences, in tokens
rows = Dataset.from_dict({"input_ids": [[1] * n for n in LENGTHS]})
packed = pack_dataset(rows, seq_length=32)  # best fit decreasing
print("rows:", packed.num_rows)
print("sequences in each row:", [list(n) for n in packed["seq_lengths"]])
print("tokens in each row:", [len(ids) for ids in packed["input_ids"]])
# --8<-- [end:pack32]

# --8<-- [start:validate]
import json
import tempfile
from pathlib import Path

from ftkit.validation import validate_file

ROWS = [
    {
        "messages": [
            {"role": "user", "content": "What is SFT?"},
            {"role": "assistant", "content": "Learning from examples."},
        ]
    },
    {"prompt": "What is DPO?", "completion": " Learning from pairs."},
    {"messages": [{"role": "assistant", "content": "Hello."}]},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is a token?"},
        ]
    },
]
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "mine.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    report = validate_file(path)
print(f"{report.total} rows, {len(report.rows)} good, format {report.format}")
for error in report.errors:
    print(" ", error)
print("kept lines:", report.lines)
# --8<-- [end:validate]
