"""The reasoning chapter's exercises: score replies by hand, and count
where the reply's loss goes.

Run alone: python snippets/sft/reasoning/ex02_exercises.py
"""

# --8<-- [start:score]
from ftkit.tasks import score, solve

question = "Start at 5, add 9, take 6."
working, answer = solve(question)
print(f"<think>{working}</think>{answer}")
for reply in [
    "<think>5 + 9 = 14. 14 - 6 = 8.</think>8",
    "<think>5 + 9 = 14. 14 - 6 = 7.</think>8",
    "<think>5 + 9 = 14. 14 - 6 = 8.</think>The answer is 8.",
    "<think></think>8",
]:
    print(f"{score(reply, answer)}  {reply!r}")
# --8<-- [end:score]

# --8<-- [start:tokens]
from transformers import AutoTokenizer

from ftkit.tasks import reasoning_task
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
train, _ = reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)
reply = train[0]["messages"][1]["content"]
cut = reply.index("</think>") + len("</think>")
count = {
    "working": len(tokenizer(reply[:cut], add_special_tokens=False).input_ids),
    "answer": len(tokenizer(reply[cut:], add_special_tokens=False).input_ids),
    "reply": len(tokenizer(reply, add_special_tokens=False).input_ids),
}
print(repr(reply))
for part, n in count.items():
    print(f"{part:<8} {n:>3} tokens")
# --8<-- [end:tokens]
