"""QLoRA end to end on the CPU: a 4-bit NF4 base, LoRA adapters, a paged
8-bit optimizer.

Run alone: python snippets/quantization/qlora/ex01_qlora.py
"""

# --8<-- [start:load]
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
)

from ftkit.chat import chat_batch, faq
from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
COMPUTE_DTYPE = torch.float32  # on a GPU: torch.bfloat16

bnb_config = BitsAndBytesConfig(
    load_in_4bit=True,  # linear layers stored as NF4 codes + block scales
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,  # quantize the scales too
    # each layer dequantizes to this for its matmul
    bnb_4bit_compute_dtype=COMPUTE_DTYPE,
)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, quantization_config=bnb_config
)
# the same weights in fp32
reference = AutoModelForCausalLM.from_pretrained(MODEL_ID)

q_proj = model.model.layers[0].self_attn.q_proj
weight = q_proj.weight
print(
    type(q_proj).__name__, weight.dtype, tuple(weight.shape), weight.quant_type
)
print(
    "bytes fp32:",
    reference.get_memory_footprint(),
    " 4-bit:",
    model.get_memory_footprint(),
)
# --8<-- [end:load]

# --8<-- [start:lora]
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

# Freezes the base and upcasts the weights that are not 4-bit to fp32. With
# checkpointing (off here: tiny model, CPU) it would also switch
# checkpointing on and enable input gradients.
model = prepare_model_for_kbit_training(
    model, use_gradient_checkpointing=False
)
config = LoraConfig(
    r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"
)
torch.manual_seed(0)  # the adapters' A matrices start random
model = get_peft_model(model, config)
model.print_trainable_parameters()
# --8<-- [end:lora]

# --8<-- [start:train]
import bitsandbytes as bnb

# forward, backward, step: the loop of every chapter
from ftkit.train import loss_curve

batch = chat_batch(tokenizer, faq())  # 12 questions; loss on the answers only
STEPS = 60


params = [p for p in model.parameters() if p.requires_grad]
if torch.cuda.is_available():
    # QLoRA's paged 8-bit AdamW: states page out to CPU RAM
    optimizer = bnb.optim.PagedAdamW8bit(params, lr=1e-2)
else:
    # paging needs CUDA; tensors this small get 32-bit states from
    # bitsandbytes anyway
    optimizer = torch.optim.AdamW(params, lr=1e-2)
qlora = loss_curve(model, batch, optimizer, STEPS)

torch.manual_seed(0)  # the same LoRA on the fp32 base, for comparison
lora = get_peft_model(
    reference, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear")
)
lora_params = [p for p in lora.parameters() if p.requires_grad]
plain = loss_curve(lora, batch, torch.optim.AdamW(lora_params, lr=1e-2), STEPS)

print("step   QLoRA    LoRA (fp32 base)")
for step in range(0, STEPS + 1, 10):
    print(f"{step:>4} {qlora[step]:>7.3f} {plain[step]:>7.3f}")
# --8<-- [end:train]
