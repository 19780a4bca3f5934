"""The Hugging Face stack chapter's exercises: a smaller vocabulary, and a
batched map that returns more rows than it receives.

Run alone: python snippets/hf-stack/index/ex05_exercises.py
"""

# --8<-- [start:vocab]
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ftkit.tiny import corpus

VOCAB_SIZE = 300  # the chapter's tokenizer has 400

small = Tokenizer(models.BPE())
small.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
small.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=VOCAB_SIZE,
    special_tokens=["<pad>", "<bos>", "<eos>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
small.train_from_iterator(corpus(), trainer=trainer)
# 3 special tokens and 256 bytes come first; the rest are merges
print("merges:", small.get_vocab_size() - 3 - 256)
encoding = small.encode("Fine-tuning a tokenizer on our text")
print(len(encoding.ids), "tokens:", encoding.tokens)
# --8<-- [end:vocab]

# --8<-- [start:batches]
import pyarrow as pa
from datasets import Dataset, disable_progress_bars

disable_progress_bars()
CHUNK = 4  # words a chunk
ds = Dataset.from_list([{"text": " ".join(["w"] * n)} for n in range(1, 11)])
calls = []


def chunk(batch):
    calls.append(len(batch["text"]))
    pieces = []
    for text in batch["text"]:
        words = text.split()
        pieces += [
            " ".join(words[i : i + CHUNK]) for i in range(0, len(words), CHUNK)
        ]
    return {"chunk": pieces}


chunks = ds.map(chunk, batched=True, batch_size=4, remove_columns=["text"])
print(f"{len(calls)} calls, batch sizes {calls}")
print(f"{ds.num_rows} rows in, {chunks.num_rows} chunks out")
print("words a chunk:", [len(c.split()) for c in chunks["chunk"]])
try:
    ds.map(chunk, batched=True, batch_size=4)  # keeps the "text" column
except pa.ArrowInvalid as error:
    print("keeping text:", error)
# --8<-- [end:batches]
