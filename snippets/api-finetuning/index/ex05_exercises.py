"""The API fine-tuning chapter's exercises: a job's bill by hand, and one
chat in both providers' formats.

Run alone: python snippets/api-finetuning/index/ex05_exercises.py
"""

# --8<-- [start:bill]
from ftkit.providers import OPENAI_TOKENS_PER_MESSAGE, estimate_cost

EXAMPLES, EPOCHS = 10_000, 4
PRICE = 5.00  # USD per 1M training tokens, gpt-4.1-mini (read 2026-11-30)
# each example: a 300-token question and a 500-token answer; with
# str.split as the "tokenizer", a text of n words is n tokens
row = {
    "messages": [
        {"role": "user", "content": "word " * 300},
        {"role": "assistant", "content": "word " * 500},
    ]
}
per_example = 300 + 500 + 2 * OPENAI_TOKENS_PER_MESSAGE + 3
print(f"by hand: {per_example} tokens an example")
print(f"by hand: ${EXAMPLES * per_example * EPOCHS * PRICE / 1e6:.2f}")
cost = estimate_cost(
    [row] * EXAMPLES, str.split, EPOCHS, PRICE, OPENAI_TOKENS_PER_MESSAGE
)
print(f"ftkit:   {cost.billed_tokens:,} training tokens, ${cost.usd:.2f}")
# --8<-- [end:bill]

# --8<-- [start:formats]
from ftkit.providers import to_gemini, to_openai_chat

chat = {
    "messages": [
        {"role": "user", "content": "Start at 4, add 4."},
        {"role": "assistant", "content": "8"},
        {"role": "user", "content": "Now take 3."},
        {"role": "assistant", "content": "5"},
        {"role": "user", "content": "Now add 10."},
        {"role": "assistant", "content": "15"},
    ]
}
for train_on in ("all", "last"):
    rows = to_openai_chat([chat], train_on=train_on)
    weights = [m.get("weight") for m in rows[0]["messages"]]
    print(f"OpenAI {train_on}:", weights)
gemini = to_gemini([chat])[0]
print("Gemini keys:", list(gemini))
print("Gemini turns:", [turn["role"] for turn in gemini["contents"]])
unanswered = {"messages": chat["messages"][:-1]}  # ends on the user's turn
for convert in (to_openai_chat, to_gemini):
    try:
        convert([unanswered])
    except ValueError as error:
        print(error)
# --8<-- [end:formats]
