"""The QLoRA chatbot: a persona's chats, QLoRA training, held-out key facts,
the adapter merged into a full-precision model, the model as GGUF run by
llama.cpp, and an Ollama Modelfile checked against the chat template.

Run alone: python snippets/deployment/index/ex01_chatbot.py
"""

# --8<-- [start:data]
from ftkit.tasks import chat_turns, helpdesk_chats

train, test = helpdesk_chats(n_train=200, n_test=30)
held_out = chat_turns(test)  # one test per answered question


def questions(rows):
    return {
        m["content"]
        for row in rows
        for m, fact in zip(row["messages"][1::2], row["facts"], strict=True)
        if fact is not None
    }


turns = sum(len(row["facts"]) for row in train)
print(f"{len(train)} training chats, {turns} assistant turns")
print(f"{len(test)} test chats, {len(held_out)} answered questions")
print(
    "test questions seen in training:", len(questions(test) & questions(train))
)
print("distinct test questions:", len(questions(test)))
for message in test[1]["messages"]:
    print(f"{message['role']:>9}: {message['content']}")
# --8<-- [end:data]

# --8<-- [start:qlora]
import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
)

from ftkit.tiny import tiny_llama

# Colab GPU: "meta-llama/Llama-3.2-1B-Instruct"
MODEL_ID = tiny_llama(pretrain_steps=100)
COMPUTE_DTYPE = torch.float32  # Colab GPU: torch.bfloat16
# recompute activations in the backward pass: less memory, more time
CHECKPOINTING = False  # Colab GPU: True

bnb_config = BitsAndBytesConfig(
    load_in_4bit=True,
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=COMPUTE_DTYPE,
)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, quantization_config=bnb_config
)
model = prepare_model_for_kbit_training(
    model, use_gradient_checkpointing=CHECKPOINTING
)
# Every linear layer of the decoder, as in the QLoRA chapter, plus the
# output layer: the tiny base never wrote these words.
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
TARGETS += ["gate_proj", "up_proj", "down_proj", "lm_head"]
lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=TARGETS,
    task_type="CAUSAL_LM",
    # a model that ties lm_head to the embeddings (Llama 3.2) adapts both
    ensure_weight_tying=model.config.tie_word_embeddings,
)
torch.manual_seed(0)  # the adapters' A matrices start random
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
# --8<-- [end:qlora]

# --8<-- [start:train]
from ftkit.chat import chat_batch
from ftkit.train import train_steps

STEPS = 100  # Colab GPU: 300, with a real data set
BATCH = 20  # chats per step; Colab GPU: 8, with gradient accumulation
LR = 1e-2  # Colab GPU: 2e-4

chats = [row["messages"] for row in train]
batches = [
    chat_batch(tokenizer, chats[i : i + BATCH])
    for i in range(0, len(chats), BATCH)
]
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=LR)
# the learning rate falls linearly to 0, as TRL's default schedule does
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: 1 - step / STEPS
)
step = 0


def next_loss():
    """The loss on the next batch, after the last step's schedule update."""
    global step
    if step:
        schedule.step()  # after the optimizer's step, as PyTorch asks
    batch = batches[step % len(batches)]
    step += 1
    return model(**batch).loss


model.train()
losses = train_steps(next_loss, optimizer, STEPS)
print("step   loss")
for s in range(0, STEPS, 20):
    print(f"{s:>4} {losses[s]:>6.2f}")
print(f"{STEPS - 1:>4} {losses[-1]:>6.2f}")
# --8<-- [end:train]

# --8<-- [start:evaluate]
from ftkit.evaluate import exact_match, generate_replies, key_fact_rate

# longer than the longest reply (the decline, 27 tokens with its end)
MAX_TOKENS = 32
prompts = [turn["prompt"] for turn in held_out]
facts = [turn["fact"] for turn in held_out]
references = [turn["reply"] for turn in held_out]
with model.disable_adapter():  # the base model, before fine-tuning
    before = generate_replies(
        model, tokenizer, prompts, max_new_tokens=MAX_TOKENS
    )
replies = generate_replies(
    model, tokenizer, prompts, max_new_tokens=MAX_TOKENS
)
for name, got in (("base", before), ("QLoRA", replies)):
    print(
        f"{name:<6} key facts {key_fact_rate(got, facts):>4.0%}"
        f"  exact replies {exact_match(got, references):>4.0%}"
    )
# --8<-- [end:evaluate]

# --8<-- [start:merge]
import tempfile
import warnings
from pathlib import Path

from peft import PeftModel

