"""ftkit: the small, readable training package behind the LLM Fine-Tuning Study Guide.

One module per concept, each readable top to bottom:

- ``ftkit.tiny``: tiny seeded models and a locally trained tokenizer, loaded like a hub id.
- ``ftkit.lora``: LoRA and DoRA from scratch (layer, injection, merge, peft-format adapters).
- ``ftkit.data``: the small tasks, chat batching with assistant-only labels, data set validation.
- ``ftkit.train``: the full-batch training loop the chapters share.
- ``ftkit.quant``: INT8 and block-wise NF4/FP4 with double quantization, as bitsandbytes does it.
- ``ftkit.memory``: training-memory estimates, and measured peaks on the CPU.
- ``ftkit.evaluate``: greedy replies and held-out scores (format, exact match).
- ``ftkit.losses``: DPO (sigmoid, IPO, hinge), the reward-model loss and GRPO advantages.
- ``ftkit.export``: GGUF files for llama.cpp, written from a saved Llama model.
- ``ftkit.vlm``: the shapes task for the tiny VLM, the image-chat collator, and greedy answers.

Nothing here touches the network, and importing ftkit does no I/O.
"""

__version__ = "0.1.0"
