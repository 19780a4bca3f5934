"""The VRAM wall, computed: real Llama configurations on the meta device,
nothing downloaded.

Run alone: python snippets/peft/index/ex01_real_models.py
"""

# --8<-- [start:build]
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

# published config.json values of Meta's models
from ftkit.llama_configs import LLAMA_CONFIGS

CONFIGS = {
    name: LLAMA_CONFIGS[name]
    for name in ("Llama-3.2-1B", "Llama-3.1-8B", "Llama-3.1-70B")
}


def meta_model(name: str):
    """The real architecture with shapes only: the meta device allocates no
    memory."""
    config = LlamaConfig(**CONFIGS[name])
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


models = {name: meta_model(name) for name in CONFIGS}
for name, model in models.items():
    print(f"{name:<14} {model.num_parameters():>15,} parameters")
# --8<-- [end:build]

# --8<-- [start:memory]
from ftkit.memory import estimate

GB = 1e9
SEQ, BATCH = 2048, 1  # one sequence of 2,048 tokens

print(
    f"{'model':<14} {'weights':>7} {'grads':>7} "
    f"{'Adam':>7} {'activ.':>7} {'peak':>7}"
)
for name, model in models.items():
    # full fine-tuning, mixed precision (bf16 weights and gradients,
    # fp32 master), AdamW
    est = estimate(
        model.config, "full", batch_size=BATCH, seq_len=SEQ, precision="mixed"
    )
    parts = [
        est.weights,
        est.gradients,
        est.optimizer,
        est.activations,
        est.peak,
    ]
    cells = " ".join(f"{v / GB:>7.1f}" for v in parts)
    print(f"{name:<14} {cells}  GB")
# --8<-- [end:memory]

# --8<-- [start:lora]
from peft import LoraConfig, get_peft_model

print(
    f"{'model':<14} {'LoRA r=16':>12} {'share':>7} {'fewer':>7} "
    f"{'GB (full -> LoRA)':>19}"
)
for name, model in models.items():
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")
    # low_cpu_mem_usage: the adapter weights stay on the meta device too
    peft_model = get_peft_model(model, config, low_cpu_mem_usage=True)
    trainable, total = peft_model.get_nb_trainable_parameters()
    n = total - trainable  # the base model's own parameters
    shape = dict(batch_size=BATCH, seq_len=SEQ)
    full = estimate(model.config, "full", precision="mixed", **shape).peak / GB
    lora = (
        estimate(
            model.config, "lora", precision="bf16", lora_r=16, **shape
        ).peak
        / GB
    )
    share = 100 * trainable / n
    print(
        f"{name:<14} {trainable:>12,} {share:>6.2f}% {100 - share:>6.2f}% "
        f"{full:>8.1f} -> {lora:>6.1f}"
    )
# --8<-- [end:lora]
