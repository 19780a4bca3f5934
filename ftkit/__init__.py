"""ftkit: the small, readable training package behind the LLM Fine-Tuning Study Guide.

One module per concept, each readable top to bottom. At the bottom, depending on nothing else
in ftkit: ``cache``, ``chat``, ``train`` and the algorithms; then the data (``validation``,
``tasks``, ``shapes``) and the tiny models (``tiny``, ``tiny_vlm``); on top ``evaluate`` and
``vlm``. Nothing imports upward.

- ``ftkit.cache``: the folder of built models, one per recipe, never half-written.
- ``ftkit.chat``: the messages format, its one set of checks, chat batches with assistant-only
  labels, and the FAQ chats of the PEFT and LoRA chapters.
- ``ftkit.train``: the training loop the chapters share.
- ``ftkit.lora``: LoRA and DoRA from scratch (layer, injection, merge, peft-format adapters).
- ``ftkit.quant``: INT8 and block-wise NF4/FP4 with double quantization, as bitsandbytes does it.
- ``ftkit.losses``: DPO (sigmoid, IPO, hinge), the reward-model loss, GRPO advantages and the
  distillation loss (soft targets at a temperature, plus the labels).
- ``ftkit.memory``: training-memory estimates, and measured peaks on the CPU.
- ``ftkit.export``: GGUF files for llama.cpp, written from a saved Llama model.
- ``ftkit.rouge``: ROUGE-1, ROUGE-2 and ROUGE-L from scratch, as rouge-score computes them.
- ``ftkit.validation``: data set files checked row by row, every problem named by line and field.
- ``ftkit.tasks``: the reasoning task, its preference pairs, the retrieval pairs.
- ``ftkit.shapes``: the shapes task of the vision-language chapter.
- ``ftkit.text2text``: the T5 chapter's summaries and Toylang, and its unlabelled text.
- ``ftkit.tiny``: a tiny seeded Llama and a locally trained tokenizer, loaded like a hub id.
- ``ftkit.tiny_vlm``: a tiny LLaVA-style VLM built from the tiny Llama and a SigLIP tower.
- ``ftkit.tiny_t5``: a tiny seeded T5, span corruption and T5's relative position buckets.
- ``ftkit.evaluate``: greedy replies and held-out scores (format, exact match, retrieval).
- ``ftkit.vlm``: the image-chat collator and greedy answers to images.
- ``ftkit.distill``: a student cut from a teacher's layers, and the cached reasoning teacher.
- ``ftkit.structured``: the structured-output chapter's orders, their JSON Schema, its scores
  and replies under a schema constraint (xgrammar).
- ``ftkit.multidevice``: the training script the multi-device chapter launches with torchrun
  (DDP or FSDP2, gloo on the CPU, NCCL on GPUs).
- ``ftkit.deploy``: GGUF checks, the llama.cpp runner, Ollama Modelfiles and their template,
  the chat app's backends, the model card and the upload folder check.
- ``ftkit.quiz``: the chapters' quizzes, read, checked and graded.
- ``ftkit.nav``: the guide's parts, read from the site's nav, and what each builds on (one rule
  for the home page's roadmap and the navigator).
- ``ftkit.guide``: the syllabus navigator (``python -m ftkit.guide``), a LangGraph graph with
  progress saved per student in SQLite.

Nothing here touches the network, and importing ftkit does no I/O.
"""

__version__ = "0.1.0"
