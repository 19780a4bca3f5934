"""The shapes of Meta's Llama models, for estimates that need no weights.

``LLAMA_CONFIGS`` maps a model name to the ``LlamaConfig`` fields that decide its size and its
memory: ``ftkit.memory.llama_config(name)`` builds the config, ``ftkit.memory.estimate`` and the
PEFT chapter's meta-device models use it. Nothing is downloaded.
"""

# Published values from each model's config.json on the Hugging Face hub (Meta, 2023-2024);
# LLaMA-65B also in Touvron et al. 2023, arXiv:2302.13971, Table 2. Shapes only, no weights.
LLAMA_CONFIGS = {
    "Llama-3.2-1B": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128_256,
        tie_word_embeddings=True,
    ),
    "Llama-3.2-3B": dict(
        hidden_size=3072,
        intermediate_size=8192,
        num_hidden_layers=28,
        num_attention_heads=24,
        num_key_value_heads=8,
        vocab_size=128_256,
        tie_word_embeddings=True,
    ),
    "Llama-3.1-8B": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128_256,
        tie_word_embeddings=False,
    ),
    "Llama-3.1-70B": dict(
        hidden_size=8192,
        intermediate_size=28672,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
        vocab_size=128_256,
        tie_word_embeddings=False,
    ),
    "LLaMA-65B": dict(
        hidden_size=8192,
        intermediate_size=22016,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=64,
        vocab_size=32_000,
        tie_word_embeddings=False,
    ),
}
