"""The QLoRA chapter's exercises: the bytes of a 4-bit base by hand, and a
size the card table leaves out.

Run alone: python snippets/quantization/qlora/ex03_exercises.py
"""

# --8<-- [start:bytes8b]
from ftkit.memory import ModelShape, estimate, llama_config
from ftkit.quant import scale_bits_per_weight

config = llama_config("Llama-3.1-8B")
counts = ModelShape.from_config(config).parameter_counts()
nf4_bits = 4 + scale_bits_per_weight(64, double_quant=True)
linear = counts["linear"] * nf4_bits / 8  # the decoder's linear layers
rest = (counts["embeddings"] + counts["norms"]) * 2  # left in bf16
adapter = 41_943_040 * 2  # rank 16 on every linear layer, in bf16
print(f"NF4 bits per weight: {nf4_bits:.4f}")
print(f"linear layers: {linear / 1e9:.2f} GB")
print(f"embeddings, head, norms: {rest / 1e9:.2f} GB")
print(f"by hand: {(linear + rest + adapter) / 1e9:.2f} GB")
est = estimate(config, "qlora", precision="bf16", adapter_precision="bf16")
print(f"ftkit:   {est.weights / 1e9:.2f} GB")
# --8<-- [end:bytes8b]

# --8<-- [start:three_b]
from ftkit.memory import estimate, llama_config

SETUPS = {  # method, precision, optimizer: the card table's four rows
    "full (mixed, AdamW)": ("full", "mixed", "adamw"),
    "full (bf16, 8-bit Adam)": ("full", "bf16", "adamw_8bit"),
    "LoRA r=16 (bf16 base)": ("lora", "bf16", "adamw"),
    "QLoRA r=16 (NF4 base)": ("qlora", "bf16", "paged_adamw_8bit"),
}
for label, (method, precision, optimizer) in SETUPS.items():
    est = estimate(
        llama_config("Llama-3.2-3B"),
        method,
        batch_size=1,
        seq_len=2048,
        precision=precision,
        optimizer=optimizer,
        gradient_checkpointing=True,
    )
    print(f"{label:<24} {est.peak / 1e9:6.1f} GB  T4: {est.fits(16)}")
# --8<-- [end:three_b]
