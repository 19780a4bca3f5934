"""The BERT chapter's exercises: build a pair input by hand, and weigh the
embeddings.

Run alone: python snippets/bert-t5/index/ex04_exercises.py
"""

# --8<-- [start:pair]
from transformers import AutoTokenizer

from ftkit.encoders import minilm_path

# Colab GPU: "google-bert/bert-base-uncased"
MODEL = minilm_path()
tokenizer = AutoTokenizer.from_pretrained(MODEL)
pair = tokenizer("Who wrote the letter?", "Ana wrote it in May.")
print(tokenizer.convert_ids_to_tokens(pair["input_ids"]))
print("tokens:", len(pair["input_ids"]))
print("in segment 1:", sum(pair["token_type_ids"]))
# --8<-- [end:pair]

# --8<-- [start:embedding_share]
from transformers import AutoModel

encoder = AutoModel.from_pretrained(MODEL)
embeddings = sum(p.numel() for p in encoder.embeddings.parameters())
total = sum(p.numel() for p in encoder.parameters())
share = 100 * embeddings / total
print(f"embeddings: {embeddings:,} of {total:,} ({share:.0f}%)")
# --8<-- [end:embedding_share]
