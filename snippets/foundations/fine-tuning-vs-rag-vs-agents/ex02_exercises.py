"""The fine-tuning, RAG and agents chapter's exercises: what word overlap
ranks, and what a longer context costs.

Run alone:
python snippets/foundations/fine-tuning-vs-rag-vs-agents/ex02_exercises.py
"""

# --8<-- [start:scores]
import re

documents = [
    "Refunds: customers may return a product within 30 days of delivery.",
    "Shipping: orders leave the warehouse within two working days.",
    "Warranty: the battery is covered for one year, the case for two.",
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


question = "Is the battery covered for two years?"
for document in documents:
    shared = sorted(words(document) & words(question))
    print(f"{len(shared)} shared {shared}: {document[:20]}...")
# --8<-- [end:scores]

# --8<-- [start:everything]
from transformers import AutoTokenizer

from ftkit.tiny import tiny_llama

MODEL_ID = tiny_llama()  # Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
context = "\n".join(documents)  # no retrieval: every document, every time
messages = [
    {
        "role": "system",
        "content": f"Answer from this context only:\n{context}",
    },
    {
        "role": "user",
        "content": "How many days do I have to return a product?",
    },
]
prompt = tokenizer.apply_chat_template(
    messages, add_generation_prompt=True, tokenize=False
)
print("with every document:", len(tokenizer(prompt)["input_ids"]), "tokens")
# --8<-- [end:everything]
