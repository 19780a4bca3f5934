"""Preference data from the reasoning task, validated; a reward model trained
on it with TRL.

Run alone: python snippets/rlhf/index/ex01_preferences.py
"""

# --8<-- [start:pairs]
import json
from collections import Counter

from ftkit.tasks import preference_pairs, reasoning_task

from ftkit.validation import validate_file

train, test = reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)
pairs, held_out = (
    preference_pairs(train, seed=0),
    preference_pairs(test, seed=1),
)
print(f"{len(pairs)} training pairs, {len(held_out)} held-out pairs")
print("rejected replies:", dict(Counter(pair["kind"] for pair in pairs)))
for pair in pairs[:3]:
    print(f"\n[{pair['kind']}] {pair['prompt'][0]['content']}")
    print("  chosen:  ", pair["chosen"][0]["content"])
    print("  rejected:", pair["rejected"][0]["content"])

# what the trainers read; "kind" is for our analysis
COLUMNS = ("prompt", "chosen", "rejected")
with open("preferences.jsonl", "w", encoding="utf-8") as handle:
    for pair in pairs:
        handle.write(json.dumps({c: pair[c] for c in COLUMNS}) + "\n")
print("\n" + validate_file("preferences.jsonl", task="preference").summary())
# --8<-- [end:pairs]

# --8<-- [start:bad]
bad_rows = [
    {
        "prompt": [{"role": "user", "content": "Start at 2, add 3."}],
        "chosen": [
            {"role": "assistant", "content": "<think>2 + 3 = 5.</think>5"}
        ],
        "rejected": [
            {"role": "assistant", "content": "<think>2 + 3 = 5.</think>5"}
        ],
    },
    {
        "prompt": [{"role": "user", "content": "Start at 4, take 1."}],
        "chosen": "<think>4 - 1 = 3.</think>3",
        "rejected": "3",
    },
    {
        "prompt": [{"role": "assistant", "content": "Start at 5, add 1."}],
        "chosen": [
            {"role": "assistant", "content": "<think>5 + 1 = 6.</think>6"}
        ],
        "rejected": [{"role": "assistant", "content": "7"}],
    },
    {"prompt": "Start at 6, add 2.", "chosen": "<think>6 + 2 = 8.</think>8"},
]
with open("preferences_bad.jsonl", "w", encoding="utf-8") as handle:
    for row in [{c: pairs[0][c] for c in COLUMNS}, *bad_rows]:
        handle.write(json.dumps(row) + "\n")
check = validate_file("preferences_bad.jsonl", task="preference")
print(check.summary())
for error in check.errors:
    print(" ", error)
# --8<-- [end:bad]

# --8<-- [start:reward_model]
import torch
from datasets import Dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    ProgressCallback,
)
from trl import RewardConfig, RewardTrainer

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct", or better your SFT model
MODEL_ID = tiny_llama(pretrain_steps=100)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
torch.manual_seed(0)
reward_model = AutoModelForSequenceClassification.from_pretrained(
    MODEL_ID, num_labels=1
)
print("the reward head:", reward_model.score)

config = RewardConfig(
    output_dir="reward-model",
    max_steps=400,
    per_device_train_batch_size=32,
    learning_rate=1e-3,
    lr_scheduler_type="linear",
    logging_steps=100,
    eval_strategy="steps",
    eval_steps=100,
    per_device_eval_batch_size=100,
    save_strategy="no",
    report_to="none",
    seed=0,
    bf16=False,
    gradient_checkpointing=False,
    use_cpu=True,  # on a GPU: drop this line
)
trainer = RewardTrainer(
    model=reward_model,
    args=config,
    processing_class=tokenizer,
    train_dataset=Dataset.from_list(
        [{c: p[c] for c in COLUMNS} for p in pairs]
    ),
    eval_dataset=Dataset.from_list(
        [{c: p[c] for c in COLUMNS} for p in held_out]
    ),
)
# the page prints its own log; in Colab keep the bar
trainer.remove_callback(ProgressCallback)
print(
    "held-out pairwise accuracy before training: "
    f"{trainer.evaluate()['eval_accuracy']:.0%}"
)
trainer.train()
for log in trainer.state.log_history:
    if "eval_accuracy" in log and log["step"] > 0:
        print(
            f"step {log['step']:>3}  "
            f"held-out accuracy {log['eval_accuracy']:.0%}  "
            f"margin {log['eval_margin']:.2f}"
        )
# --8<-- [end:reward_model]

# --8<-- [start:by_kind]
reward_model.eval()


@torch.no_grad()
def reward(prompt, reply):
    """The reward model's score of one reply, read from the last token's head
    output."""
    chat = tokenizer.apply_chat_template(
        prompt + reply, return_dict=True, return_tensors="pt"
    )
    return reward_model(**chat).logits[0, 0].item()


wins = Counter(), Counter()
for pair in held_out:
    won = reward(pair["prompt"], pair["chosen"]) > reward(
        pair["prompt"], pair["rejected"]
    )
    wins[won][pair["kind"]] += 1
for kind in ("no working", "wrong answer", "wrong step"):
    right, n = wins[True][kind], wins[True][kind] + wins[False][kind]
    print(
        f"{kind:<13} chosen ranked higher in {right / n:4.0%} "
        f"of {n} held-out pairs"
    )
example = next(pair for pair in held_out if pair["kind"] == "no working")
print(example["prompt"][0]["content"])
scores = {
    name: reward(example["prompt"], example[name])
    for name in ("chosen", "rejected")
}
for name in scores:
    print(f"  {name:<8}  {example[name][0]['content']}")
print("the chosen reply scores higher:", scores["chosen"] > scores["rejected"])
# --8<-- [end:by_kind]
