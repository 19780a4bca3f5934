"""A tiny T5, loaded like t5-small: its tokenizer, its sentinels and its
relative position buckets.

Run alone: python snippets/bert-t5/t5/ex01_model.py
"""

# --8<-- [start:load]
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from ftkit.tiny_t5 import tiny_t5

# Colab GPU: "google/flan-t5-base"
MODEL_ID = tiny_t5(pretrain_steps=60)
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL_ID)
config = model.config
print(type(model).__name__, f"{model.num_parameters():,} parameters")
print(
    f"encoder {config.num_layers} layers, decoder {config.num_decoder_layers}"
    f", d_model {config.d_model}, {config.num_heads} heads"
)
print(type(tokenizer).__name__, f"{len(tokenizer):,} tokens")
for token in ["<pad>", "</s>", "<unk>", "<extra_id_0>", "<extra_id_99>"]:
    print(f"  {token:14} id {tokenizer.convert_tokens_to_ids(token)}")
print("decoder_start_token_id:", config.decoder_start_token_id)
ids = tokenizer("summarize: The council met.").input_ids
print(tokenizer.convert_ids_to_tokens(ids))
# --8<-- [end:load]

# --8<-- [start:buckets]
import torch
from transformers.models.t5.modeling_t5 import T5Attention

from ftkit.tiny_t5 import relative_position_bucket

offsets = [-200, -128, -64, -16, -8, -4, -1, 0, 1, 4, 8, 16, 64, 128, 200]
encoder = relative_position_bucket(torch.tensor(offsets), bidirectional=True)
decoder = relative_position_bucket(torch.tensor(offsets), bidirectional=False)
print("key - query", *(f"{o:>4}" for o in offsets))
print("encoder    ", *(f"{b:>4}" for b in encoder.tolist()))
print("decoder    ", *(f"{b:>4}" for b in decoder.tolist()))

every = torch.arange(-1000, 1001)
same = all(
    torch.equal(
        relative_position_bucket(every, bidirectional),
        T5Attention._relative_position_bucket(every, bidirectional),
    )
    for bidirectional in (True, False)
)
print("same buckets as transformers' T5Attention:", same)

# one learned scalar per bucket and head, in the first block of each stack
for name, stack in [("encoder", model.encoder), ("decoder", model.decoder)]:
    for i, block in enumerate(stack.block):
        attention = block.layer[0].SelfAttention
        if attention.has_relative_attention_bias:
            shape = tuple(attention.relative_attention_bias.weight.shape)
            print(f"{name}: block {i} of {len(stack.block)} holds it, {shape}")
# --8<-- [end:buckets]
