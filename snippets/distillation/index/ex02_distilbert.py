"""DistilBERT's recipe on the BERT chapter's sentiment classifier: a student
with every other layer of the teacher, trained on the teacher's soft targets
and the labels, against the same student trained on the labels alone.

Run alone: python snippets/distillation/index/ex02_distilbert.py
"""

# --8<-- [start:teacher]
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from ftkit.encoders import (
    classification_scores,
    sentiment_classifier,
    sentiment_data,
)

# the BERT chapter's fine-tuned all-MiniLM-L6-v2, built once and cached
# Colab GPU: sentiment_classifier("google-bert/bert-base-uncased")
TEACHER_ID = sentiment_classifier()
tokenizer = AutoTokenizer.from_pretrained(TEACHER_ID)
teacher = AutoModelForSequenceClassification.from_pretrained(TEACHER_ID)
train, test = sentiment_data()  # the split the teacher was trained on


def encode(rows):
    texts = [row["text"] for row in rows]
    return tokenizer(texts, padding=True, return_tensors="pt")


@torch.no_grad()
def logits_of(model, rows):
    model.eval()
    return model(**encode(rows)).logits  # (len(rows), 2)


def test_scores(model):
    """Accuracy and F1 of the positive class, in %, on the test sentences."""
    predicted = logits_of(model, test).argmax(-1).tolist()
    scores = classification_scores(predicted, [row["label"] for row in test])
    return scores["accuracy"], scores["f1"]


def size(model):
    return sum(p.numel() for p in model.parameters())


accuracy, f1 = test_scores(teacher)
print(
    f"teacher: {teacher.config.num_hidden_layers} layers, "
    f"{size(teacher):,} parameters"
)
print(f"  {len(test)} test sentences: accuracy {accuracy:.1f}%, F1 {f1:.1f}%")
# --8<-- [end:teacher]

# --8<-- [start:student]
from ftkit.distill import layer_student

STUDENT_LAYERS = [0, 2, 4]  # Colab GPU: [0, 2, 4, 7, 9, 11], as DistilBERT
student = layer_student(teacher, STUDENT_LAYERS)
before = test_scores(student)
print(
    f"student: layers {STUDENT_LAYERS} of the teacher, "
    f"{size(student):,} parameters ({size(student) / size(teacher):.0%})"
)
print(f"  before training: accuracy {before[0]:.1f}%, F1 {before[1]:.1f}%")
# --8<-- [end:student]

# --8<-- [start:soft_targets]
TEMPERATURE = 2.0

teacher_logits = logits_of(teacher, train)  # the transfer set: train
train_labels = torch.tensor([row["label"] for row in train])
print("label  p(positive) at T=1   T=2   sentence")
for i in (0, 1, 2):
    z = teacher_logits[i]
    p1, p2 = z.softmax(-1)[1], (z / TEMPERATURE).softmax(-1)[1]
    print(f"{train_labels[i]:5}  {p1:16.2f}  {p2:5.2f}   {train[i]['text']}")
sure = teacher_logits.softmax(-1).max(-1).values.mean()
print(f"mean p(the teacher's class) on the {len(train)} sentences: {sure:.2f}")
# --8<-- [end:soft_targets]

# --8<-- [start:train]
from ftkit.losses import distillation_loss
from ftkit.train import train_steps

# the teacher's own steps and batch (the BERT chapter's recipe)
STEPS = 40  # Colab GPU: 2-3 epochs of SST-2
BATCH = 16  # Colab GPU: 32
LEARNING_RATE = 1e-4  # Colab GPU: 5e-5
ALPHA = 0.5  # the soft term's weight

inputs = encode(train)  # padded on the right, to the longest sentence


def train_student(alpha):
    """The same student, batches and steps for every alpha; alpha=0 is
    plain cross-entropy with the labels."""
    torch.manual_seed(0)
    model = layer_student(teacher, STUDENT_LAYERS)
    # the embeddings are half the weights: frozen, a step costs 60% less
    model.base_model.embeddings.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATE)
    rows = torch.Generator().manual_seed(0)  # same batches for every run
    model.train()

    def loss():
        pick = torch.randint(len(train), (BATCH,), generator=rows)
        width = int(inputs["attention_mask"][pick].sum(1).max())
        batch = {name: t[pick, :width] for name, t in inputs.items()}
        return distillation_loss(
            model(**batch).logits,
            teacher_logits[pick],
            train_labels[pick],
            TEMPERATURE,
            alpha,
        ).loss

    losses = train_steps(loss, optimizer, STEPS)
    print(f"alpha={alpha}: loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    return model.eval()


labels_only = train_student(alpha=0.0)
distilled = train_student(alpha=ALPHA)
# --8<-- [end:train]

# --8<-- [start:compare]
import os


def disk_mb(folder):
    return os.path.getsize(f"{folder}/model.safetensors") / 1e6


distilled.save_pretrained("distilled-student")  # as model.safetensors
models = {  # name: (model, its folder)
    "teacher": (teacher, TEACHER_ID),
    "student, before training": (student, "distilled-student"),
    "student, labels only": (labels_only, "distilled-student"),
    "student, distilled": (distilled, "distilled-student"),
}
print(f"{'':25} layers  parameters    MB  accuracy     F1")
for name, (model, folder) in models.items():
    accuracy, f1 = test_scores(model)  # the students: one size on disk
    print(
        f"{name:25} {model.config.num_hidden_layers:6} {size(model):11,} "
        f"{disk_mb(folder):5.1f} {accuracy:8.1f}% {f1:5.1f}%"
    )
# --8<-- [end:compare]

# --8<-- [start:latency]
import statistics
import time


@torch.no_grad()
def latencies(models, runs=30):
    """Median seconds to classify one sentence, the models taking turns, on
    as many CPU threads as torch uses here (torch.get_num_threads())."""
    one = encode(test[:1])
    times = {name: [] for name in models}
    for model in models.values():
        model(**one)  # warm-up
    for _ in range(runs):  # interleaved: a busy moment slows all alike
        for name, model in models.items():
            start = time.perf_counter()
            model(**one)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


seconds = latencies({"teacher": teacher, "student": distilled})
ratio = seconds["student"] / seconds["teacher"]
print(f"one sentence: student / teacher time = {ratio:.2f}")
# --8<-- [end:latency]
