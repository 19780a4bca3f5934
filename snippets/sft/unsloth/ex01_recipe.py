"""The Unsloth workflow in plain transformers + peft + TRL, run on the tiny
model on a CPU.

Each step matches one step of the Unsloth notebook on the same page: 4-bit
load, LoRA, chat template data, SFTTrainer, save the adapter, save a merged
16-bit model, write a GGUF file.

Run alone: python snippets/sft/unsloth/ex01_recipe.py
"""

# --8<-- [start:load]
import torch
from peft import prepare_model_for_kbit_training
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
)

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
DTYPE = torch.float32  # on a T4: torch.float16 (a T4 has no bfloat16)
torch.manual_seed(0)

tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(
    MODEL_ID,
    quantization_config=BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=DTYPE,
    ),
)
model = prepare_model_for_kbit_training(
    model,
    use_gradient_checkpointing=False,  # GPU: True
)
print(
    type(model.model.layers[0].mlp.down_proj).__name__,
    model.get_memory_footprint(),
    "bytes",
)
# --8<-- [end:load]

# --8<-- [start:lora]
from peft import LoraConfig, get_peft_model

lora_config = LoraConfig(
    r=16,
    lora_alpha=32,
    lora_dropout=0.0,
    bias="none",
    task_type="CAUSAL_LM",
    target_modules=[
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ],
    # the tiny model needs them (SFT for reasoning); a model that ties the
    # two (Llama 3.2) trains one shared copy
    modules_to_save=["embed_tokens", "lm_head"],
    ensure_weight_tying=model.config.tie_word_embeddings,
)
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
# --8<-- [end:lora]

# --8<-- [start:data]
from datasets import Dataset

from ftkit.chat import reply_loss_rows
from ftkit.tasks import reasoning_task

train, test = reasoning_task(n_train=1200, n_test=100, steps=2, seed=0)
# loss on the replies only, whatever the template (see SFT data)
rows, reply_loss = reply_loss_rows(
    tokenizer, [{"messages": row["messages"]} for row in train]
)
dataset = Dataset.from_list(rows)
print(dataset)
print(tokenizer.apply_chat_template(train[0]["messages"], tokenize=False))
# --8<-- [end:data]

# --8<-- [start:train]
from transformers import ProgressCallback
from trl import SFTConfig, SFTTrainer

from ftkit.evaluate import reasoning_scores

config = SFTConfig(
    output_dir="outputs",
    max_steps=300,
    per_device_train_batch_size=32,  # T4: 2, and 4 below
    gradient_accumulation_steps=1,
    learning_rate=3e-3,  # real models: 2e-4
    lr_scheduler_type="linear",
    warmup_steps=0,
    logging_steps=100,
    optim="adamw_torch",
    seed=0,
    report_to="none",
    save_strategy="no",
    bf16=False,
    gradient_checkpointing=False,
    use_cpu=True,  # T4: fp16=True, drop use_cpu
    **reply_loss,
)
trainer = SFTTrainer(
    model=model, args=config, train_dataset=dataset, processing_class=tokenizer
)
# the page prints its own log; in Colab keep the bar
trainer.remove_callback(ProgressCallback)
stats = trainer.train()
print(
    f"trained {stats.global_step} steps, "
    f"final loss {trainer.state.log_history[-2]['loss']:.3f}"
)
# TRL casts the trainable weights of a quantized model to bf16 (as the QLoRA
# paper does); this CPU run computes in fp32, so cast them back before
# generating. With bf16 compute: not needed.
for param in model.parameters():
    if param.requires_grad:
        param.data = param.data.to(DTYPE)
print("QLoRA model:", reasoning_scores(model, tokenizer, test))
# --8<-- [end:train]

# --8<-- [start:save]
import os

model.save_pretrained("lora_model")  # the adapter only, as safetensors
tokenizer.save_pretrained("lora_model")
# adapter_config.json names the base model's path or id
print(sorted(os.listdir("lora_model")))
print(
    "adapter weights: "
    f"{os.path.getsize('lora_model/adapter_model.safetensors'):,} bytes"
)
# --8<-- [end:save]

# --8<-- [start:merge]
from peft import PeftModel

# not 4-bit
base16 = AutoModelForCausalLM.from_pretrained(MODEL_ID, dtype=torch.float16)
merged = PeftModel.from_pretrained(base16, "lora_model").merge_and_unload()
merged.save_pretrained("merged_16bit")  # safetensors by default
tokenizer.save_pretrained("merged_16bit")
print(type(merged).__name__, next(merged.parameters()).dtype)
print("merged 16-bit:", reasoning_scores(merged.float(), tokenizer, test))
# --8<-- [end:merge]

# --8<-- [start:gguf]
from ftkit.export import to_gguf

path = to_gguf("merged_16bit", "merged_16bit/model-Q8_0.gguf", qtype="Q8_0")
print(path.name, f"{path.stat().st_size:,} bytes")
gguf_model = AutoModelForCausalLM.from_pretrained(
    "merged_16bit", gguf_file=path.name
)
print("GGUF Q8_0, read back:", reasoning_scores(gguf_model, tokenizer, test))
# --8<-- [end:gguf]
