"""LoRA injected into the tiny Llama, from scratch and with peft: the same
layers, the same count.

Run alone: python snippets/peft/lora/ex02_inject.py
"""

# --8<-- [start:ftkit]
from transformers import AutoModelForCausalLM

from ftkit.lora import inject_lora
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
TARGETS = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
]

ours = inject_lora(
    AutoModelForCausalLM.from_pretrained(MODEL_ID), TARGETS, r=8, alpha=16
)
trainable = sum(p.numel() for p in ours.parameters() if p.requires_grad)
total = sum(p.numel() for p in ours.parameters())
print(
    f"trainable params: {trainable:,} || all params: {total:,} || "
    f"trainable%: {100 * trainable / total:.4f}"
)
print(ours.model.layers[0].self_attn.q_proj)
# --8<-- [end:ftkit]

# --8<-- [start:peft]
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

config = LoraConfig(
    r=8, lora_alpha=16, target_modules=TARGETS, task_type="CAUSAL_LM"
)
theirs = get_peft_model(AutoModelForCausalLM.from_pretrained(MODEL_ID), config)
theirs.print_trainable_parameters()
print(theirs.base_model.model.model.layers[0].self_attn.q_proj.lora_A)
# --8<-- [end:peft]

# --8<-- [start:same]
import torch

# Give peft's A and B our values (B random, so the adapters do something) ...
torch.manual_seed(0)
params = dict(theirs.named_parameters())
with torch.no_grad():
    for name, module in ours.named_modules():
        if hasattr(module, "lora_A"):
            module.lora_B.normal_(std=0.1)
            params[f"base_model.model.{name}.lora_A.default.weight"].copy_(
                module.lora_A
            )
            params[f"base_model.model.{name}.lora_B.default.weight"].copy_(
                module.lora_B
            )

# ... and the two models compute the same function.
ids = torch.randint(0, ours.config.vocab_size, (2, 16))
diff = (ours(ids).logits - theirs(ids).logits).abs().max().item()
print(f"largest difference in logits: {diff:.1e}")
# --8<-- [end:same]
