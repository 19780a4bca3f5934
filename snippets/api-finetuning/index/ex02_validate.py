"""Fine-tuning through an API: every bad line of a training file, named by
line and field, before the upload; every good line kept.

Run alone: python snippets/api-finetuning/index/ex02_validate.py
"""

# --8<-- [start:openai]
import json
import tempfile
from pathlib import Path

from ftkit.providers import to_openai_chat, validate_openai
from ftkit.tasks import reasoning_task

train, test = reasoning_task(n_train=1000, n_test=20, steps=3, seed=0)
good = [json.dumps(row) for row in to_openai_chat(train[:12])]
user, reply = train[12]["messages"]
bad = [
    '{"messages": [{"role": "user", "content": "Start at 2',  # cut short
    json.dumps({"messages": [{**user, "role": "human"}, reply]}),
    json.dumps({"messages": [user, {**reply, "weight": 2}]}),
    json.dumps({"messages": [user]}),
    json.dumps({"messages": [user, {**reply, "content": " "}]}),
    json.dumps({"prompt": user["content"], "completion": reply["content"]}),
]
picture = {"type": "image_url", "image_url": {"url": "https://a.b/c.png"}}
odd = [  # valid for OpenAI, so kept, with a warning
    json.dumps({"messages": [user, user, reply]}),
    json.dumps({"messages": [user, {**reply, "weight": 0}]}),
    json.dumps({"messages": [{**user, "content": [picture]}, reply]}),
]
folder = Path(tempfile.mkdtemp())
path = folder / "train.jsonl"
lines = good[:4] + bad[:3] + good[4:8] + odd + bad[3:] + good[8:]
path.write_text("\n".join(lines) + "\n", encoding="utf-8")

result = validate_openai(path)
for error in result.errors:
    print(error)
for warning in result.warnings:
    print("warning:", warning)
print(f"{result.total} lines, {len(result.rows)} rows kept: {result.lines}")
strict = validate_openai(path, strict=True)  # our rules as errors too
print(f"with strict=True: {len(strict.rows)} rows kept")
# --8<-- [end:openai]

# --8<-- [start:gemini]
from ftkit.providers import to_gemini, validate_gemini, write_jsonl

rows = to_gemini(train[:6])
asked, answered = rows[0]["contents"]
bad = [
    {"contents": [asked, {**answered, "role": "assistant"}]},
    {"contents": [asked, {"role": "model", "parts": []}]},
    {"contents": [answered, asked]},  # valid for Google: kept, with warnings
    {"contents": [asked, {"role": "model", "text": "2"}]},
    {"systemInstruction": "Be brief.", "contents": [asked, answered]},
]
path = write_jsonl(folder / "train-gemini.jsonl", rows[:3] + bad + rows[3:])
result = validate_gemini(path)
for error in result.errors:
    print(error)
for warning in result.warnings:
    print("warning:", warning)
print(f"{result.total} lines, {len(result.rows)} rows kept: {result.lines}")
# --8<-- [end:gemini]

# --8<-- [start:pairs]
from ftkit.providers import to_gemini_preference, to_openai_preference
from ftkit.tasks import preference_pairs

pairs = preference_pairs(train[:12], seed=0)
rows = to_openai_preference(pairs)
prompt = rows[1]["input"]["messages"]
rows[1] = {**rows[1], "input": {"messages": prompt + prompt}}
rows[2] = {**rows[2], "non_preferred_output": rows[2]["preferred_output"]}
rows[3] = {k: v for k, v in rows[3].items() if k != "preferred_output"}
path = write_jsonl(folder / "dpo.jsonl", rows)
result = validate_openai(path, "preference", strict=True)
for error in result.errors:
    print(error)
print(f"OpenAI: {len(result.rows)} of {result.total} pairs kept")

rows = to_gemini_preference(pairs)
first, second = rows[0]["completions"]
rows[0] = {**rows[0], "completions": [first, {**second, "score": 1}]}
rows[1] = {**rows[1], "completions": [first]}
path = write_jsonl(folder / "preference-gemini.jsonl", rows)
result = validate_gemini(path, "preference")
for error in result.errors:
    print(error)
print(f"Gemini: {len(result.rows)} of {result.total} pairs kept")
# --8<-- [end:pairs]

# --8<-- [start:limits]
from transformers import AutoTokenizer

from ftkit.providers import example_tokens
from ftkit.tiny import tiny_llama

tokenizer = AutoTokenizer.from_pretrained(tiny_llama())


def encode(text):
    """Our tiny tokenizer's ids for ``text``: an estimate of the provider's
    count, not the count (OpenAI's GPT-4o and GPT-4.1 use o200k_base)."""
    return tokenizer.encode(text, add_special_tokens=False)


rows = to_openai_chat(train[:12])
counts = sorted(example_tokens(row, encode) for row in rows)
print(f"tokens per example: {counts[0]} to {counts[-1]}")
path = write_jsonl(folder / "small.jsonl", rows[:8])
result = validate_openai(path, encode=encode, max_tokens=counts[4])
for error in result.errors:
    print(error)
print(f"{len(result.rows)} of {result.total} rows kept")
# --8<-- [end:limits]
