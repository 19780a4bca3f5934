"""Sequence-level distillation: a trained tiny Llama writes worked answers to
new questions, and a smaller student is fine-tuned on them, against the same
student fine-tuned on gold answers.

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
# questions the teacher answers
N_NEW = 1200  # Colab GPU: 10000
gold, new, test = reasoning_split(n_new=N_NEW, n_test=300)
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
print("question:", new[0]["messages"][0]["content"])
print("teacher: ", replies[0])
# the answer key is used here to count, never to train
wrong = sum(
    not score(reply, row["answer"])["correct"]
    for row, reply in zip(new, replies, strict=True)
)
print(
    f"{len(distilled)} teacher-written rows, "
    f"{wrong / len(distilled):.0%} of them with a wrong answer"
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

from ftkit.chat import chat_batch
from ftkit.train import train_steps

STEPS = 100  # Colab GPU: 1-2 epochs of the teacher's replies
BATCH = 32  # Colab GPU: 16
LEARNING_RATE = 3e-3  # Colab GPU: 2e-5


def fine_tune(rows):
    """Full fine-tuning of the same student, on the replies only (SFT)."""
    torch.manual_seed(0)
    model = layer_student(teacher, STUDENT_LAYERS)
    data = chat_batch(tokenizer, [row["messages"] for row in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    picks = torch.Generator().manual_seed(0)  # same batches for every run
    model.train()

    def loss():
        pick = torch.randint(len(rows), (BATCH,), generator=picks)
        width = int(data["attention_mask"][pick].sum(1).max())
        return model(
            **{name: t[pick, :width] for name, t in data.items()}
        ).loss

    train_steps(loss, optimizer, STEPS)
    return model.eval()


runs = [  # (name, rows it was trained on, model)
    ("teacher, 2 layers", gold, teacher),
    ("student on gold replies", gold, fine_tune(gold)),
    ("student on teacher replies", distilled, fine_tune(distilled)),
]
print(f"{'':27} {'rows':>5}  held-out scores")
for name, rows, model in runs:
    scores = reasoning_scores(model, tokenizer, test)
    print(f"{name:27} {len(rows):5}  {scores}")
# --8<-- [end:students]
