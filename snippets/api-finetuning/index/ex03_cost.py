"""Fine-tuning through an API: what a job costs, from the file's tokens.

Run alone: python snippets/api-finetuning/index/ex03_cost.py
"""

# --8<-- [start:cost]
from transformers import AutoTokenizer

from ftkit.providers import (
    OPENAI_TOKENS_PER_MESSAGE,
    estimate_cost,
    to_openai_chat,
)
from ftkit.tasks import reasoning_task
from ftkit.tiny import tiny_llama

# OpenAI picks the epochs from the data size when n_epochs is "auto"; 3
# here, to make the bill explicit
EPOCHS = 3
# Training price in USD per 1M tokens, OpenAI's pricing page (standard
# tier), read 2026-11-30; change it to the page's value on the day you run.
PRICES = {
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4o-2024-08-06": 25.00,
}
tokenizer = AutoTokenizer.from_pretrained(tiny_llama())


def encode(text):  # Colab: tiktoken.get_encoding("o200k_base").encode
    return tokenizer.encode(text, add_special_tokens=False)


train, test = reasoning_task(n_train=1000, n_test=20, steps=3, seed=0)
rows = to_openai_chat(train)
per_message = OPENAI_TOKENS_PER_MESSAGE  # 3 a message, 3 more for the reply
costs = {
    model: estimate_cost(rows, encode, EPOCHS, price, per_message)
    for model, price in PRICES.items()
}
first = next(iter(costs.values()))
print(f"{first.examples:,} examples, {first.tokens:,} tokens by our count")
print(f"x {EPOCHS} epochs = {first.billed_tokens:,} training tokens")
for model, cost in costs.items():
    print(f"{model:<24} ${cost.price_per_million:5.2f}/1M  ${cost.usd:.2f}")
# --8<-- [end:cost]
