"""Fine-tuning through an API: one held-out evaluation for every model behind
a Client, and a larger model's answers as training data (distillation).

Run alone: python snippets/api-finetuning/index/ex04_clients.py
"""

# --8<-- [start:evaluate]
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.distill import reasoning_split, reasoning_teacher
from ftkit.providers import LocalClient, held_out_scores
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
BASE_ID = tiny_llama(pretrain_steps=100)
# The same base fine-tuned on 1,200 reasoning rows, kept by ftkit's cache:
# it plays the model id a fine-tuning job hands back.
TUNED_ID = reasoning_teacher()
gold, new, test = reasoning_split(n_new=100, n_test=50)  # disjoint questions


def local_client(model_id):
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForCausalLM.from_pretrained(model_id)
    return LocalClient(model, tokenizer, max_new_tokens=48)


base, tuned = local_client(BASE_ID), local_client(TUNED_ID)
print("base: ", held_out_scores(base, test))
print("tuned:", held_out_scores(tuned, test))
# --8<-- [end:evaluate]

# --8<-- [start:distill]
import tempfile
from pathlib import Path

from ftkit.providers import teacher_labels, to_openai_chat
from ftkit.providers import validate_openai, write_jsonl
from ftkit.tasks import score
from ftkit.validation import validate_file


def correct(reply, row):
    """The verifier: the reply's final answer is the right one."""
    return score(reply, row["answer"])["correct"]


kept, rejected = teacher_labels(tuned, new, check=correct)
print(f"{len(kept)} teacher replies kept, {len(rejected)} rejected")

folder = Path(tempfile.mkdtemp())
student = write_jsonl(folder / "student.jsonl", kept)  # for TRL's SFTTrainer
checked = validate_file(student)
print(f"for SFTTrainer: {len(checked.rows)} of {checked.total} rows good")
api = write_jsonl(folder / "api.jsonl", to_openai_chat(kept))
print("as an OpenAI file:", "ok" if validate_openai(api).ok else "bad lines")
# --8<-- [end:distill]
