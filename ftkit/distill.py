"""Knowledge distillation's two pieces that are not a loss: a student cut from its teacher, and
the reasoning teacher the distillation chapter distils.

- ``layer_student(model, layers)``: a copy of a transformer that keeps only some of its layers
  (every other one, say), with everything else (embeddings, final norm, heads) copied as it is.
  DistilBERT's student was made this way: BERT's architecture with half its layers, initialised
  from the teacher by taking one layer out of two. The copy is a normal model of the same class
  (``save_pretrained``, ``from_pretrained``, ``generate`` work), with ``num_hidden_layers``
  set to the layers kept.
- ``reasoning_teacher()``: the tiny Llama fine-tuned on the reasoning task's gold replies (the
  1,200 training rows of the SFT-for-reasoning chapter), built once and kept by
  ``ftkit.cache``; ``reasoning_split()`` gives those gold rows, new questions the teacher never
  saw, and held-out test questions.

The distillation loss itself is ``ftkit.losses.distillation_loss``.

References:
    Sanh et al. 2019, "DistilBERT", arXiv:1910.01108, Section 3 (student initialisation: one
        layer out of two); transformers' ``examples/research_projects/distillation/scripts/
        extract_distilbert.py`` (the extraction actually used teacher layers 0, 2, 4, 7, 9, 11).
    Kim and Rush 2016, "Sequence-Level Knowledge Distillation", arXiv:1606.07947.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from ftkit.cache import cached, check_ints, recipe_hash, seeded
from ftkit.chat import chat_batch
from ftkit.tasks import reasoning_task
from ftkit.tiny import tiny_llama
from ftkit.train import train_steps


# --8<-- [start:layer_student] docs/distillation/index.md
def _layer_list(model) -> tuple[str, int]:
    """The name of the model's stack of transformer layers, and its length:
    the one ``nn.ModuleList`` of ``config.num_hidden_layers`` modules
    (``bert.encoder.layer`` in BERT, ``model.layers`` in Llama)."""
    import torch

    count = model.config.num_hidden_layers
    stacks = [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == count
    ]
    if len(stacks) != 1:
        raise ValueError(
            f"layer_student: expected one ModuleList of {count} layers "
            f"in {type(model).__name__}, found {stacks or 'none'}"
        )
    return stacks[0], count


def layer_student(model, layers: list[int]):
    """A copy of ``model`` with only the transformer layers ``layers``
    (0-based, in increasing order); every other weight is copied as it is.

    The student is built from a config with ``num_hidden_layers =
    len(layers)``, then loaded with the teacher's weights: layer
    ``layers[k]`` of the teacher becomes layer k of the student.

    Raises:
        ValueError: no layers, an index outside the model's layers, or
            indices that are not strictly increasing.
    """
    stack, count = _layer_list(model)
    if not layers:
        raise ValueError("layer_student: layers is empty; keep at least one")
    for i, layer in enumerate(layers):
        if not isinstance(layer, int) or not 0 <= layer < count:
            raise ValueError(
                f"layer_student: layers[{i}] = {layer!r} is not a layer of "
                f"the model (0..{count - 1})"
            )
        if i and layer <= layers[i - 1]:
            raise ValueError(
                f"layer_student: layers[{i}] = {layer} must be greater than "
                f"layers[{i - 1}] = {layers[i - 1]} (strictly increasing)"
            )
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = len(layers)
    if getattr(config, "layer_types", None) is not None:  # one entry a layer
        config.layer_types = [config.layer_types[i] for i in layers]
    renumber = {old: new for new, old in enumerate(layers)}
    pattern = re.compile(rf"^{re.escape(stack)}\.(\d+)\.")
    state = {}
    for name, tensor in model.state_dict().items():
        match = pattern.match(name)
        if match is None:  # embeddings, norms, heads: kept as they are
            state[name] = tensor
        elif int(match[1]) in renumber:  # a kept layer, under its new index
            new = f"{stack}.{renumber[int(match[1])]}."
            state[new + name[match.end() :]] = tensor
    student = type(model)(config)
    student.load_state_dict(state)  # strict: each weight from the teacher
    student.to(model.dtype)
    if getattr(model, "generation_config", None) is not None:
        student.generation_config = copy.deepcopy(model.generation_config)
    return student.train(model.training)


# --8<-- [end:layer_student]


# --------------------------------------------------------------------------- the reasoning teacher


@dataclass(frozen=True)
class ReasoningTeacherRecipe:
    """How the reasoning teacher is trained. Every field takes part in the cache key.

    Full fine-tuning of ``tiny_llama(pretrain_steps=base_steps)`` on the first ``n_gold`` rows of
    ``reasoning_task(steps=question_steps, seed=data_seed)``: the 1,200 training rows of the
    SFT-for-reasoning chapter, with the loss on the replies only. 400 steps of AdamW at a constant
    3e-3, 32 random rows a step, take about 35 CPU-seconds on one thread and reach about 90% exact
    match on held-out questions.
    """

    n_gold: int = 1200
    question_steps: int = 3  # operations a question chains ("start at 7, add 7, take 9, take 3")
    data_seed: int = 0
    base_steps: int = 100  # the shared base model: tiny_llama(pretrain_steps=100)
    steps: int = 400
    batch: int = 32
    learning_rate: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_ints(
            self,
            positive=("n_gold", "question_steps", "steps", "batch"),
            non_negative=("data_seed", "base_steps", "seed"),
        )
        if not isinstance(self.learning_rate, float) or not self.learning_rate > 0:
            raise ValueError(
                "ReasoningTeacherRecipe.learning_rate must be a positive float, got "
                f"{self.learning_rate!r}"
            )


def reasoning_split(
    n_new: int, n_test: int, recipe: ReasoningTeacherRecipe | None = None
) -> tuple[list[dict], list[dict], list[dict]]:
    """The teacher's gold rows, ``n_new`` rows it never saw, and ``n_test`` held-out rows.

    All three are ``reasoning_task`` rows (``messages`` and ``answer``), with no question in two
    of them. The gold rows are the ones ``reasoning_teacher(recipe)`` was trained on.

    Raises:
        ValueError: a negative count, or more rows than the task has distinct questions.
    """
    recipe = recipe or ReasoningTeacherRecipe()
    if not isinstance(n_new, int) or not isinstance(n_test, int) or n_new < 0 or n_test < 0:
        rule = "reasoning_split: n_new and n_test must be ints >= 0"
        raise ValueError(f"{rule}, got {n_new!r} and {n_test!r}")
    train, test = reasoning_task(
        n_train=recipe.n_gold + n_new,
        n_test=n_test,
        steps=recipe.question_steps,
        seed=recipe.data_seed,
    )
    return train[: recipe.n_gold], train[recipe.n_gold :], test


def reasoning_teacher(recipe: ReasoningTeacherRecipe | None = None) -> str:
    """The folder of the reasoning teacher (model and tokenizer), trained on first use, then
    cached (about 35 CPU-seconds, once per machine and recipe).

    Load it with ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained``.
    """
    recipe = recipe or ReasoningTeacherRecipe()
    key = recipe_hash(recipe)
    return cached(f"reasoning-teacher-{key}", lambda folder: _build_teacher(recipe, folder))


def _build_teacher(recipe: ReasoningTeacherRecipe, folder: Path) -> None:
    """Full fine-tuning on the gold rows, replies only; save model and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tiny_llama(pretrain_steps=recipe.base_steps)
    tokenizer = AutoTokenizer.from_pretrained(base)
    gold, _, _ = reasoning_split(0, 0, recipe)
    batch = chat_batch(tokenizer, [row["messages"] for row in gold])  # (N, L), replies labelled
    with seeded(recipe.seed):
        model = AutoModelForCausalLM.from_pretrained(base)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
        rows = torch.Generator().manual_seed(recipe.seed)

        def loss():
            pick = torch.randint(len(gold), (recipe.batch,), generator=rows)
            width = int(batch["attention_mask"][pick].sum(1).max())  # padding is on the right
            return model(**{name: t[pick, :width] for name, t in batch.items()}).loss

        train_steps(loss, optimizer, recipe.steps)
    model.eval().save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)
