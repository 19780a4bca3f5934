"""Sequence-level distillation: a trained tiny Llama writes worked answers to
new questions, and a smaller student is fine-tuned on them (all of them, or
the ones a verifier kept), against the same student fine-tuned on the gold
answers to the same questions.

Run alone: python snippets/distillation/index/ex03_sequence.py
"""

# --8<-- [start:teacher]
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.distill import reasoning_split, reasoning_teacher
from ftkit.evaluate import reasoning_scores

# the tiny Llama after SFT on the reasoning chapter's 1,200 gold rows,
# built once and cached
# Colab GPU: "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
TEACHER_ID = reasoning_teacher()
tokenizer = AutoTokenizer.from_pretrained(TEACHER_ID)
teacher = AutoModelForCausalLM.from_pretrained(TEACHER_ID)
# questions the teacher answers, and held-out questions
N_NEW = 1200  # Colab GPU: 10000
N_TEST = 300  # Colab GPU: 1000
gold, new, test = reasoning_split(n_new=N_NEW, n_test=N_TEST)
print(
    f"{len(gold)} gold rows (the teacher's), {len(new)} new questions, "
    f"{len(test)} held out"
)
print("teacher:", reasoning_scores(teacher, tokenizer, test))
# --8<-- [end:teacher]

# --8<-- [start:distilled_data]
from ftkit.evaluate import generate_replies
from ftkit.tasks import score

# the teacher's greedy reply to each new question: the new training data
replies = generate_replies(
    teacher, tokenizer, [r["messages"][:1] for r in new]
)
distilled = [
    {"messages": [row["messages"][0], {"role": "assistant", "content": reply}]}
    for row, reply in zip(new, replies, strict=True)
]
# a verifier marks each reply right or wrong (here the answer key; for
# real data a checker of the final answer, or tests for code)
right = [
    score(reply, row["answer"])["correct"]
    for row, reply in zip(new, replies, strict=True)
]
# rejection sampling, as for DeepSeek-R1's data: keep the right replies
checked = [row for row, ok in zip(distilled, right, strict=True) if ok]
print("question:", new[0]["messages"][0]["content"])
print("teacher: ", replies[0])
print(
    f"{len(distilled)} teacher-written rows, "
    f"{len(checked) / len(distilled):.0%} of them right: kept by the verifier"
)
# --8<-- [end:distilled_data]

# --8<-- [start:cut]
from ftkit.distill import layer_student

# one of the teacher's two layers
# Colab GPU: a smaller model of the teacher's family instead
STUDENT_LAYERS = [0]
cut = layer_student(teacher, STUDENT_LAYERS)
print("student, before training:", reasoning_scores(cut, tokenizer, test))
# --8<-- [end:cut]

# --8<-- [start:students]
import torch
from trl.chat_template_utils import get_training_chat_template

from ftkit.chat import chat_batch
from ftkit.train import train_steps

STEPS = 100  # Colab GPU: 1-2 epochs of the teacher's replies
BATCH = 32  # Colab GPU: 16
LEARNING_RATE = 3e-3  # Colab GPU: 2e-5

# chat_batch needs a template that renders each reply whole (R1's drops
# the reasoning from replies): TRL's training version of a template it
# knows, or None when it needs none (the tiny teacher's)
training_template = get_training_chat_template(tokenizer)
if training_template is not None:
    tokenizer.chat_template = training_template


def fine_tune(rows):
    """Full fine-tuning of the same student, on the replies only (SFT)."""
    torch.manual_seed(0)
    model = layer_student(teacher, STUDENT_LAYERS)
    data = chat_batch(tokenizer, [row["messages"] for row in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    # the same row indices every run: gold and teacher rows of the same
    # questions come in the same batches
    picks = torch.Generator().manual_seed(0)
    model.train()

    def loss():
        pick = torch.randint(len(rows), (BATCH,), generator=picks)
        width = int(data["attention_mask"][pick].sum(1).max())
        return model(
            **{name: t[pick, :width] for name, t in data.items()}
        ).loss

    train_steps(loss, optimizer, STEPS)
    return model.eval()


runs = {  # name: model; every student takes STEPS steps of BATCH rows
    "teacher, 2 layers": teacher,
    # the new questions with their gold replies: the control
    "student on gold replies": fine_tune(new),
    # the same questions with the teacher's replies, wrong ones included
    "student on teacher replies": fine_tune(distilled),
}
if checked:  # a verifier may keep none (a teacher cut off mid-thought)
    # the teacher's replies that the verifier kept
    runs["student on checked replies"] = fine_tune(checked)
print(f"{'':27} held-out scores")
for name, model in runs.items():
    print(f"{name:27} {reasoning_scores(model, tokenizer, test)}")
# --8<-- [end:students]
