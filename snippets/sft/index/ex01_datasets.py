"""The data set shapes SFTTrainer accepts, the tokens that carry loss,
packing, validation.

Run alone: python snippets/sft/index/ex01_datasets.py
"""

# --8<-- [start:shapes]
import json

from datasets import Dataset, load_dataset

ROWS = {
    "messages": {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What does LoRA train?"},
            {"role": "assistant", "content": "Two small low-rank matrices."},
        ]
    },
    "prompt-completion": {
        "prompt": "What does quantization store?",
        "completion": " Each weight in fewer bits.",
    },
    "conversational prompt-completion": {
        "prompt": [{"role": "user", "content": "What are tokens?"}],
        "completion": [{"role": "assistant", "content": "Pieces of words."}],
    },
    "text": {"text": "Fine-tuning adapts a pretrained model to a new task."},
}
for shape, row in ROWS.items():
    print(f"{shape}:\n  {json.dumps(row)[:96]}...")

# The same rows on disk: JSONL (one JSON object per line) and Parquet
# (columnar, typed).
chats = Dataset.from_list([ROWS["messages"]] * 3)
chats.to_json("chats.jsonl")  # lines=True is the default
chats.to_parquet("chats.parquet")
for kind, file in [("json", "chats.jsonl"), ("parquet", "chats.parquet")]:
    loaded = load_dataset(kind, data_files=file, split="train")
    print(f"{file:<14} {loaded.num_rows} rows, columns {loaded.column_names}")
# --8<-- [end:shapes]

# --8<-- [start:template]
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)

print(
    tokenizer.apply_chat_template(ROWS["messages"]["messages"], tokenize=False)
)
print(
    "--- with add_generation_prompt=True, "
    "the prompt a model completes at inference:"
)
question = ROWS["messages"]["messages"][:2]
print(
    tokenizer.apply_chat_template(
        question, tokenize=False, add_generation_prompt=True
    )
)
template = tokenizer.chat_template
if "{% generation %}" in template:
    start = template.index("{% generation %}")
    end = template.index("{% endgeneration %}") + len("{% endgeneration %}")
    print("--- the part of the template that marks the assistant's text:")
    print(template[start:end])
else:  # Llama 3.2's, for one: see below
    print("--- this template has no {% generation %} markers")
# --8<-- [end:template]

# --8<-- [start:loss]
from trl import SFTConfig, SFTTrainer

from ftkit.chat import show_loss_tokens

model = AutoModelForCausalLM.from_pretrained(MODEL_ID)
# CPU settings; the text under this block says what a GPU uses instead
RUNTIME = dict(
    bf16=False, gradient_checkpointing=False, use_cpu=True, report_to="none"
)


def prepared(rows, **options):
    """The rows as SFTTrainer tokenizes them (input_ids and labels), without
    training."""
    config = SFTConfig(output_dir="out", max_steps=0, **RUNTIME, **options)
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    return trainer.train_dataset


for title, rows, options in [
    ("messages, loss on every token", [ROWS["messages"]], {}),
    (
        "messages, assistant_only_loss=True",
        [ROWS["messages"]],
        {"assistant_only_loss": True},
    ),
    (
        "prompt-completion (loss on the completion by default)",
        [ROWS["prompt-completion"]],
        {},
    ),
    ("text (loss on everything)", [ROWS["text"]], {}),
]:
    try:
        example = prepared(rows, **options)[0]
    except ValueError as error:  # no markers, and TRL cannot patch them in
        print(f"{title}:\n  refused: {str(error)[:70]}...")
        continue
    shown = show_loss_tokens(
        tokenizer, example["input_ids"], example["labels"]
    )
    print(f"{title}:\n  {shown!r}")
# --8<-- [end:loss]

# --8<-- [start:packing]
sentences = [
    {"text": t}
    for t in [
        "LoRA trains two small matrices.",
        "Quantization stores weights in fewer bits.",
        "Tokens are pieces of words.",
        "An agent calls tools in a loop.",
        "The learning rate sets the step size.",
        "Pretraining teaches next-token prediction.",
    ]
]
plain = prepared(sentences, max_length=64)
packed = prepared(sentences, max_length=64, packing=True)
print(
    "without packing:",
    plain.num_rows,
    "rows of",
    [len(r) for r in plain["input_ids"]],
    "tokens",
)
print(
    "with packing:   ",
    packed.num_rows,
    "rows of",
    [len(r) for r in packed["input_ids"]],
    "tokens",
)
print(
    "sequences inside each packed row:",
    [list(n) for n in packed["seq_lengths"]],
)
# --8<-- [end:packing]

# --8<-- [start:packing_mask]
import torch

