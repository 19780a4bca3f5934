"""SFT for reasoning: LoRA on the tiny model teaches it to think before it
answers.

Run alone: python snippets/sft/reasoning/ex01_reasoning.py
"""

# --8<-- [start:task]
from ftkit.tasks import reasoning_task, score

train, test = reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)
questions = {row["messages"][0]["content"] for row in train}
seen = sum(row["messages"][0]["content"] in questions for row in test)
print(
    f"{len(train)} training rows, {len(test)} held-out rows, "
    f"{seen} held-out questions in train"
)
for message in train[0]["messages"]:
    print(f"{message['role']:>9}: {message['content']}")
print("answer:", train[0]["answer"])
for reply in [
    "<think>8 - 4 = 4. 4 + 1 = 5. 5 + 3 = 8.</think>8",
    "8",
    "<think>9 - 1.</think>9",
]:
    print(f"score({reply!r}, answer='8') = {score(reply, '8')}")
# --8<-- [end:task]

# --8<-- [start:before]
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.evaluate import reasoning_scores
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
base = AutoModelForCausalLM.from_pretrained(MODEL_ID)

before = reasoning_scores(base, tokenizer, test)
print("before:", before)
print("a reply:", repr(before.replies[0][:60]), "...")


# <think>'s first token: <think> itself here; its first piece on a
# tokenizer without the token, like Llama 3.2's, which splits it
THINK_ID = tokenizer("<think>", add_special_tokens=False)["input_ids"][0]
FIRST = tokenizer.decode([THINK_ID])


@torch.no_grad()
def first_token_probability(model, token_id=THINK_ID):
    """The probability that the model's reply starts with ``token_id``, mean
    over test."""
    total = 0.0
    for row in test:
        prompt = tokenizer.apply_chat_template(
            row["messages"][:1],
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        )
        total += model(**prompt).logits[0, -1].softmax(-1)[token_id].item()
    return total / len(test)


print(f"P(reply starts with {FIRST}) = {first_token_probability(base):.1e}")
# --8<-- [end:before]

# --8<-- [start:train]
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoConfig, ProgressCallback
from trl import SFTConfig, SFTTrainer

from ftkit.chat import reply_loss_rows

MAX_STEPS = 400  # Colab GPU: about 1-2 epochs of your data set
# Colab GPU: dict(fp16=True)
RUNTIME = dict(bf16=False, gradient_checkpointing=False, use_cpu=True)
TIED = AutoConfig.from_pretrained(MODEL_ID).tie_word_embeddings
LORA = LoraConfig(
    r=16,
    lora_alpha=32,
    target_modules="all-linear",
    task_type="CAUSAL_LM",
    # see "Why the output layer trains too"
    modules_to_save=["embed_tokens", "lm_head"],
    # a model that ties the two (Llama 3.2) trains one shared copy
    ensure_weight_tying=TIED,
)


def fine_tune(rows, lora_config):
    """SFT with LoRA from the same base, seed and settings, so runs differ only
    in their data."""
    torch.manual_seed(0)
    # loss on the replies only, whatever the template (see SFT data)
    rows, reply_loss = reply_loss_rows(tokenizer, rows)
    config = SFTConfig(
        output_dir="sft-reasoning",
        max_steps=MAX_STEPS,
        per_device_train_batch_size=32,
        learning_rate=3e-3,
        lr_scheduler_type="linear",
        logging_steps=100,
        save_strategy="no",
        report_to="none",
        seed=0,
        **reply_loss,
        **RUNTIME,
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(MODEL_ID),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config,
    )
    # the page prints its own log; in Colab keep the bar
    trainer.remove_callback(ProgressCallback)
    trainer.train()
    return trainer


trainer = fine_tune([{"messages": row["messages"]} for row in train], LORA)
trainer.model.print_trainable_parameters()
for log in trainer.state.log_history:
    if "loss" in log:
        print(
            f"step {log['step']:>3}  loss {log['loss']:.3f}  "
            f"token accuracy {log['mean_token_accuracy']:.3f}"
        )

after = reasoning_scores(trainer.model, tokenizer, test)
print("after:", after)
print(f"  {test[0]['messages'][0]['content']} -> {after.replies[0]}")
# --8<-- [end:train]

# --8<-- [start:answer_only]
from ftkit.evaluate import exact_match, generate_replies

answer_only = [  # the same questions and answers, the working left out
    {
        "messages": [
            row["messages"][0],
            {"role": "assistant", "content": row["answer"]},
        ]
    }
    for row in train
]
print("an answer-only target:", repr(answer_only[0]["messages"][1]["content"]))
terse = fine_tune(answer_only, LORA)
replies = generate_replies(
    terse.model, tokenizer, [row["messages"][:1] for row in test]
)
print(
    "answer only:    exact match "
    f"{exact_match(replies, [row['answer'] for row in test]):.0%}"
)
print(f"with <think>:   exact match {after.exact_match:.0%}")
# --8<-- [end:answer_only]

# --8<-- [start:linear_only]
linear_only = LoraConfig(
    r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"
)
plain = fine_tune(
    [{"messages": row["messages"]} for row in train], linear_only
)
plain.model.print_trainable_parameters()
for name, model, scores in [
    (
        "LoRA on the linear layers only",
        plain.model,
        reasoning_scores(plain.model, tokenizer, test),
    ),
    ("... and embeddings + lm_head", trainer.model, after),
]:
    print(
        f"{name:<31} {scores}, "
        f"P({FIRST} first) = {first_token_probability(model):.2f}"
    )
# --8<-- [end:linear_only]