work = Path(tempfile.mkdtemp())
# the adapters only (the output layer itself is unchanged: not saved)
model.save_pretrained(work / "adapter", save_embedding_layers=False)


def logits(m, chats):
    text = [
        tokenizer.apply_chat_template(
            c, tokenize=False, add_generation_prompt=True
        )
        for c in chats
    ]
    # the chat template writes the BOS token itself
    batch = tokenizer(
        text, return_tensors="pt", padding=True, add_special_tokens=False
    )
    with torch.no_grad():
        return m(**batch.to(m.device)).logits


if tokenizer.pad_token is None:  # Llama 3 has none: pad with its EOS token,
    tokenizer.pad_token = tokenizer.eos_token  # as ftkit's chat_batch does


def merge_adapter(base):
    """``base`` with the saved adapter merged into its weights."""
    adapted = PeftModel.from_pretrained(base, work / "adapter")
    if base.config.tie_word_embeddings:
        # Llama 3.2's lm_head is its embedding matrix: merging each layer
        # would add their shared adapter to it twice. Untie it first.
        head = adapted.get_output_embeddings().base_layer
        head.weight = torch.nn.Parameter(head.weight.detach().clone())
        base.config.tie_word_embeddings = False
    return adapted.merge_and_unload()


trained = logits(model, prompts)  # NF4 base + adapters, as trained

# Right: dequantize the NF4 base to full precision first, then merge.
base = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, quantization_config=bnb_config
).dequantize()
merged = merge_adapter(base)
merged.save_pretrained(work / "merged")
tokenizer.save_pretrained(work / "merged")
weight = merged.model.layers[0].self_attn.q_proj.weight
print("merged weights:", weight.dtype, type(merged).__name__)
gap = (logits(merged, prompts) - trained).abs().max().item()
print(f"dequantize, then merge: max logit difference < 1e-4: {gap < 1e-4}")

# Wrong 1: merge into the original fp32 weights, which are not the NF4
# weights the adapters were trained against.
original = AutoModelForCausalLM.from_pretrained(MODEL_ID)
gap = (logits(merge_adapter(original), prompts) - trained).abs().max()
print(f"merge into the fp32 original: max logit difference {gap:.2f}")

# Wrong 2: merge into the 4-bit layers: the sum is quantized back to NF4,
# which rounds most of the small update away.
four_bit = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, quantization_config=bnb_config
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")  # record peft's warning, shown below
    requantized = merge_adapter(four_bit)
print(
    "peft warns:", next(w.message for w in caught if "4-bit" in str(w.message))
)
gap = (logits(requantized, prompts) - trained).abs().max()
print(f"merge into NF4 layers: max logit difference {gap:.2f}")
# --8<-- [end:merge]

# --8<-- [start:export]
from ftkit.deploy import check_gguf
from ftkit.export import ExportError, llama_cpp_pre_tokenizer, to_gguf

# how llama.cpp must split text before the merges, read off the tokenizer
print("pre-tokenizer:", llama_cpp_pre_tokenizer(tokenizer))
files = {
    qtype: to_gguf(work / "merged", work / f"tilly-{qtype}.gguf", qtype)
    for qtype in ("F16", "Q8_0")
}
for qtype, path in files.items():
    info = check_gguf(path)
    print(
        f"{qtype:<5} {path.stat().st_size:>7,} bytes, "
        f"{info['tensors']} tensors, chat template: "
        f"{info['chat_template'] == tokenizer.chat_template}"
    )
try:  # a classic slip: the adapter's folder instead of the merged model's
    to_gguf(work / "adapter", work / "adapter.gguf")
except ExportError as err:
    print(str(err).replace(str(work), "<work>"))
# --8<-- [end:export]

# --8<-- [start:run]
import torch

from ftkit.deploy import llama_cpp_generate
from ftkit.evaluate import key_fact_rate

texts = [
    tokenizer.apply_chat_template(
        p, tokenize=False, add_generation_prompt=True
    )
    for p in prompts
]
ours = [tokenizer(t, add_special_tokens=False).input_ids for t in texts]
merged.generation_config.max_length = None
with torch.no_grad():
    hf = [
        merged.generate(
            torch.tensor([ids]), max_new_tokens=MAX_TOKENS, do_sample=False
        )[0, len(ids) :].tolist()
        for ids in ours
    ]
