"""Structured output: prompting, a JSON Schema constraint, fine-tuning, and
both, on the same held-out requests.

Run alone: python snippets/structured-output/index/ex02_four_ways.py
"""

# --8<-- [start:before]
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.evaluate import generate_replies
from ftkit.structured import order_task, schema_prompt, structured_scores
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
# Colab GPU: schema_prompt() (the schema as text; a prompted model needs it)
SYSTEM = "Reply with the order as JSON."
# the longest order is 73 tiny-model tokens; the rest is room for a model
# that writes JSON a character at a time under a constraint
MAX_NEW_TOKENS = 128

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)
train, test, new_names = order_task(
    n_train=600, n_test=48, n_new_names=48, seed=0, system=SYSTEM
)
chats = [row["messages"][:-1] for row in test]  # system and user turns
schema_tokens = tokenizer.backend_tokenizer.encode(
    schema_prompt(), add_special_tokens=False
).ids
print(
    f"schema as a prompt: {len(schema_tokens)} tokens, context:",
    base.config.max_position_embeddings,
)

replies = generate_replies(base, tokenizer, chats, MAX_NEW_TOKENS)
prompting = structured_scores(replies, test)
print("prompting only:", prompting)
print("a reply:", repr(replies[0][:60]))
# --8<-- [end:before]

# --8<-- [start:constraint]
import json

import xgrammar as xgr

from ftkit.structured import ORDER_SCHEMA, constrained_replies

info = xgr.TokenizerInfo.from_huggingface(
    tokenizer, vocab_size=base.config.vocab_size
)
grammar = xgr.GrammarCompiler(info).compile_json_schema(
    json.dumps(ORDER_SCHEMA), any_whitespace=False
)
replies = constrained_replies(base, tokenizer, chats, grammar, MAX_NEW_TOKENS)
constraint = structured_scores(replies, test)
print("constraint only:", constraint)
print("a reply:", replies[0])
# --8<-- [end:constraint]

# --8<-- [start:train]
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoConfig, ProgressCallback
from trl import SFTConfig, SFTTrainer

from ftkit.chat import reply_loss_rows

MAX_STEPS = 600  # Colab GPU: about 1-2 epochs of your data set
# Colab GPU: dict(fp16=True)
RUNTIME = dict(bf16=False, gradient_checkpointing=False, use_cpu=True)
TIED = AutoConfig.from_pretrained(MODEL_ID).tie_word_embeddings
LORA = LoraConfig(  # the SFT for reasoning chapter's settings
    r=16,
    lora_alpha=32,
    target_modules="all-linear",
    task_type="CAUSAL_LM",
    # on a real model, drop this: it already writes JSON's tokens
    modules_to_save=["embed_tokens", "lm_head"],
    ensure_weight_tying=TIED,
)

torch.manual_seed(0)
# loss on the replies only, whatever the template (see SFT data)
rows, reply_loss = reply_loss_rows(
    tokenizer, [{"messages": row["messages"]} for row in train]
)
config = SFTConfig(
    output_dir="sft-structured",
    max_steps=MAX_STEPS,
    per_device_train_batch_size=16,
    learning_rate=3e-3,
    lr_scheduler_type="linear",
    logging_steps=100,
    save_strategy="no",
    report_to="none",
    seed=0,
    **reply_loss,
    **RUNTIME,
)
trainer = SFTTrainer(
    model=AutoModelForCausalLM.from_pretrained(MODEL_ID),
    args=config,
    train_dataset=Dataset.from_list(rows),
    processing_class=tokenizer,
    peft_config=LORA,
)
trainer.remove_callback(ProgressCallback)  # the page prints its own log
trainer.train()
for log in trainer.state.log_history:
    if "loss" in log:
        print(f"step {log['step']:>3}  loss {log['loss']:.3f}")

tuned = trainer.model
replies = generate_replies(tuned, tokenizer, chats, MAX_NEW_TOKENS)
fine_tuning = structured_scores(replies, test)
print("fine-tuning only:", fine_tuning)
# --8<-- [end:train]

# --8<-- [start:both]
from collections import Counter

from ftkit.structured import parse_json

replies = constrained_replies(tuned, tokenizer, chats, grammar, MAX_NEW_TOKENS)
both = structured_scores(replies, test)

print(f"{'':<17}{'parsed':>7}{'valid':>7}{'fields':>8}{'exact':>7}")
for name, s in [
    ("prompting only", prompting),
    ("constraint only", constraint),
    ("fine-tuning only", fine_tuning),
    ("both", both),
]:
    print(
        f"{name:<17}{s.parsed:>7.0%}{s.valid:>7.0%}{s.fields:>8.0%}"
        f"{s.exact:>7.0%}"
    )
for name, s in [("fine-tuning only", fine_tuning), ("both", both)]:
    per_field = ", ".join(f"{k} {v:.0%}" for k, v in s.per_field.items())
    print(f"{name}, per field: {per_field}")

# where the size goes wrong: left out, added, or another size
KINDS = ("another size", "added", "left out")
kinds = Counter()
for reply, row in zip(fine_tuning.replies, test, strict=True):
    ok, value = parse_json(reply)
    want = row["order"].get("size")
    got = value.get("size") if isinstance(value, dict) else want
    if got == want:  # right, or a reply that did not parse
        continue
    if got is None:
        kinds["left out"] += 1
    elif want is None:
        kinds["added"] += 1
    else:
        kinds["another size"] += 1
shares = (f"{k} {kinds[k] / len(test):.0%}" for k in KINDS)
print(f"size errors, of {len(test)} replies:", ", ".join(shares))
# --8<-- [end:both]

# --8<-- [start:forced]
from ftkit.structured import forced_share

print(f"characters the schema forced: {forced_share(grammar, replies):.0%}")
# --8<-- [end:forced]

# --8<-- [start:new_names]
from collections import Counter

from ftkit.structured import NAMES, parse_json

replies = generate_replies(
    tuned,
    tokenizer,
    [row["messages"][:-1] for row in new_names],
    MAX_NEW_TOKENS,
)
scores = structured_scores(replies, new_names)
print("new customers:", scores)
print(", ".join(f"{k} {v:.0%}" for k, v in scores.per_field.items()))

# which name did it write: a training customer's, the request's, or other?
KINDS = ("another size", "added", "left out")
kinds = Counter()
for reply, row in zip(replies, new_names, strict=True):
    ok, value = parse_json(reply)
    name = value.get("name") if isinstance(value, dict) else None
    if name in NAMES:
        kinds["training names"] += 1
    elif name == row["order"]["name"]:
        kinds["the request's name"] += 1
    else:
        kinds["other or none"] += 1
shares = [f"{n / len(replies):.0%} {k}" for k, n in kinds.most_common()]
print("names written:", ", ".join(shares))
# --8<-- [end:new_names]
