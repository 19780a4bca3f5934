"""Fine-tuning through an API: our rows in OpenAI's and Gemini's file formats.

Run alone: python snippets/api-finetuning/index/ex01_formats.py
"""

# --8<-- [start:chat]
import json

from ftkit.providers import to_gemini, to_openai_chat
from ftkit.tasks import reasoning_task


def show(name, row):
    """One JSONL row, a top-level field (or an item of a list field) a line."""
    print(name)
    for key, value in row.items():
        items = value if isinstance(value, list) else [value]
        print(f"  {key}:", end="")
        print("".join(f"\n    {json.dumps(item)}" for item in items))


train, test = reasoning_task(n_train=1000, n_test=20, steps=3, seed=0)
show("our row", train[0])
show("OpenAI chat row", to_openai_chat(train[:1])[0])
show("Gemini row", to_gemini(train[:1])[0])
# --8<-- [end:chat]

# --8<-- [start:weights]
chat = {
    "messages": [
        {"role": "system", "content": "Show your working."},
        *train[0]["messages"],
        {"role": "user", "content": "Now start at 2, add 3."},
        {"role": "assistant", "content": "<think>2 + 3 = 5.</think>5"},
    ]
}
show("OpenAI, last reply only", to_openai_chat([chat], train_on="last")[0])
show("Gemini", to_gemini([chat])[0])
# --8<-- [end:weights]

# --8<-- [start:preference]
from ftkit.providers import to_gemini_preference, to_openai_preference
from ftkit.tasks import preference_pairs

pairs = preference_pairs(train, seed=0)
ours = {key: pairs[0][key] for key in ("prompt", "chosen", "rejected")}
show("our pair", ours)
show("OpenAI preference row", to_openai_preference(pairs[:1])[0])
show("Gemini preference row", to_gemini_preference(pairs[:1])[0])
# --8<-- [end:preference]

# --8<-- [start:refused]
ends_with_user = {"messages": train[0]["messages"][:1]}
twice_the_same = {**pairs[0], "rejected": pairs[0]["chosen"]}
for build, rows in [
    (to_openai_chat, [train[1], ends_with_user]),
    (to_gemini, [{"messages": [{"role": "bot", "content": "Hi."}]}]),
    (to_openai_preference, [pairs[1], pairs[2], twice_the_same]),
]:
    try:
        build(rows)
    except ValueError as error:
        print(error)
# --8<-- [end:refused]
