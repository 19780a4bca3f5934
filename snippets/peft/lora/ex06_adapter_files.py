"""Adapters on disk: ftkit writes peft's format, peft loads it; peft's files
load into ftkit.

Run alone: python snippets/peft/lora/ex06_adapter_files.py
"""

# --8<-- [start:files]
import json
import os
import tempfile

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
from transformers.utils import cached_file

from ftkit.lora import inject_lora, load_adapter, save_adapter
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
folder = tempfile.mkdtemp()
ours = inject_lora(
    AutoModelForCausalLM.from_pretrained(MODEL_ID), "all-linear", r=8, alpha=16
)
with torch.no_grad():  # stand-in for training
    for name, p in ours.named_parameters():
        if name.endswith("lora_B"):
            p.normal_(std=0.1, generator=torch.Generator().manual_seed(0))

save_adapter(ours, f"{folder}/ours", base_model_name_or_path=MODEL_ID)
print(sorted(os.listdir(f"{folder}/ours")))
with open(f"{folder}/ours/adapter_config.json") as f:
    config = json.load(f)
print(
    {
        key: config[key]
        for key in ("peft_type", "r", "lora_alpha", "target_modules")
    }
)
adapter = os.path.getsize(f"{folder}/ours/adapter_model.safetensors")
# the base's weights file: in the folder, or in the hub cache for a hub id
base = os.path.getsize(cached_file(MODEL_ID, "model.safetensors"))
print(f"adapter weights {adapter:,} bytes; base model {base:,} bytes")

ids = torch.randint(
    0,
    ours.config.vocab_size,
    (1, 12),
    generator=torch.Generator().manual_seed(0),
)
theirs = PeftModel.from_pretrained(
    AutoModelForCausalLM.from_pretrained(MODEL_ID), f"{folder}/ours"
)
print(
    "peft loads ftkit's adapter: "
    f"{(theirs(ids).logits - ours(ids).logits).abs().max():.1e}"
)

# and back: peft's own files into ftkit
theirs.save_pretrained(f"{folder}/peft")
back = load_adapter(
    AutoModelForCausalLM.from_pretrained(MODEL_ID), f"{folder}/peft"
)
print(
    "ftkit loads peft's adapter: "
    f"{(back(ids).logits - ours(ids).logits).abs().max():.1e}"
)
# --8<-- [end:files]
