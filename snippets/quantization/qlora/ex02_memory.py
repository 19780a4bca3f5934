"""ftkit.memory: the estimate against measured peaks on the CPU, then real
models on real cards.

Run alone: python snippets/quantization/qlora/ex02_memory.py
"""

# --8<-- [start:validate]
import tempfile

import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM

from ftkit.memory import estimate, measure_peak

BATCH, SEQ = 4, 128
# two Llama shapes, 2 and 4 layers (1.8M and 13.2M parameters);
# GQA in the second
SIZES = {
    "small": LlamaConfig(
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=512,
    ),
    "medium": LlamaConfig(
        hidden_size=512,
        intermediate_size=1376,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=2,
        vocab_size=2048,
    ),
}
NF4 = BitsAndBytesConfig(
    load_in_4bit=True,
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=torch.float32,
)


def build(config, method: str, folder: str):
    """The model as each method trains it: all weights, LoRA on fp32, LoRA on
    NF4."""
    torch.manual_seed(0)
    if method == "qlora":
        model = LlamaForCausalLM.from_pretrained(
            folder, quantization_config=NF4
        )
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=False
        )
    else:
        model = LlamaForCausalLM.from_pretrained(folder)
    if method != "full":
        model = get_peft_model(
            model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")
        )
    return model.train()


def measured_peak(model, config, checkpointing: bool) -> int:
    """Peak bytes of live tensors over two training steps. The profiler counts
    tensors made before it started (the weights) from their first use, so the
    model is built outside."""
    if checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4
    )
    ids = torch.randint(0, config.vocab_size, (BATCH, SEQ))

    # the optimizer's states appear in step 1 and are live in step 2
    def two_steps():
        for _ in range(2):
            model(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    return measure_peak(two_steps).peak


print(
    f"{'model':<7} {'method':<6} {'ckpt':<5} "
    f"{'measured MB':>11} {'estimate MB':>11} error"
)
for size, config in SIZES.items():
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(folder)
        for method, ckpt in [
            ("full", False),
            ("full", True),
            ("lora", False),
            ("qlora", False),
        ]:
            measured = measured_peak(
                build(config, method, folder), config, ckpt
            )
            guess = estimate(
                config,
                method,
                batch_size=BATCH,
                seq_len=SEQ,
                precision="fp32",
                lora_r=16,
                gradient_checkpointing=ckpt,
            ).peak
            print(
                f"{size:<7} {method:<6} {str(ckpt):<5} "
                f"{measured / 1e6:>11.1f} {guess / 1e6:>11.1f} "
                f"{guess / measured - 1:>+7.1%}"
            )
# --8<-- [end:validate]

# --8<-- [start:bf16]
# counts what autograd keeps for backward
from ftkit.memory import activation_bytes_saved

config = SIZES["medium"]
print(
    f"{'method':<6} {'counted MB':>10} "
    f"{'estimate MB':>11} {'error':>7}   (bf16 weights)"
)
for method in ["full", "lora"]:
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    if method == "lora":  # peft keeps the adapters in fp32
        model = get_peft_model(
            model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")
        )
    ids = torch.randint(0, config.vocab_size, (BATCH, SEQ))
    counted = activation_bytes_saved(model.train(), ids)
    guess = estimate(
        config, method, batch_size=BATCH, seq_len=SEQ, precision="bf16"
    ).activations
    print(
        f"{method:<6} {counted / 1e6:>10.1f} "
        f"{guess / 1e6:>11.1f} {guess / counted - 1:>+7.1%}"
    )
# --8<-- [end:bf16]

# --8<-- [start:cards]
from ftkit.memory import llama_config

CARDS = {"T4 16GB": 16, "24GB": 24, "48GB": 48, "80GB": 80}
SETUPS = {  # method, precision, optimizer
    "full (mixed, AdamW)": ("full", "mixed", "adamw"),
    "full (bf16, 8-bit Adam)": ("full", "bf16", "adamw_8bit"),
    "LoRA r=16 (bf16 base)": ("lora", "bf16", "adamw"),
    "QLoRA r=16 (NF4 base)": ("qlora", "bf16", "paged_adamw_8bit"),
}
print(
    f"{'model':<14} {'setup':<24} {'peak GB':>8}  "
    + "  ".join(f"{c:>7}" for c in CARDS)
)
for name in ["Llama-3.2-1B", "Llama-3.1-8B", "Llama-3.1-70B"]:
    for label, (method, precision, optimizer) in SETUPS.items():
        est = estimate(
            llama_config(name),
            method,
            batch_size=1,
            seq_len=2048,
            precision=precision,
            optimizer=optimizer,
            gradient_checkpointing=True,
        )
        marks = "  ".join(
            f"{'fits' if est.fits(gb) else '-':>7}" for gb in CARDS.values()
        )
        print(f"{name:<14} {label:<24} {est.peak / 1e9:>8.1f}  {marks}")
# --8<-- [end:cards]

# --8<-- [start:check65b]
# QLoRA's headline: LLaMA-65B fine-tuned on one 48 GB GPU
# (Dettmers et al. 2023, abstract).
# Their setup: NF4 + double quantization, LoRA r=64 on every linear layer,
# gradient checkpointing, bf16 compute (Sections 3-4); their code's defaults:
# paged AdamW with 32-bit states, adapters cast to bf16 (qlora.py in
# github.com/artidoro/qlora).
for seq in [512, 2048]:
    est = estimate(
        llama_config("LLaMA-65B"),
        "qlora",
        batch_size=1,
        seq_len=seq,
        precision="bf16",
        optimizer="paged_adamw_32bit",
        gradient_checkpointing=True,
        lora_r=64,
        adapter_precision="bf16",
    )
    print(f"seq {seq}: {est.summary()}  fits 48 GB: {est.fits(48)}")
# --8<-- [end:check65b]
