"""RAG changes the prompt, not the weights: retrieve a passage and put it in
the chat.

Run alone:
python snippets/foundations/fine-tuning-vs-rag-vs-agents/ex01_rag_prompt.py
"""

# --8<-- [start:rag]
import re

from transformers import AutoTokenizer

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)

documents = [
    "Refunds: customers may return a product within 30 days of delivery.",
    "Shipping: orders leave the warehouse within two working days.",
    "Warranty: the battery is covered for one year, the case for two.",
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def retrieve(question: str, k: int = 1) -> list[str]:
    """Rank documents by shared words: a stand-in for an embedding search."""
    return sorted(documents, key=lambda d: -len(words(d) & words(question)))[
        :k
    ]


question = "How many days do I have to return a product?"
context = "\n".join(retrieve(question))
messages = [
    {
        "role": "system",
        "content": f"Answer from this context only:\n{context}",
    },
    {"role": "user", "content": question},
]
prompt = tokenizer.apply_chat_template(
    messages, add_generation_prompt=True, tokenize=False
)
print(prompt)
print("prompt tokens:", len(tokenizer(prompt)["input_ids"]))
# --8<-- [end:rag]
