"""DPO from scratch (ftkit.losses) checked against TRL; DPOTrainer and
GRPOTrainer on a tiny SFT model.

Run alone: python snippets/rlhf/dpo-grpo/ex01_dpo_grpo.py
"""

# --8<-- [start:sft]
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    ProgressCallback,
)
from trl import SFTConfig, SFTTrainer

from ftkit.chat import reply_loss_rows
from ftkit.tasks import preference_pairs, reasoning_task
from ftkit.evaluate import reasoning_scores
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
BASE_ID = tiny_llama(pretrain_steps=100)
# Colab GPU: dict(fp16=True)
RUNTIME = dict(bf16=False, gradient_checkpointing=False, use_cpu=True)
tokenizer = AutoTokenizer.from_pretrained(BASE_ID)
train, test = reasoning_task(n_train=1200, n_test=100, steps=3, seed=0)

TIED = AutoConfig.from_pretrained(BASE_ID).tie_word_embeddings
# loss on the replies only, whatever the template (see SFT data)
rows, reply_loss = reply_loss_rows(
    tokenizer, [{"messages": row["messages"]} for row in train]
)
torch.manual_seed(0)
sft = SFTTrainer(
    model=AutoModelForCausalLM.from_pretrained(BASE_ID),
    processing_class=tokenizer,
    train_dataset=Dataset.from_list(rows),
    args=SFTConfig(
        output_dir="rlhf-sft",
        max_steps=250,
        per_device_train_batch_size=32,
        learning_rate=3e-3,
        lr_scheduler_type="linear",
        save_strategy="no",
        report_to="none",
        seed=0,
        **reply_loss,
        **RUNTIME,
    ),
    peft_config=LoraConfig(
        r=16,
        lora_alpha=32,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        modules_to_save=["embed_tokens", "lm_head"],
        # a model that ties the two (Llama 3.2) trains one shared copy
        ensure_weight_tying=TIED,
    ),
)
sft.remove_callback(ProgressCallback)
sft.train()
SFT_ID = "rlhf-sft/merged"  # the starting point of every run below
sft.model.merge_and_unload().save_pretrained(SFT_ID)
tokenizer.save_pretrained(SFT_ID)
sft_model = AutoModelForCausalLM.from_pretrained(SFT_ID)
# the baseline for every run below
sft_scores = reasoning_scores(sft_model, tokenizer, test)
print("SFT model:", sft_scores)
# --8<-- [end:sft]

# --8<-- [start:log2]
import math

from trl import DPOConfig, DPOTrainer

from ftkit.losses import dpo_loss, sequence_logps

COLUMNS = ("prompt", "chosen", "rejected")
pairs = [{c: p[c] for c in COLUMNS} for p in preference_pairs(train, seed=0)]
held_out = [{c: p[c] for c in COLUMNS} for p in preference_pairs(test, seed=1)]

# TRL's own batch: prompt + chosen rows, then prompt + rejected rows, and
# which tokens to score
probe = DPOTrainer(
    model=sft_model,
    ref_model=AutoModelForCausalLM.from_pretrained(BASE_ID),
    args=DPOConfig(
        output_dir="dpo-probe",
        per_device_train_batch_size=8,
        report_to="none",
        **RUNTIME,
    ),
    train_dataset=Dataset.from_list(pairs[:8]),
    processing_class=tokenizer,
)
batch = next(iter(probe.get_train_dataloader()))
print({k: tuple(v.shape) for k, v in batch.items()})
scored = batch["input_ids"][0][batch["completion_mask"][0] == 1]
print("scored tokens of row 0:", repr(tokenizer.decode(scored)))


def logps(model):
    """log pi(reply | prompt) of each row, split into the chosen and the
    rejected half."""
    with torch.no_grad():
        out = sequence_logps(
            model,
            batch["input_ids"],
            batch["attention_mask"],
            batch["completion_mask"],
        )
    return out.chunk(2)


policy_chosen, policy_rejected = logps(sft_model)
same = dpo_loss(
    policy_chosen, policy_rejected, policy_chosen, policy_rejected, beta=0.1
)
print(
    f"policy == reference: loss {same.loss.item():.6f}, "
    f"log 2 = {math.log(2):.6f}"
)
# --8<-- [end:log2]

# --8<-- [start:parity]
# the base model as the reference
ref_chosen, ref_rejected = logps(probe.ref_model)
lengths = batch["completion_mask"].sum(1).chunk(2)
for loss_type in ("sigmoid", "ipo", "hinge"):
    # the attribute DPOConfig(loss_type=...) sets
    probe.loss_types = [loss_type]
    with torch.no_grad():
        trl_loss = probe.compute_loss(sft_model, batch).item()
    ours = dpo_loss(
        policy_chosen,
        policy_rejected,
        ref_chosen,
        ref_rejected,
        beta=0.1,
        loss_type=loss_type,
        chosen_lengths=lengths[0],
        rejected_lengths=lengths[1],
    )
    print(f"{loss_type:<8} TRL {trl_loss:.4f}   ftkit {ours.loss.item():.4f}")
# --8<-- [end:parity]

# --8<-- [start:dpo]
STEPS = 100  # Colab GPU: about one epoch of your pairs
LOG_STEPS = 25  # steps between two lines of the log


