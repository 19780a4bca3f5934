"""The deployment chapter's exercises: the size of a Q8_0 tensor, and a
chat that Ollama renders differently from the chat template.

Run alone: python snippets/deployment/index/ex02_exercises.py
"""

# --8<-- [start:q8_0]
import gguf
import numpy as np

BLOCK = 32  # weights per Q8_0 block, along a row
BLOCK_BYTES = 2 + BLOCK  # one F16 scale, then 32 int8 weights


def q8_0_bytes(rows: int, cols: int) -> int:
    """Bytes of a rows x cols weight matrix in Q8_0."""
    if cols % BLOCK:
        raise ValueError(f"a row of {cols} weights is not whole blocks")
    return rows * cols // BLOCK * BLOCK_BYTES


print(f"blk.0.attn_q.weight, 64 x 64: {q8_0_bytes(64, 64):,} bytes")
q8_0 = gguf.GGMLQuantizationType.Q8_0
print("gguf's (block, bytes) for Q8_0:", gguf.GGML_QUANT_SIZES[q8_0])
weights = np.random.default_rng(0).standard_normal((64, 64))
quantized = gguf.quantize(weights.astype(np.float32), q8_0)
print(f"quantized by gguf: {quantized.nbytes:,} bytes")

# Llama-3.2-1B's embedding matrix: 128,256 tokens x 2,048
print(f"1B embeddings in F16:  {2 * 128_256 * 2_048:,} bytes")
print(f"1B embeddings in Q8_0: {q8_0_bytes(128_256, 2_048):,} bytes")
# --8<-- [end:q8_0]

# --8<-- [start:two_in_a_row]
from transformers import AutoTokenizer

from ftkit.deploy import ollama_template, render_ollama
from ftkit.tasks import HELPDESK_SYSTEM
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
# the merged model keeps the base's tokenizer and its chat template
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
template = ollama_template(tokenizer)
CHATS = {
    "question, answer, question": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Is there wifi?"},
    ],
    "two questions in a row": [
        {"role": "user", "content": "Hi"},
        {"role": "user", "content": "Is there wifi?"},
    ],
}
for label, chat in CHATS.items():
    # Ollama adds the Modelfile's SYSTEM; the chat template is given it
    ollama = render_ollama(template, chat, HELPDESK_SYSTEM)
    trained = tokenizer.apply_chat_template(
        [{"role": "system", "content": HELPDESK_SYSTEM}, *chat],
        tokenize=False,
        add_generation_prompt=True,
    )
    print(f"{label}: equal {ollama == trained}")
# the last chat, after the system turn (it ends with the first EOS)
end = tokenizer.eos_token
print("Ollama:       ", repr(ollama.split(end, 1)[1]))
print("chat template:", repr(trained.split(end, 1)[1]))
# --8<-- [end:two_in_a_row]