row = packed[0]
ids = torch.tensor([row["input_ids"]], device=model.device)
restarting = torch.cat([torch.arange(n) for n in row["seq_lengths"]])[None].to(
    model.device
)
ends = torch.tensor(row["seq_lengths"]).cumsum(0).tolist()
model.eval()
with torch.no_grad():  # use_cache=False, as SFTTrainer sets it while training
    packed_logits = model(
        ids, position_ids=restarting, use_cache=False
    ).logits[0]
    # positions 0, 1, 2, ... throughout
    unmarked_logits = model(ids, use_cache=False).logits[0]
    for i, (start, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
        alone = model(ids[:, start:end], use_cache=False).logits[0]
        with_positions = torch.allclose(
            packed_logits[start:end], alone, atol=1e-4
        )
        without = torch.allclose(unmarked_logits[start:end], alone, atol=1e-4)
        print(
            f"example {i}: as if alone? "
            f"restarting positions: {with_positions}, without: {without}"
        )
print("attention kernel:", model.config._attn_implementation)
# --8<-- [end:packing_mask]

# --8<-- [start:schema]
from ftkit.validation import JSON_SCHEMA

shapes = {key: value for key, value in JSON_SCHEMA.items() if key != "$defs"}
# the three row shapes; their parts are defined once:
print(json.dumps(shapes, indent=2))
for name, definition in JSON_SCHEMA["$defs"].items():
    text = json.dumps(definition)
    print(f"$defs/{name}: {text if len(text) < 80 else text[:76] + ' ...'}")
# --8<-- [end:schema]

# --8<-- [start:validate]
from pathlib import Path

from ftkit.validation import validate_file

lines = [
    json.dumps(ROWS["messages"]),
    # unknown role
    json.dumps({"messages": [{"role": "human", "content": "Hi"}]}),
    '{"messages": [{"role": "user", "content": "Hi"}',  # cut off: invalid JSON
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": "Hi?"},
                {"role": "assistant", "content": ""},
            ]
        }
    ),
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": "Hi?"},
                {"role": "user", "content": "Hello?"},
                {"role": "assistant", "content": "Hello."},
            ]
        }
    ),
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": "Tell me more. " * 30},
                {"role": "assistant", "content": "No."},
            ]
        }
    ),
    json.dumps(ROWS["messages"]),
]
Path("train.jsonl").write_text("\n".join(lines) + "\n")

report = validate_file("train.jsonl", tokenizer=tokenizer, max_length=128)
print(report.summary())
for error in report.errors:
    print(" ", error)
print("kept lines:", report.lines)
# --8<-- [end:validate]

# --8<-- [start:messy]
from ftkit.validation import DataError

# arguments: an object, not a string
call = {"name": "add", "arguments": {"a": 2, "b": 2}}
tool_chat = [  # tool calling, as TRL and transformers' chat templates take it
    {"role": "user", "content": "What is 2 + 2?"},
    {
        "role": "assistant",
        "tool_calls": [{"type": "function", "function": call}],
    },
    {"role": "tool", "name": "add", "content": "4"},
    {"role": "assistant", "content": "2 + 2 = 4."},
]
# content as a list of parts, as vision-language data sets write it
parts_chat = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "What are tokens?"}],
    },
    {
        "role": "assistant",
        "content": [{"type": "text", "text": "Pieces of words."}],
    },
]
as_string = {
    "type": "function",
    "function": {**call, "arguments": '{"a": 2, "b": 2}'},
}
lines = [
    # a byte-order mark (Windows tools)
    b"\xef\xbb\xbf" + json.dumps(ROWS["messages"]).encode(),
    '{"text": "café"}'.encode("latin-1"),  # saved as Latin-1 by an old editor
    b"[" * 100_000 + b"]" * 100_000,  # nested 100,000 deep
    json.dumps({"messages": tool_chat}).encode(),
    json.dumps({"messages": parts_chat}).encode(),
    json.dumps(
        {
            "messages": [
                tool_chat[0],
                {"role": "assistant", "tool_calls": [as_string]},
            ]
        }
    ).encode(),
]
Path("messy.jsonl").write_bytes(b"\n".join(lines) + b"\n")
report = validate_file("messy.jsonl")
print(report.summary())
for error in report.errors:
    print(" ", error)
print("kept lines:", report.lines)

Path("empty.jsonl").write_text("\n\n")
Path("table.parquet").write_text("not Parquet at all")
for name in ["empty.jsonl", "table.parquet", "missing.jsonl"]:
    try:
        validate_file(name)
    except DataError as err:  # FileNotFoundError too, for the missing file
        # the cause follows
        print(f"{type(err).__name__}: {str(err).split(' (')[0]}")
# --8<-- [end:messy]
