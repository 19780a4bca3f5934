"""One fine-tuning step on one chat example changes what the model answers.

Run alone:
    python snippets/foundations/training-and-fine-tuning/ex02_one_step.py
"""

# --8<-- [start:step]
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
# large on purpose: one step must show; 1e-5 to 2e-4 on a real model
LEARNING_RATE = 1e-2

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)

messages = [
    {"role": "user", "content": "What does LoRA train?"},
    {"role": "assistant", "content": "Two small matrices."},
]
example = tokenizer.apply_chat_template(
    messages, return_dict=True, return_tensors="pt"
)
# The prompt: the chat up to the assistant's reply, with the header that
# opens it. The chat begins with the prompt, so the reply (and the end of
# its turn) is every token after it.
prompt = tokenizer.apply_chat_template(
    messages[:1],
    add_generation_prompt=True,
    return_dict=True,
    return_tensors="pt",
)
# Loss only on the reply: every token of the prompt gets the label -100.
labels = example["input_ids"].clone()
labels[:, : prompt["input_ids"].shape[1]] = -100


def answer() -> str:
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    return tokenizer.decode(out[0, prompt["input_ids"].shape[1] :])


def loss() -> torch.Tensor:
    return model(
        input_ids=example["input_ids"],
        attention_mask=example["attention_mask"],
        labels=labels,
    ).loss


optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
print(f"before: loss {loss().item():.3f}  answer {answer()!r}")
loss().backward()
optimizer.step()  # the one step
print(f"after:  loss {loss().item():.3f}  answer {answer()!r}")
# --8<-- [end:step]
