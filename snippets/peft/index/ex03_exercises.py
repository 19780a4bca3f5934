"""The PEFT chapter's exercises: count what trains, then what it costs.

Run alone: python snippets/peft/index/ex03_exercises.py
"""

# --8<-- [start:three_b]
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from ftkit.llama_configs import LLAMA_CONFIGS

c = LLAMA_CONFIGS["Llama-3.2-3B"]
h, inter = c["hidden_size"], c["intermediate_size"]
layers = c["num_hidden_layers"]
kv = c["num_key_value_heads"] * (h // c["num_attention_heads"])
# (in_features, out_features) of the seven linear layers of one block
SHAPES = [(h, h), (h, kv), (h, kv), (h, h), (h, inter), (h, inter), (inter, h)]
R = 16
predicted = layers * sum(R * (d_in + d_out) for d_in, d_out in SHAPES)
print(f"predicted:  {predicted:,}")

with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(LlamaConfig(**c))
config = LoraConfig(r=R, lora_alpha=32, target_modules="all-linear")
peft_model = get_peft_model(model, config, low_cpu_mem_usage=True)
trainable, total = peft_model.get_nb_trainable_parameters()
n = total - trainable  # the frozen base
print(f"peft:       {trainable:,}")
# 2 bytes per frozen bf16 weight; 2 + 2 + 12 per adapter weight (its bf16
# weight and gradient, Adam's fp32 master copy and two moments)
gb = (2 * n + 16 * trainable) / 1e9
print(f"LoRA r=16:  {gb:.1f} GB before activations")
# --8<-- [end:three_b]

# --8<-- [start:ia3]
import torch
from peft import IA3Config, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from ftkit.llama_configs import LLAMA_CONFIGS

c = LLAMA_CONFIGS["Llama-3.1-8B"]
head_dim = c["hidden_size"] // c["num_attention_heads"]
kv = c["num_key_value_heads"] * head_dim
# one vector per layer on the keys, the values, and down_proj's input
predicted = c["num_hidden_layers"] * (kv + kv + c["intermediate_size"])
print(f"predicted: {predicted:,}")

with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(LlamaConfig(**c))
config = IA3Config(
    target_modules=["k_proj", "v_proj", "down_proj"],
    feedforward_modules=["down_proj"],
)
peft_model = get_peft_model(model, config, low_cpu_mem_usage=True)
trainable, total = peft_model.get_nb_trainable_parameters()
print(f"peft:      {trainable:,}")
print(f"share:     {100 * trainable / (total - trainable):.4f}%")
# --8<-- [end:ia3]
