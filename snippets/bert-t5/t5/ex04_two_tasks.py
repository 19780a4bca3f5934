"""Two tasks in one T5, picked by a prefix: headlines ("summarize: ") and
Toylang ("translate English to Toylang: "), fine-tuned with Seq2SeqTrainer
and scored on held-out inputs before and after.

Run alone: python snippets/bert-t5/t5/ex04_two_tasks.py
"""

# --8<-- [start:data]
import textwrap

from ftkit.text2text import summarization_task, translation_task

summaries = summarization_task(n_train=1500, n_test=100)
translations = translation_task(n_train=1500, n_test=100)
for task in (summaries, translations):
    print(textwrap.fill(task["train"][0]["input"], 72))
    print("  ->", task["train"][0]["target"])
    print(
        f"  {len(task['train'])} training rows, {len(task['test'])} held out"
    )
seen = {
    row["target"]
    for task in (summaries, translations)
    for row in task["train"]
}
repeats = sum(
    row["target"] in seen
    for task in (summaries, translations)
    for row in task["test"]
)
print("held-out targets among the training targets:", repeats)
# --8<-- [end:data]

# --8<-- [start:tokenize]
import random

from datasets import Dataset
from transformers import AutoTokenizer

from ftkit.tiny_t5 import tiny_t5

# Colab GPU: "google/flan-t5-base"
MODEL_ID = tiny_t5(pretrain_steps=60)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)


def encode(rows):
    # text_target: the labels, tokenized as targets (with </s>)
    return tokenizer(rows["input"], text_target=rows["target"])


rows = summaries["train"] + translations["train"]
random.Random(0).shuffle(rows)  # one model, both tasks, mixed
train = Dataset.from_list(rows).map(
    encode, batched=True, remove_columns=["input", "target"]
)
held_out = {
    name: Dataset.from_list(task["test"]).map(
        encode, batched=True, remove_columns=["input", "target"]
    )
    for name, task in [("summarize", summaries), ("translate", translations)]
}
example = train[0]
print(sorted(example), f"{len(train)} rows")
print(tokenizer.convert_ids_to_tokens(example["labels"]))
# --8<-- [end:tokenize]

# --8<-- [start:train]
from rouge_score import rouge_scorer
from transformers import (
    AutoModelForSeq2SeqLM,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)
from transformers.trainer_callback import PrinterCallback

from ftkit.evaluate import exact_match

STEPS = 240  # Colab GPU: 1 or 2 epochs (num_train_epochs) of a real set
BATCH = 32  # Colab GPU: 32 for flan-t5-base at these lengths
LEARNING_RATE = 5e-3  # Colab GPU: 3e-4 (5e-3 suits a 64-wide model)
# Colab GPU: dict(bf16=True)
RUNTIME = dict(use_cpu=True, bf16=False)

model = AutoModelForSeq2SeqLM.from_pretrained(MODEL_ID)
args = Seq2SeqTrainingArguments(
    output_dir="tiny-trainer",
    max_steps=STEPS,
    per_device_train_batch_size=BATCH,
    per_device_eval_batch_size=100,
    learning_rate=LEARNING_RATE,
    predict_with_generate=True,  # evaluate by generating, greedily
    generation_max_length=16,
    save_strategy="no",
    report_to=[],
    disable_tqdm=True,
    seed=0,
    **RUNTIME,
)
trainer = Seq2SeqTrainer(
    model=model,
    args=args,
    train_dataset=train,
    # pads inputs with <pad> and labels with -100, per batch
    data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
    processing_class=tokenizer,
)
trainer.remove_callback(PrinterCallback)  # the page prints its own numbers
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])


def mean_rouge(texts, rows, key):
    """Mean F of one ROUGE kind over generated texts and their rows."""
    scores = [
        scorer.score(row["target"], text)[key].fmeasure  # reference first
        for row, text in zip(rows, texts, strict=True)
    ]
    return sum(scores) / len(scores)


def held_out_scores():
    """Generate for every held-out input; score each task its way."""
    texts = {}
    for name, dataset in held_out.items():
        generated = trainer.predict(dataset).predictions
        texts[name] = tokenizer.batch_decode(
            generated, skip_special_tokens=True
        )
    summary, toylang = texts["summarize"], texts["translate"]
    return {
        "summarize: ROUGE-1": mean_rouge(summary, summaries["test"], "rouge1"),
        "summarize: ROUGE-2": mean_rouge(summary, summaries["test"], "rouge2"),
        "summarize: ROUGE-L": mean_rouge(summary, summaries["test"], "rougeL"),
        "translate: ROUGE-1": mean_rouge(
            toylang, translations["test"], "rouge1"
        ),
        "translate: exact match": exact_match(
            toylang, [row["target"] for row in translations["test"]]
        ),
    }


before = held_out_scores()
trainer.train()
after = held_out_scores()
for metric in before:
    for when, scores in [("before", before), ("after", after)]:
        value = scores[metric]
        shown = f"{value:.0%}" if "exact" in metric else f"{value:.2f}"
        print(f"{metric + ', ' + when:32} {shown:>5}")
# --8<-- [end:train]
