"""ftkit.distill: a student cut from a teacher's layers computes what those layers compute, loads
and generates like any model of its class, and refuses bad layer lists; the reasoning teacher
learned its task, and its data split keeps gold, new and held-out questions apart."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
)

from ftkit.distill import ReasoningTeacherRecipe, layer_student, reasoning_split, reasoning_teacher
from ftkit.evaluate import reasoning_scores
from ftkit.tasks import reasoning_task
from ftkit.tiny import tiny_llama


def _bert(layers: int = 4) -> BertForSequenceClassification:
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
    )
    torch.manual_seed(0)
    return BertForSequenceClassification(config).eval()


def test_a_bert_student_computes_what_the_kept_layers_compute():
    teacher = _bert()
    student = layer_student(teacher, [0, 2])
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    assert len(student.bert.encoder.layer) == 2 and not student.training
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.no_grad():
        # the same computation by hand: the teacher with layers 1 and 3 taken out
        teacher.bert.encoder.layer = torch.nn.ModuleList(
            [teacher.bert.encoder.layer[0], teacher.bert.encoder.layer[2]]
        )
        torch.testing.assert_close(student(input_ids=ids).logits, teacher(input_ids=ids).logits)
    for name in ("embeddings.word_embeddings.weight", "pooler.dense.weight"):
        torch.testing.assert_close(
            student.bert.get_parameter(name), teacher.bert.get_parameter(name)
        )


def test_every_layer_kept_is_the_teacher_itself_and_the_weights_are_copies():
    teacher = _bert(3)
    student = layer_student(teacher, [0, 1, 2])
    ids = torch.tensor([[3, 4, 5]])
    with torch.no_grad():
        torch.testing.assert_close(student(input_ids=ids).logits, teacher(input_ids=ids).logits)
        student.classifier.weight.add_(1.0)  # training the student leaves the teacher alone
    assert not torch.equal(student.classifier.weight, teacher.classifier.weight)


def test_a_llama_student_saves_loads_and_generates(tmp_path):
    model_id = tiny_llama(pretrain_steps=100)
    teacher = AutoModelForCausalLM.from_pretrained(model_id)
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    student = layer_student(teacher, [1])
    assert student.config.num_hidden_layers == 1
    torch.testing.assert_close(
        student.model.layers[0].mlp.up_proj.weight, teacher.model.layers[1].mlp.up_proj.weight
    )
    student.save_pretrained(tmp_path)  # safetensors
    assert (tmp_path / "model.safetensors").is_file()
    again = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = tokenizer("Fine-tuning adapts", return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(again(**ids).logits, student(**ids).logits)
        # the KV cache is indexed by layer: generation must work with the renumbered layer
        out = again.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape == (1, ids["input_ids"].shape[1] + 5)


@pytest.mark.parametrize(
    "layers, message",
    [
        ([], "layers is empty"),
        ([0, 4], r"layers\[1\] = 4 is not a layer of the model \(0..3\)"),
        ([-1], r"layers\[0\] = -1 is not a layer"),
        ([2, 1], r"layers\[1\] = 1 must be greater than layers\[0\] = 2"),
        ([1, 1], "strictly increasing"),
        ([0.0], r"layers\[0\] = 0.0 is not a layer"),
    ],
)
def test_layer_student_refuses_bad_layer_lists(layers, message):
    with pytest.raises(ValueError, match=message):
        layer_student(_bert(), layers)


def test_layer_student_needs_one_stack_of_layers():
    model = _bert(2)
    model.extra = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="expected one ModuleList of 2 layers"):
        layer_student(model, [0])


def test_reasoning_split_keeps_its_three_sets_apart():
    gold, new, test = reasoning_split(n_new=300, n_test=100)
    question = lambda row: row["messages"][0]["content"]  # noqa: E731
    sets = [{question(r) for r in rows} for rows in (gold, new, test)]
    assert [len(s) for s in sets] == [1200, 300, 100]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    # the gold rows are the reasoning chapter's training rows
    assert gold == reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)[0]
    with pytest.raises(ValueError, match="n_new and n_test must be ints >= 0"):
        reasoning_split(n_new=-1, n_test=10)


def test_the_teacher_recipe_names_its_bad_field():
    with pytest.raises(ValueError, match="ReasoningTeacherRecipe.steps must be a positive int"):
        ReasoningTeacherRecipe(steps=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive float"):
        ReasoningTeacherRecipe(learning_rate=0)


def test_the_reasoning_teacher_learned_its_task():
    folder = reasoning_teacher()  # built once per machine (about 35 CPU-seconds), then cached
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    _, _, test = reasoning_split(n_new=0, n_test=60)
    scores = reasoning_scores(model, tokenizer, test)
    assert scores.format > 0.95 and scores.exact_match > 0.6  # the base model scores 0 and 0
