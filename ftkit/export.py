"""Export: a fine-tuned Llama-architecture model as a GGUF file for llama.cpp and Ollama.

The usual tool is llama.cpp's ``convert_hf_to_gguf.py``, which lives in the llama.cpp
repository, not on PyPI. This module does the same job for Llama models with the ``gguf``
package that llama.cpp publishes: the architecture as metadata, the byte-level BPE tokenizer
and chat template, and every tensor under llama.cpp's name, in F32, F16 or Q8_0. The file
round-trips: transformers loads it back (``from_pretrained(folder, gguf_file=name)``) with
the same tokens and, in F32, the same logits (tested).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

QTYPES = ("F32", "F16", "Q8_0")


class ExportError(ValueError):
    """The model or the options cannot be exported as asked; the message says what and why."""


def _permute_for_rope(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder q/k rows from Hugging Face's rotary layout to llama.cpp's, as its converter does.

    transformers rotates the two halves of each head (``rotate_half``); llama.cpp rotates
    adjacent pairs. Interleaving each head's halves makes the two compute the same thing.
    """
    rows = weight.shape[0]
    return (
        weight.reshape(n_heads, 2, rows // n_heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def _tokenizer_metadata(writer, tokenizer) -> None:
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    if spec["model"]["type"] != "BPE":
        raise ExportError(
            f"to_gguf: only BPE tokenizers are supported, got {spec['model']['type']}"
        )
    vocab = tokenizer.get_vocab()
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    control = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())
    writer.add_tokenizer_model("gpt2")  # llama.cpp's name for byte-level BPE
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(
        [
            gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL
            for i in range(len(tokens))
        ]
    )
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    writer.add_token_merges(merges)
    for key, value in [
        ("bos", tokenizer.bos_token_id),
        ("eos", tokenizer.eos_token_id),
        ("pad", tokenizer.pad_token_id),
    ]:
        if value is not None:
            getattr(writer, f"add_{key}_token_id")(value)
    writer.add_add_bos_token(False)  # the chat template writes <|begin|> itself
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def to_gguf(model_dir, path, qtype: str = "F16") -> Path:
    """Write the Llama model saved in ``model_dir`` (weights, config, tokenizer) as GGUF.

    Args:
        model_dir: a folder written by ``save_pretrained`` (a merged model, not an adapter).
        path: the ``.gguf`` file to write.
        qtype: ``"F32"``, ``"F16"`` or ``"Q8_0"`` (8-bit blocks of 32 with one F16 scale,
            8.5 bits per weight). Norm weights stay F32, as in llama.cpp.

    Returns:
        The path written.

    Raises:
        ExportError: an unknown ``qtype``, a folder without a model, a model that is not a
            Llama, or a tensor whose rows do not split into blocks of 32 for Q8_0 (named).
    """
    import gguf
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if qtype not in QTYPES:
        raise ExportError(f"to_gguf: qtype must be one of {', '.join(QTYPES)}, got {qtype!r}")
    model_dir, path = Path(model_dir), Path(path)
    if not (model_dir / "config.json").is_file():
        raise ExportError(f"to_gguf: {model_dir} has no config.json; save the merged model first")
    try:  # a folder a reader points at: any failure to load it is named, with its cause
        config = AutoConfig.from_pretrained(model_dir)
        if config.model_type != "llama":
            raise ExportError(
                f"to_gguf: only Llama models are supported, got {config.model_type!r}"
            )
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except ExportError:
        raise
    except Exception as err:  # transformers raises OSError, ValueError, safetensors' own errors
        raise ExportError(f"to_gguf: cannot load the model in {model_dir}: {err}") from None

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(model_dir.name)
    _model_metadata(writer, config, qtype)
    _tokenizer_metadata(writer, tokenizer)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # llama.cpp reuses token_embd for tied models
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ExportError(f"to_gguf: no llama.cpp name for tensor {name!r}")
        _add_tensor(writer, gguf_name, name, _llama_cpp_layout(name, tensor.numpy(), config), qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _model_metadata(writer, config, qtype: str) -> None:
    """The architecture's hyperparameters, as llama.cpp reads them."""
    import gguf

    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    file_types = {
        "F32": gguf.LlamaFileType.ALL_F32,
        "F16": gguf.LlamaFileType.MOSTLY_F16,
        "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }
    writer.add_file_type(file_types[qtype])


def _llama_cpp_layout(name: str, array: np.ndarray, config) -> np.ndarray:
    """q_proj and k_proj rows in llama.cpp's rotary order; every other tensor as it is."""
    if name.endswith("q_proj.weight"):
        return _permute_for_rope(array, config.num_attention_heads)
    if name.endswith("k_proj.weight"):
        return _permute_for_rope(array, config.num_key_value_heads)
    return array


def _add_tensor(writer, gguf_name: str, name: str, array: np.ndarray, qtype: str) -> None:
    """One tensor in ``qtype``; vectors (norms, biases) stay F32, as in llama.cpp."""
    import gguf

    if array.ndim == 1 or qtype == "F32":
        writer.add_tensor(gguf_name, array.astype(np.float32))
    elif qtype == "F16":
        writer.add_tensor(gguf_name, array.astype(np.float16))
    else:
        if array.shape[-1] % 32:
            raise ExportError(
                f"to_gguf: Q8_0 needs rows in blocks of 32; {name} has rows of "
                f"{array.shape[-1]}; use F16"
            )
        packed = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor(
            gguf_name, packed, raw_shape=packed.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0
        )
