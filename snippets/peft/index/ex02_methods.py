"""Every PEFT family peft implements, run on the same tiny task: what trains,
and how much.

Run alone: python snippets/peft/index/ex02_methods.py
"""

# --8<-- [start:methods]
import copy

import torch
from peft import (
    IA3Config,
    LoHaConfig,
    LoKrConfig,
    LoraConfig,
    PrefixTuningConfig,
    PromptEncoderConfig,
    PromptTuningConfig,
    VeraConfig,
    get_peft_model,
)
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.chat import chat_batch, faq
from ftkit.tiny import tiny_llama
from ftkit.train import loss_curve

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
STEPS = 60

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# 12 question/answer chats, loss on the answers only
batch = chat_batch(tokenizer, faq())
ALL_LINEAR = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
]

methods = {  # name: (peft config or None for full fine-tuning, learning rate)
    "full fine-tuning": (None, 1e-3),
    "LoRA r=8": (
        LoraConfig(r=8, lora_alpha=16, target_modules=ALL_LINEAR),
        1e-2,
    ),
    "DoRA r=8": (
        LoraConfig(
            r=8, lora_alpha=16, target_modules=ALL_LINEAR, use_dora=True
        ),
        1e-2,
    ),
    "LoHa r=8": (LoHaConfig(r=8, alpha=16, target_modules=ALL_LINEAR), 1e-2),
    "LoKr r=8": (LoKrConfig(r=8, alpha=16, target_modules=ALL_LINEAR), 1e-2),
    "VeRA r=64": (
        VeraConfig(r=64, target_modules=["q_proj", "v_proj", "up_proj"]),
        1e-2,
    ),
    "IA3": (
        IA3Config(
            target_modules=["k_proj", "v_proj", "down_proj"],
            feedforward_modules=["down_proj"],
        ),
        3e-2,
    ),
    "prefix tuning (8)": (
        PrefixTuningConfig(num_virtual_tokens=8, task_type="CAUSAL_LM"),
        3e-2,
    ),
    "prompt tuning (8)": (
        PromptTuningConfig(num_virtual_tokens=8, task_type="CAUSAL_LM"),
        3e-2,
    ),
    "P-tuning (8)": (
        PromptEncoderConfig(num_virtual_tokens=8, task_type="CAUSAL_LM"),
        3e-2,
    ),
}

print(
    f"{'method':<18} {'trainable':>9} {'share':>7}  "
    f"loss before -> after {STEPS} steps"
)
for name, (config, lr) in methods.items():
    torch.manual_seed(0)
    model = copy.deepcopy(base)
    if config is not None:
        model = get_peft_model(model, config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_train = sum(p.numel() for p in trainable)
    # the base model's size, the same for every row
    n_total = base.num_parameters()
    losses = loss_curve(
        model, batch, torch.optim.AdamW(trainable, lr=lr), STEPS
    )
    share = 100 * n_train / n_total
    print(
        f"{name:<18} {n_train:>9,} {share:>6.2f}%  "
        f"{losses[0]:.2f} -> {losses[-1]:.2f}"
    )
# --8<-- [end:methods]