hf = [t[:-1] if t[-1] == tokenizer.eos_token_id else t for t in hf]
n = len(prompts)
rates = {"transformers": key_fact_rate(replies, facts)}
for qtype, path in files.items():
    runs = llama_cpp_generate(path, texts, max_tokens=MAX_TOKENS)
    same_prompt = sum(
        r["prompt_tokens"] == i for r, i in zip(runs, ours, strict=True)
    )
    same = sum(r["tokens"] == t for r, t in zip(runs, hf, strict=True))
    rates[f"llama.cpp {qtype}"] = key_fact_rate(
        [r["text"] for r in runs], facts
    )
    print(f"llama.cpp {qtype}: prompts tokenized alike {same_prompt}/{n}")
    if qtype == "F16":  # the same tokens, every reply
        print(f"llama.cpp {qtype}: replies token for token {same}/{n}")
    else:  # a few near ties flip, and which ones depends on the machine
        bound = f"replies token for token >= {n - 4}/{n}"
        print(f"llama.cpp {qtype}: {bound}: {same >= n - 4}")
for name, rate in rates.items():
    print(f"key facts, {name:<15} {rate:>4.0%}")
# --8<-- [end:run]

# --8<-- [start:truncated]
from ftkit.deploy import DeployError

cut = work / "tilly-cut.gguf"
cut.write_bytes(files["Q8_0"].read_bytes()[:50_000])  # a download cut short
try:
    llama_cpp_generate(cut, texts[:1])
except DeployError as err:
    print(str(err).replace(str(work), "<work>"))
# --8<-- [end:truncated]

# --8<-- [start:modelfile]
from ftkit.deploy import OLLAMA_NUM_CTX, modelfile
from ftkit.tasks import HELPDESK_SYSTEM

text = modelfile(
    files["Q8_0"].name,
    tokenizer,
    system=HELPDESK_SYSTEM,
    # the KV cache Ollama allocates: the model's positions (256 here,
    # 131,072 for Llama 3.2), at most Ollama's own default of 4,096
    num_ctx=min(merged.config.max_position_embeddings, OLLAMA_NUM_CTX),
)
(work / "Modelfile").write_text(text)
print(text)
# --8<-- [end:modelfile]

# --8<-- [start:check]
from ftkit.deploy import DeployError, check_modelfile

# Ollama is sent the chat without the system message: SYSTEM adds it
requests = [p[1:] for p in prompts]
agree = check_modelfile(work / "Modelfile", tokenizer, requests)
print(f"{agree} chats rendered alike by the Modelfile and the chat template")

# A common slip: a template copied from another model's Modelfile that
# forgets a newline after each role header.
broken = text.replace("\n{{ .Content }}", "{{ .Content }}")
(work / "Modelfile.broken").write_text(broken)
try:
    check_modelfile(work / "Modelfile.broken", tokenizer, requests)
except DeployError as err:
    print(str(err).replace(str(work), "<work>"))
# --8<-- [end:check]

# --8<-- [start:app]
import shutil

from ftkit.deploy import app_folder

# where apps/chat/app.py looks first: the merged model, its GGUF, the Modelfile
APP = app_folder()
shutil.rmtree(APP, ignore_errors=True)
shutil.copytree(work / "merged", APP)
for name in (files["Q8_0"].name, "Modelfile"):
    shutil.copy(work / name, APP / name)
print(*sorted(p.name for p in APP.iterdir()), sep="\n")
# --8<-- [end:app]

# --8<-- [start:card]
from pathlib import Path

from huggingface_hub import ModelCard

from ftkit.deploy import check_upload_folder, model_card

# the card names the base by its hub id; a local build has none
BASE_MODEL = None if Path(MODEL_ID).is_dir() else MODEL_ID
card = model_card(
    name="tilly-helpdesk",
    base_model=BASE_MODEL,
    base_description="A 0.16M-parameter Llama built by ftkit.tiny",
    data=f"{len(train)} help-desk chats by ftkit.tasks.helpdesk_chats",
    method=f"QLoRA (NF4, r=8, alpha=16), merged into {weight.dtype}",
    hyperparameters={"steps": STEPS, "batch": BATCH, "learning rate": LR},
    results={
        "key fact rate": key_fact_rate(replies, facts),
        "exact match": exact_match(replies, references),
    },
    limitations=[
        "Knows one made-up library; every other question is declined.",
        "Trained on chats of at most two turns of a 256-token context.",
    ],
)
card.save(APP / "README.md")
back = ModelCard.load(APP / "README.md")  # parse the YAML header back
print("header round-trip:", back.data.to_dict() == card.data.to_dict())
print("license:", back.data.license, "| results:", len(back.data.eval_results))
print("files to upload:", ", ".join(check_upload_folder(APP)))
# --8<-- [end:card]
