"""The Unsloth chapter's exercises: the loss's share of the peak, and one
more row of the T4 table.

Run alone: python snippets/sft/unsloth/ex03_exercises.py
"""

# --8<-- [start:logits]
from ftkit.memory import estimate, llama_config

config = llama_config("Llama-3.2-3B")
TOKENS = 2 * 2048  # batch 2 of 2,048 tokens
by_hand = TOKENS * config.vocab_size * 4  # one fp32 logit per token and word
est = estimate(
    config,
    "qlora",
    batch_size=2,
    seq_len=2048,
    precision="bf16",
    optimizer="adamw_8bit",
    gradient_checkpointing=True,
)
print(f"saved logits by hand: {by_hand / 1e9:.2f} GB")
print(f"saved logits, ftkit:  {est.logits / 1e9:.2f} GB")
print(f"peak:                 {est.peak / 1e9:.2f} GB")
# --8<-- [end:logits]

# --8<-- [start:row]
from ftkit.measured import QLORA_H200
from ftkit.memory import estimate, llama_config

T4_GB = 15.0
# the page's margin: the largest reserved/estimate ratio with checkpointing
margin = 0.0
for run in QLORA_H200:
    if run.checkpointing:
        est = estimate(
            llama_config(run.model),
            "qlora",
            batch_size=run.batch_size,
            seq_len=run.seq_len,
            precision="bf16",
            optimizer="adamw_8bit",
            gradient_checkpointing=True,
            kbit_upcast=run.kbit_prepared,
        )
        margin = max(margin, run.reserved_gb / (est.peak / 1e9))
for seq_len in (1024, 2048, 4096):
    peak = (
        estimate(
            llama_config("Llama-3.2-3B"),
            "qlora",
            batch_size=2,
            seq_len=seq_len,
            precision="bf16",
            optimizer="adamw_8bit",
            gradient_checkpointing=True,
        ).peak
        / 1e9
    )
    fits = "ok" if peak * margin <= T4_GB else "OOM"
    print(
        f"Llama-3.2-3B {seq_len:>5} x 2: {peak:5.1f} GB  x{margin:.2f} {fits}"
    )
# --8<-- [end:row]
