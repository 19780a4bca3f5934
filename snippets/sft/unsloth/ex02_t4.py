"""What fits a free Colab T4, from ftkit.memory's estimate: QLoRA on Llama 3.x models.

Run alone: python snippets/sft/unsloth/ex02_t4.py
"""

# --8<-- [start:t4]
from ftkit.memory import estimate, llama_config

T4_BUDGET_GB = 14  # Colab shows about 15 GB; keep 1 GB for the CUDA context and fragmentation

print(f"{'QLoRA r=16, 8-bit AdamW':<24} {'seq':>5} {'batch':>5}   checkpointing   no checkpointing")
for name in ["Llama-3.2-1B", "Llama-3.2-3B", "Llama-3.1-8B"]:
    config = llama_config(name)
    for seq_len, batch_size in [(1024, 2), (2048, 2), (4096, 1)]:
        cells = []
        for checkpointing in (True, False):
            est = estimate(
                config,
                "qlora",
                batch_size=batch_size,
                seq_len=seq_len,
                precision="bf16",
                optimizer="adamw_8bit",
                gradient_checkpointing=checkpointing,
            )
            mark = "ok" if est.fits(T4_BUDGET_GB) else "OOM"
            cells.append(f"{est.peak / 1e9:5.1f} GB {mark:<3}")
        print(f"{name:<24} {seq_len:>5} {batch_size:>5}   {cells[0]}      {cells[1]}".rstrip())
# --8<-- [end:t4]

# --8<-- [start:levers]
base = dict(
    batch_size=2,
    seq_len=4096,
    precision="bf16",
    optimizer="adamw_8bit",
    gradient_checkpointing=False,
    lora_r=16,
)
config = llama_config("Llama-3.1-8B")
print(
    f"Llama-3.1-8B QLoRA, batch 2, 4096 tokens, no checkpointing: "
    f"{estimate(config, 'qlora', **base).peak / 1e9:.1f} GB"
)
for lever, change in [
    ("gradient checkpointing on", dict(gradient_checkpointing=True)),
    ("batch 2 -> 1 (accumulate 2)", dict(batch_size=1)),
    ("4096 -> 2048 tokens", dict(seq_len=2048)),
    ("LoRA rank 16 -> 8", dict(lora_r=8)),
    ("8-bit AdamW -> AdamW", dict(optimizer="adamw")),
]:
    peak = estimate(config, "qlora", **{**base, **change}).peak / 1e9
    print(f"  {lever:<30} {peak:6.1f} GB")
# --8<-- [end:levers]
