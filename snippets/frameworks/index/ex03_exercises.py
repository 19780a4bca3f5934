"""The framework showdown's exercises: the data in LLaMA-Factory's alpaca
format, and the key check that Axolotl does not do, for TRL's config.

Run after ex01_data.py and the page's file blocks, in the folder where they
ran (it reads train.jsonl and trl.yaml).
"""

# --8<-- [start:alpaca]
import json
from pathlib import Path

with open("train.jsonl", encoding="utf-8") as f:
    chats = [json.loads(line)["messages"] for line in f]
with open("train_alpaca.jsonl", "w", encoding="utf-8") as f:
    for user, assistant in chats:  # one turn each: instruction -> output
        row = {
            "instruction": user["content"],
            "input": "",
            "output": assistant["content"],
        }
        f.write(json.dumps(row) + "\n")
# alpaca is the default formatting, and instruction/input/output the
# default columns: the entry needs the file's name only
entry = {"reasoning_alpaca": {"file_name": "train_alpaca.jsonl"}}
print(Path("train_alpaca.jsonl").read_text(encoding="utf-8").split("\n")[0])
print(json.dumps(entry))
# --8<-- [end:alpaca]

# --8<-- [start:keys]
import dataclasses
import difflib

import yaml
from trl import DatasetMixtureConfig, ModelConfig, ScriptArguments, SFTConfig

# the dataclasses trl sft fills from its config (trl/scripts/sft.py): the
# training keys only, not the accelerate launch options a config may hold
CONFIGS = (ScriptArguments, SFTConfig, ModelConfig, DatasetMixtureConfig)
KNOWN = {field.name for c in CONFIGS for field in dataclasses.fields(c)}


def unknown_keys(path: str) -> dict[str, list[str]]:
    """Each key of a YAML config that trl sft does not know, with the known
    key closest to it."""
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {
        key: difflib.get_close_matches(key, KNOWN, n=1)
        for key in config
        if key not in KNOWN
    }


text = Path("trl.yaml").read_text(encoding="utf-8")
typos = text.replace("lora_r:", "lora_rnak:").replace("seed:", "sed:")
Path("trl-typos.yaml").write_text(typos, encoding="utf-8")
print(f"trl sft knows {len(KNOWN)} keys")
for name in ("trl.yaml", "trl-typos.yaml"):
    print(f"{name}: {unknown_keys(name)}")
# --8<-- [end:keys]