def dpo(loss_type, curve=True):
    """DPO with LoRA from the SFT model; the reference is the SFT model
    (adapters disabled).
    With ``curve``, the held-out pairs are scored every LOG_STEPS steps, as the
    training batch is."""
    torch.manual_seed(0)
    config = DPOConfig(
        output_dir="dpo",
        max_steps=STEPS,
        per_device_train_batch_size=16,
        learning_rate=3e-3,
        lr_scheduler_type="linear",
        beta=0.1,
        loss_type=loss_type,
        logging_steps=LOG_STEPS,
        eval_strategy="steps" if curve else "no",
        eval_steps=LOG_STEPS,
        per_device_eval_batch_size=100,
        save_strategy="no",
        report_to="none",
        seed=0,
        **RUNTIME,
    )
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(SFT_ID),
        args=config,
        train_dataset=Dataset.from_list(pairs),
        eval_dataset=Dataset.from_list(held_out),
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=16,
            lora_alpha=32,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    trainer.remove_callback(ProgressCallback)
    trainer.train()
    return trainer


trainer = dpo(["sigmoid"])
logs = trainer.state.log_history
print(
    "step   loss  margin  accuracy  log p(chosen)  log p(rejected)   "
    "held-out: margin  accuracy"
)
train_logs = [log for log in logs if "loss" in log]
eval_logs = [log for log in logs if "eval_loss" in log]
for train_log, eval_log in zip(train_logs, eval_logs, strict=True):
    print(
        f"{train_log['step']:>4}  {train_log['loss']:.3f}"
        f"  {train_log['rewards/margins']:6.2f}"
        f"  {train_log['rewards/accuracies']:8.0%}"
        f"  {train_log['logps/chosen']:13.2f}"
        f"  {train_log['logps/rejected']:15.2f}"
        f"  {eval_log['eval_rewards/margins']:16.2f}"
        f"  {eval_log['eval_rewards/accuracies']:8.0%}"
    )
dpo_scores = reasoning_scores(trainer.model, tokenizer, test)
print("held-out task after DPO:", dpo_scores)
# --8<-- [end:dpo]

# --8<-- [start:nll]
print(
    f"{'run':<22} {'held-out pair accuracy':>22} "
    f"{'log p(chosen)':>14} {'exact match':>12}"
)
print(
    f"{'SFT model (start)':<22} {'':>22} {'':>14} "
    f"{sft_scores.exact_match:>12.0%}"
)
for name, run, final, scores in [
    # the curve's last line, scored above
    ("DPO", trainer, eval_logs[-1], dpo_scores),
    ("DPO + NLL (RPO)", dpo(["sigmoid", "sft"], curve=False), None, None),
    ("NLL only (more SFT)", dpo(["sft"], curve=False), None, None),
]:
    final = final or run.evaluate()  # the held-out pairs, once, at the end
    scores = scores or reasoning_scores(run.model, tokenizer, test)
    print(
        f"{name:<22} {final['eval_rewards/accuracies']:>22.0%} "
        f"{final['eval_logps/chosen']:>14.2f} {scores.exact_match:>12.0%}"
    )
# --8<-- [end:nll]

# --8<-- [start:rewards]
from ftkit.tasks import THINK_RE, solve


def format_reward(completions, **kwargs):
    """0.2 for a reply shaped <think>working</think>answer, else 0."""
    return [
        0.2 if THINK_RE.fullmatch(c[0]["content"]) else 0.0
        for c in completions
    ]


def correct_reward(completions, prompts, **kwargs):
    """1 when the working and the answer are both right (checked by redoing
    the sum), else 0."""
    rewards = []
    for prompt, completion in zip(prompts, completions, strict=True):
        work, answer = solve(prompt[0]["content"])
        rewards.append(
            float(
                completion[0]["content"].strip()
                == f"<think>{work}</think>{answer}"
            )
        )
    return rewards


question = [{"role": "user", "content": "Start at 1, add 5, take 5, add 5."}]
for reply in [
    "<think>1 + 5 = 6. 6 - 5 = 1. 1 + 5 = 6.</think>6",
    # right answer, wrong working
    "<think>1 + 5 = 7. 7 - 5 = 2. 2 + 5 = 6.</think>6",
    "6",
]:
    completion = [[{"role": "assistant", "content": reply}]]
    print(
        f"format {format_reward(completion)[0]:.1f}  correct "
        f"{correct_reward(completion, [question])[0]:.0f}  {reply}"
    )
# --8<-- [end:rewards]

# --8<-- [start:grpo]
from trl import GRPOConfig, GRPOTrainer

prompts = Dataset.from_list([{"prompt": row["messages"][:1]} for row in train])
LOGGING_STEPS = 20  # one line of the log per 20 steps
torch.manual_seed(0)
config = GRPOConfig(
    output_dir="grpo",
    max_steps=60,
    learning_rate=1e-4,
    per_device_train_batch_size=64,
    num_generations=8,  # 8 prompts x 8 sampled replies a step
    max_completion_length=40,
    temperature=0.7,
    logging_steps=LOGGING_STEPS,
    save_strategy="no",
    report_to="none",
    seed=0,
    **RUNTIME,
)
# full fine-tuning of the tiny model; in Colab add peft_config=LoraConfig(...)
grpo = GRPOTrainer(
    model=AutoModelForCausalLM.from_pretrained(SFT_ID),
    args=config,
    train_dataset=prompts,
    reward_funcs=[correct_reward, format_reward],
    processing_class=tokenizer,
)
grpo.remove_callback(ProgressCallback)
grpo.train()
print("steps    mean reward  correct  format  (over the sampled replies)")
for log in grpo.state.log_history:
    if "reward" in log:
        correct, shaped = (
            log["rewards/correct_reward/mean"],
            log["rewards/format_reward/mean"],
        )
        print(
            f"{log['step'] - LOGGING_STEPS + 1:>3}-{log['step']:<3}"
            f"  {log['reward']:11.2f}  {correct:7.0%}  {shaped / 0.2:6.0%}"
        )
print("greedy, held-out: before", sft_scores)
print(
    "                  after ", reasoning_scores(grpo.model, tokenizer, test)
)
# --8<-- [end:grpo]
