"""What the three framework runs wrote: their adapters, their tokenized rows,
and their scores on the held-out questions.

Run after the page's bash blocks, in the folder where they ran (it reads
train.jsonl, test.jsonl, model_id.txt, out/, lf-tokens/, prepared/ and the
runs' .log and .time files).
"""

# --8<-- [start:adapters]
from pathlib import Path

from peft import PeftConfig
from safetensors import safe_open

RUNS = {"TRL": "trl", "LLaMA-Factory": "llamafactory", "Axolotl": "axolotl"}
print(
    f"{'run':<14} {'r':>2}  {'alpha':>5}  {'LoRA layers':>11}  "
    f"{'in full':<21}  {'parameters':>10}"
)
for name, run in RUNS.items():
    folder = Path("out") / run
    config = PeftConfig.from_pretrained(folder)
    with safe_open(folder / "adapter_model.safetensors", "pt") as weights:
        shapes = [weights.get_slice(key).get_shape() for key in weights.keys()]
        lora = sum("lora_A" in key for key in weights.keys())
    count = sum(rows * cols for rows, cols in shapes)
    print(
        f"{name:<14} {config.r:>2}  {config.lora_alpha:>5}  {lora:>11}  "
        f"{', '.join(config.modules_to_save):<21}  {count:>10,}"
    )
# --8<-- [end:adapters]

# --8<-- [start:tokens]
import json

from datasets import load_from_disk
from transformers import AutoTokenizer

MODEL_ID = Path("model_id.txt").read_text(encoding="utf-8").strip()
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
chats = [
    json.loads(line)["messages"]
    for line in Path("train.jsonl").read_text(encoding="utf-8").splitlines()
]
# TRL's rows: the chat template, the loss where its generation marks are
reference = {}
for chat in chats:
    row = tokenizer.apply_chat_template(
        chat, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = row["input_ids"], row["assistant_masks"]
    reference[tuple(ids)] = [
        t if m else -100 for t, m in zip(ids, mask, strict=True)
    ]


def labelled(ids, labels):
    """The text of the tokens that carry the loss."""
    return tokenizer.decode(
        [t for t, y in zip(ids, labels, strict=True) if y != -100]
    )


first = next(iter(reference.items()))
print(f"{'TRL':<14} labels {labelled(*first)!r}")
# one folder per hash of the data settings: after an edit, the newest is the
# one the last run wrote and trained on
prepared = max(
    (p for p in Path("prepared").iterdir() if p.is_dir()),
    key=lambda p: p.stat().st_mtime,
)
for name, folder in [("LLaMA-Factory", "lf-tokens"), ("Axolotl", prepared)]:
    rows = load_from_disk(str(folder))
    rows = rows["train"] if "train" in rows else rows  # a DatasetDict or not
    by_ids = {tuple(row["input_ids"]): row["labels"] for row in rows}
    same_ids = sum(ids in reference for ids in by_ids)
    same_labels = sum(by_ids[ids] == reference.get(ids) for ids in by_ids)
    extra = {  # tokens with a label that TRL leaves out of the loss
        tokenizer.decode([ids[i]])
        for ids, labels in by_ids.items()
        if ids in reference  # rows tokenized otherwise: counted above
        for i, y in enumerate(labels)
        if y != -100 and reference[ids][i] == -100
    }
    mine = by_ids.get(first[0])  # TRL's first row, if tokenized the same
    shown = "not found" if mine is None else labelled(first[0], mine)
    print(
        f"{name:<14} labels {shown!r}\n"
        f"{'':<14} {len(rows)} rows; token ids as TRL's: {same_ids}, "
        f"labels as TRL's: {same_labels}, labelled beyond TRL's: "
        f"{sorted(extra)}"
    )
# --8<-- [end:tokens]

# --8<-- [start:scores]
import re

from peft import PeftModel
from transformers import AutoModelForCausalLM

from ftkit.evaluate import reasoning_scores

test = [
    json.loads(line)
    for line in Path("test.jsonl").read_text(encoding="utf-8").splitlines()
]
LOSS = re.compile(r"'loss': '([\d.]+)'")  # the Trainer's log lines
PEAK = re.compile(r"(\d+) kB peak")  # GNU time's %M, in KiB
CONFIGS = {"trl": ["trl.yaml"], "axolotl": ["axolotl.yaml"]}
CONFIGS["llamafactory"] = ["llamafactory.yaml", "dataset_info.json"]


def config_lines(names):
    """The lines of a run's config files that are not blank or comments."""
    lines = [
        line.strip()
        for name in names
        for line in Path(name).read_text(encoding="utf-8").splitlines()
    ]
    return sum(bool(line) and not line.startswith("#") for line in lines)


table = {}
for name, run in RUNS.items():
    base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
    model = PeftModel.from_pretrained(base, Path("out") / run)
    scores = reasoning_scores(model, tokenizer, test)
    losses = LOSS.findall(Path(f"{run}.log").read_text(encoding="utf-8"))
    peak = int(PEAK.search(Path(f"{run}.time").read_text()).group(1))
    table[name] = [
        f"{config_lines(CONFIGS[run])}",
        f"{float(losses[0]):.3f}",
        f"{float(losses[-1]):.3f}",
        f"{scores.format:.0%}",
        f"{scores.exact_match:.0%}",
        f"{peak * 1024 / 1e9:.2f} GB",
    ]
rows = ["config lines", "loss, step 100", "loss, step 400", "format"]
rows += ["exact match", "peak memory"]
print(f"{'':<15}" + "".join(f"{name:>15}" for name in table))
for i, row in enumerate(rows):
    print(f"{row:<15}" + "".join(f"{v[i]:>15}" for v in table.values()))
# --8<-- [end:scores]
