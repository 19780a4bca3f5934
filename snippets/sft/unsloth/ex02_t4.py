"""What fits a free Colab T4: ftkit.memory's estimate against GPU
measurements, then the table.

Run alone: python snippets/sft/unsloth/ex02_t4.py
"""

# --8<-- [start:measured]
# peaks measured on a GPU, setup in its docstring
from ftkit.measured import QLORA_H200
from ftkit.memory import estimate, llama_config


def qlora_peak_gb(
    name, seq_len, batch_size, checkpointing, kbit_prepared=False
):
    """ftkit.memory's peak for QLoRA r=16 with 8-bit AdamW in 16-bit compute,
    in GB."""
    est = estimate(
        llama_config(name),
        "qlora",
        batch_size=batch_size,
        seq_len=seq_len,
        precision="bf16",
        optimizer="adamw_8bit",
        gradient_checkpointing=checkpointing,
        kbit_upcast=kbit_prepared,
    )
    return est.peak / 1e9


print(
    f"{'H200 run':<34} {'estimate':>8} {'allocated':>9} {'reserved':>8}"
    "  reserved/estimate"
)
# the largest ratio, with and without checkpointing
margin = {True: 0.0, False: 0.0}
for run in QLORA_H200:
    est = qlora_peak_gb(
        run.model,
        run.seq_len,
        run.batch_size,
        run.checkpointing,
        run.kbit_prepared,
    )
    margin[run.checkpointing] = max(
        margin[run.checkpointing], run.reserved_gb / est
    )
    label = f"{run.model} {run.seq_len}x{run.batch_size}"
    label += (" ckpt" if run.checkpointing else "") + (
        " +prepare" if run.kbit_prepared else ""
    )
    print(
        f"{label:<34} {est:>8.2f} "
        f"{run.allocated_gb:>9.2f} {run.reserved_gb:>8.2f}"
        f"  {run.reserved_gb / est:>6.2f}"
    )
print(
    f"margin: x{margin[True]:.2f} with checkpointing, "
    f"x{margin[False]:.2f} without"
)
# --8<-- [end:measured]

# --8<-- [start:t4]
T4_GB = 15.0  # what Colab reports for a T4's 16 GB

print(
    f"{'QLoRA r=16, 8-bit AdamW':<24} {'seq':>5} {'batch':>5}   "
    "checkpointing   no checkpointing"
)
for name in ["Llama-3.2-1B", "Llama-3.2-3B", "Llama-3.1-8B"]:
    for seq_len, batch_size in [(1024, 2), (2048, 2), (4096, 1)]:
        cells = []
        for checkpointing in (True, False):
            est = qlora_peak_gb(name, seq_len, batch_size, checkpointing)
            # the estimate, times what GPUs added
            fits = est * margin[checkpointing] <= T4_GB
            cells.append(f"{est:5.1f} GB {'ok' if fits else 'OOM':<3}")
        print(
            (
                f"{name:<24} {seq_len:>5} {batch_size:>5}   "
                f"{cells[0]}      {cells[1]}"
            ).rstrip()
        )
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
