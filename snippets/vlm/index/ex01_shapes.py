"""LoRA on a tiny LLaVA-style VLM: shape and colour questions, accuracy
before and after.

Run alone: python snippets/vlm/index/ex01_shapes.py
"""

# --8<-- [start:build]
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from ftkit.tiny_vlm import tiny_vlm

MODEL_ID = tiny_vlm()  # Colab GPU: "llava-hf/llava-interleave-qwen-0.5b-hf"
processor = AutoProcessor.from_pretrained(MODEL_ID)
model = AutoModelForImageTextToText.from_pretrained(MODEL_ID)

print(type(model).__name__, "with", type(processor.image_processor).__name__)
for name, part in model.model.named_children():
    print(
        f"  {name:22} "
        f"{sum(p.numel() for p in part.parameters()):>7,} parameters"
    )
print(f"  {'lm_head':22} {model.lm_head.weight.numel():>7,} parameters")
vision = model.config.vision_config
patches = (vision.image_size // vision.patch_size) ** 2
print(
    f"a {vision.image_size}x{vision.image_size} image -> {patches} patches "
    f"of {vision.patch_size}x{vision.patch_size} pixels "
    f"-> {patches} image tokens"
)
# --8<-- [end:build]

# --8<-- [start:probe]
from ftkit.tiny_vlm import TinyVLMConfig
from ftkit.shapes import shape_probe

random_tower = AutoModelForImageTextToText.from_pretrained(
    # the tiny recipe, its vision tower untrained
    tiny_vlm(TinyVLMConfig(vision_pretrain_steps=0))
)
# each tower reads pictures the way its own processor prepares them
random_processor = AutoProcessor.from_pretrained(random_tower.name_or_path)
for name, vlm, images in (
    ("random", random_tower, random_processor.image_processor),
    ("pretrained", model, processor.image_processor),
):
    score = shape_probe(vlm.model.vision_tower, images)
    print(f"shape probe, {name + ' vision tower:':24} {score:.0%}")
# --8<-- [end:probe]

# --8<-- [start:data]
from collections import Counter

from ftkit.shapes import ascii_image, shapes_task

train, test = shapes_task(n_train=1200, n_test=120, seed=0)
print(
    len(train),
    "training rows,",
    len(test),
    "test rows;",
    dict(Counter(r["task"] for r in test)),
)
row = train[0]
print(ascii_image(row["images"][0]))
print(row["messages"])
# --8<-- [end:data]

# --8<-- [start:collate]
from ftkit.chat import show_loss_tokens
from ftkit.vlm import VisionChatCollator

collator = VisionChatCollator(processor)
batch = collator(train[:2])
print({name: tuple(value.shape) for name, value in batch.items()})
shown = show_loss_tokens(
    processor.tokenizer, batch["input_ids"][0], batch["labels"][0]
)
print(shown.replace("<image>" * patches, f"<image> x {patches} "))
# --8<-- [end:collate]

# --8<-- [start:interleaved]
two_pictures = {
    "images": [test[0]["images"][0], test[1]["images"][0]],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare "},
                {"type": "image"},
                {"type": "text", "text": " with "},
                {"type": "image"},
                {"type": "text", "text": ". Same colour?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "no"}]},
    ],
}
batch = collator([two_pictures, train[0]])
image_tokens = (batch["input_ids"] == model.config.image_token_id).sum(dim=1)
print("image tokens per row:", image_tokens.tolist())
print("pixel_values:", tuple(batch["pixel_values"].shape))

# one picture lost
broken = {**two_pictures, "images": two_pictures["images"][:1]}
try:
    collator([train[0], broken])
except ValueError as error:
    print("ValueError:", error)
# --8<-- [end:interleaved]

# --8<-- [start:before]
from ftkit.vlm import answer_images


def accuracy(model, rows):
    """Exact-match accuracy of greedy replies, per question type (a share
    from 0 to 1), and the replies."""
    replies = answer_images(model, processor, rows)
    right = {}
    for reply, row in zip(replies, rows, strict=True):
        right.setdefault(row["task"], []).append(
            reply == row["messages"][-1]["content"][0]["text"]
        )
    return {
        task: sum(hits) / len(hits) for task, hits in sorted(right.items())
    }, replies


def percent(scores):
    return {task: f"{share:.0%}" for task, share in scores.items()}


before, replies = accuracy(model, test)
print("before:", percent(before))
print("replies:", replies[:3])
# --8<-- [end:before]

# --8<-- [start:lora]
import random

from peft import LoraConfig, get_peft_model

STEPS = 300  # a real model: 1-3 epochs over your data
# a real model: 8-32 rows a step (a picture: 729 tokens in LLaVA-Interleave)
BATCH = 16
LEARNING_RATE = 3e-3  # Colab GPU: 2e-4
# the model and its batches go to the GPU when there is one
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def finetune(modules_to_save):
    """LoRA on the language model's linear layers, plus ``modules_to_save``
    trained in full."""
    base = AutoModelForImageTextToText.from_pretrained(MODEL_ID).to(DEVICE)
    torch.manual_seed(0)  # LoRA's A matrices start random
    config = LoraConfig(
        r=16,
        lora_alpha=32,
        # the language model's linear layers; the vision tower stays frozen
        target_modules=(
            r".*language_model.*\."
            r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
        ),
        # trained in full, saved with the adapter
        modules_to_save=modules_to_save,
        # lm_head tied to the embeddings (Qwen 0.5B): when lm_head is
        # trained, train one copy (peft warns if asked with nothing tied)
        ensure_weight_tying=(
            base.config.tie_word_embeddings and "lm_head" in modules_to_save
        ),
    )
    peft_model = get_peft_model(base, config)
    trainable = sum(
        p.numel() for p in peft_model.parameters() if p.requires_grad
    )
    total = sum(p.numel() for p in peft_model.parameters())
    print(f"trainable: {trainable:,} of {total:,} parameters")
    order = random.Random(0)
    optimizer = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad],
        lr=LEARNING_RATE,
    )
    peft_model.train()
    losses = []
    for step in range(1, STEPS + 1):
        batch = collator(order.sample(train, BATCH))
        loss = peft_model(**{k: v.to(DEVICE) for k, v in batch.items()}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        # the mean of the last 50 batches: one batch's loss is noisy
        if step % 50 == 0:
            print(
                f"steps {step - 49:3}-{step:<3}  "
                f"mean loss {sum(losses[-50:]) / 50:.3f}"
            )
    return peft_model


tuned = finetune(modules_to_save=["multi_modal_projector"])
# --8<-- [end:lora]

# --8<-- [start:after]
after, replies = accuracy(tuned, test)
print("after: ", percent(after))
for row, reply in list(zip(test, replies, strict=True))[:4]:
    question = row["messages"][0]["content"][1]["text"]
    print(f"  {question:26} -> {reply}")
# --8<-- [end:after]

# --8<-- [start:diagnose]
from collections import Counter

from ftkit.tiny import corpus


def reply_probabilities(model, row):
    """The probability the model gives each reply token, teacher-forced."""
    batch = {k: v.to(model.device) for k, v in collator([row]).items()}
    with torch.no_grad():
        logits = model(**batch).logits[0]
    targets = (batch["labels"][0] != -100).nonzero().flatten().tolist()
    return [
        (
            processor.tokenizer.decode([batch["input_ids"][0, t]]),
            logits[t - 1].softmax(-1)[batch["input_ids"][0, t]].item(),
        )
        for t in targets
    ]


red = next(
    row for row in test if row["messages"][-1]["content"][0]["text"] == "red"
)
print(
    "p(reply token):",
    [(token, round(p, 2)) for token, p in reply_probabilities(tuned, red)],
)

tokenizer = processor.tokenizer
seen = Counter(
    i
    for line in corpus()
    for i in tokenizer(line, add_special_tokens=False).input_ids
)
print(
    "'re' in the base model's pretraining text:",
    seen[tokenizer.convert_tokens_to_ids("re")],
)
print(
    "tokens never seen in pretraining: "
    f"{sum(seen[i] == 0 for i in range(len(tokenizer)))} "
    f"of {len(tokenizer)}"
)
# --8<-- [end:diagnose]

# --8<-- [start:fix]
tuned = finetune(modules_to_save=["multi_modal_projector", "lm_head"])
after, replies = accuracy(tuned, test)
print("after: ", percent(after))
print(
    "p(reply token):",
    [(token, round(p, 2)) for token, p in reply_probabilities(tuned, red)],
)
# --8<-- [end:fix]

# --8<-- [start:card]
from pathlib import Path

from peft.tuners.lora import LoraLayer

from ftkit.deploy import model_card

# the cards name the base by its hub id; a local build has none
BASE_MODEL = None if Path(MODEL_ID).is_dir() else MODEL_ID
lora = tuned.peft_config["default"]  # the run's own LoRA settings
wrapped = [n for n, m in tuned.named_modules() if isinstance(m, LoraLayer)]
projections = sorted({name.split(".")[-1] for name in wrapped})
run = dict(  # what both cards say, from the run
    base_model=BASE_MODEL,
    base_description=(
        f"A {model.num_parameters():,}-parameter LLaVA-style VLM "
        "built by ftkit.tiny_vlm"
    ),
    data=(
        f"{len(train)} colour and shape questions on generated 32x32 "
        "pictures, by ftkit.shapes.shapes_task"
    ),
    method=(
        "LoRA on the language model, "
        f"with {' and '.join(lora.modules_to_save)} trained in full"
    ),
    hyperparameters={
        "LoRA r": lora.r,
        "LoRA alpha": lora.lora_alpha,
        "LoRA on": f"{len(wrapped)} layers: {', '.join(projections)}",
        "trained in full": ", ".join(lora.modules_to_save),
        "steps": STEPS,
        "batch": BATCH,
        "learning rate": LEARNING_RATE,
    },
    results={f"{task} accuracy": v for task, v in after.items()},
    baseline={f"{task} accuracy": v for task, v in before.items()},
    limitations=[
        "Sees 32x32 pictures of one shape in one colour, nothing else.",
        "Answers the two questions it was trained on, in one word.",
        f"Tested on {len(test)} pictures from the same generator.",
    ],
    license="apache-2.0",
    pipeline_tag="image-text-to-text",
    tags=["llava", "lora", "vision-language"],
)
card = model_card(name="tiny-vlm-shapes", **run)
for line in card.text.splitlines():  # the card's two tables
    if line.startswith("| ") and not line.startswith("| ---"):
        print(line)
# --8<-- [end:card]

# --8<-- [start:adapter]
import tempfile
from pathlib import Path

from peft import PeftModel

from ftkit.deploy import check_upload_folder

adapter_dir = Path(tempfile.mkdtemp()) / "tiny-vlm-shapes-lora"
# before merging: the adapter's config and weights, and a README of
# peft's own, which the card replaces
tuned.save_pretrained(adapter_dir)
adapter_card = model_card(
    name="tiny-vlm-shapes-lora", library_name="peft", **run
)
adapter_card.save(adapter_dir / "README.md")
print("files to upload:", ", ".join(check_upload_folder(adapter_dir)))
size = (adapter_dir / "adapter_model.safetensors").stat().st_size
print(f"adapter_model.safetensors: {size:,} bytes")

# what a user does: load the base model, then the adapter on it
loaded = PeftModel.from_pretrained(
    AutoModelForImageTextToText.from_pretrained(MODEL_ID), adapter_dir
).to(DEVICE)
tuned.eval()
batch = {k: v.to(DEVICE) for k, v in collator(test[:8]).items()}
with torch.no_grad():
    gap = (loaded(**batch).logits - tuned(**batch).logits).abs().max()
print(
    "adapter on a fresh base, max logit difference < 1e-5:", gap.item() < 1e-5
)
# --8<-- [end:adapter]

# --8<-- [start:publish]
import shutil

from huggingface_hub import ModelCard

from ftkit.deploy import DeployError

out = Path(tempfile.mkdtemp()) / "tiny-vlm-shapes"
# LoRA folded into the weights: a plain LLaVA again
merged = tuned.merge_and_unload()
merged.save_pretrained(out)  # safetensors
# the image processor, tokenizer and chat template
processor.save_pretrained(out)
card.save(out / "README.md")
back = ModelCard.load(out / "README.md")  # parse the YAML header back
print("header round-trip:", back.data.to_dict() == card.data.to_dict())
print(
    f"pipeline_tag: {back.data.pipeline_tag} | license: {back.data.license}"
    f" | results: {len(back.data.eval_results)}"
)
print("files to upload:", ", ".join(check_upload_folder(out)))
size = (out / "model.safetensors").stat().st_size
print(f"model.safetensors: {size:,} bytes")

# a common slip: the model saved, the processor forgotten
slip = out.with_name("no-processor")
shutil.copytree(out, slip, ignore=shutil.ignore_patterns("processor_*"))
try:
    check_upload_folder(slip)
except DeployError as err:
    print(str(err).replace(str(slip), "<folder>"))

reloaded = AutoModelForImageTextToText.from_pretrained(out)
print("reloaded:", percent(accuracy(reloaded, test)[0]))
# --8<-- [end:publish]

# --8<-- [start:llamafactory]
import json

data_dir = Path(tempfile.mkdtemp()) / "data"
(data_dir / "shapes").mkdir(parents=True)
records = []
for i, row in enumerate(train[:200]):
    image_path = f"shapes/{i}.png"
    row["images"][0].save(data_dir / image_path)
    question = row["messages"][0]["content"][1]["text"]
    answer = row["messages"][1]["content"][0]["text"]
    records.append(
        {
            "messages": [
                {"role": "user", "content": "<image>" + question},
                {"role": "assistant", "content": answer},
            ],
            "images": [image_path],
        }
    )
(data_dir / "shapes.json").write_text(json.dumps(records, indent=1))
dataset_info = {
    "shapes": {
        "file_name": "shapes.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
}
(data_dir / "dataset_info.json").write_text(json.dumps(dataset_info, indent=1))
print(json.dumps(records[0]))
print(len(list((data_dir / "shapes").iterdir())), "PNG files")
# --8<-- [end:llamafactory]
