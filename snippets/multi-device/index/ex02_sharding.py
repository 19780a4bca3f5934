"""Model states per device under DDP, ZeRO-1/2/3 and FSDP (ftkit.memory),
and what ZeRO-3 and FSDP hold for a while on top of them.

Run alone: python snippets/multi-device/index/ex02_sharding.py
"""

# --8<-- [start:paper]
from ftkit.memory import GB, SHARDED, per_device_states

# Figure 1 of the ZeRO paper: 7.5B parameters, 64 GPUs, mixed-precision Adam
for strategy in SHARDED:
    states = per_device_states(7.5e9, strategy, 64)
    print(f"{strategy:>5}: {states.total / GB:6.1f} GB per GPU")
# --8<-- [end:paper]

# --8<-- [start:llama]
from ftkit.memory import GB, estimate, llama_config, per_device_states

N_GPUS = 8  # try 16 or 64: the sharded columns shrink with N
NAMES = {
    "ddp": "DDP",
    "zero1": "ZeRO-1",
    "zero2": "ZeRO-2",
    "zero3": "ZeRO-3 / FSDP",
}
print(f"GB per GPU, {N_GPUS} GPUs      weights  gradients  optimizer  total")
for model in ("Llama-3.1-8B", "Llama-3.1-70B"):
    n_params = estimate(llama_config(model), "full").total_parameters
    for strategy, label in NAMES.items():
        s = per_device_states(n_params, strategy, N_GPUS)
        print(
            f"{model[10:]:>3} {label:<15} {s.weights / GB:>9.1f} "
            f"{s.gradients / GB:>10.1f} {s.optimizer / GB:>10.1f} "
            f"{s.total / GB:>6.1f}"
        )
# --8<-- [end:llama]

# --8<-- [start:transient]
from ftkit.memory import GB, ModelShape, llama_config, per_device_states

shape = ModelShape.from_config(llama_config("Llama-3.1-70B"))
counts = shape.parameter_counts()
n_params = sum(counts.values())
states = per_device_states(n_params, "zero3", 16)
print(f"70B, ZeRO-3 on 16 GPUs: {states.total / GB:.1f} GB of states per GPU")
layer = counts["linear"] / shape.layers + 2 * shape.hidden  # + 2 norms
print(f"one decoder layer, gathered in bf16: {2 * layer / GB:.1f} GB")
root = counts["embeddings"]  # input embeddings and output layer
print(f"embeddings and output layer, gathered in bf16: {2 * root / GB:.1f} GB")
print(f"AdamW states offloaded to CPU RAM: {12 * n_params / GB:.1f} GB")
# --8<-- [end:transient]
