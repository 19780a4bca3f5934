"""ftkit: the small, readable training package behind the LLM Fine-Tuning Study Guide.

One module per concept, each readable top to bottom:

- ``ftkit.tiny``: tiny seeded models and a locally trained tokenizer, loaded like a hub id.
- ``ftkit.lora``: LoRA and DoRA from scratch (layer, injection, merge, peft-format adapters).

Nothing here touches the network, and importing ftkit does no I/O.
"""

__version__ = "0.1.0"
