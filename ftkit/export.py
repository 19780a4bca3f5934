"""Export: a fine-tuned Llama-architecture model as a GGUF file for llama.cpp and Ollama.

The usual tool is llama.cpp's ``convert_hf_to_gguf.py``, which lives in the llama.cpp
repository, not on PyPI. This module does the same job for Llama models with the ``gguf``
package that llama.cpp publishes: the architecture as metadata, the byte-level BPE tokenizer
and chat template, and every tensor under llama.cpp's name, in F32, F16 or Q8_0. Two things
an engine cannot guess are read off the model: the tokenizer's pre-tokenizer type (how text is
split before the merges, GPT-2's rule or Llama 3's, found from how it splits a test string) and
Llama 3's RoPE frequency factors. What it does not know raises, rather than writing a file that
runs but tokenizes or rotates differently. The file round-trips: transformers loads it back
(``from_pretrained(folder, gguf_file=name)``) with the same tokens and, in F32, the same
logits (tested); llama.cpp tokenizes prompts as transformers does (tests/test_deploy.py).
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


# Text on which pre-tokenizers disagree: digit runs after a space, contractions in both cases,
# runs of spaces and newlines, punctuation runs, non-ASCII letters and digits.
PRE_TOKENIZER_CHECK = (
    "It is 20 cents, 1000 in 2024 or 1,234,567.89; it's   he'LL   \n\n\t ok!!  "
    "Étude 3½ 東京 ١٢٣ 'RE?)\r\n  end  "
)
# Llama 3's split (tokenizer.json of meta-llama/Llama-3.2-1B-Instruct), as llama.cpp's
# "llama-bpe" pre-type implements it (src/llama-vocab.cpp).
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _reference_pre_tokenizers() -> dict:
    """llama.cpp's pre-type names, each with the tokenizers pre-tokenizer it reproduces."""
    from tokenizers import Regex, pre_tokenizers

    return {
        # GPT-2's regex, which ByteLevel(use_regex=True) applies: digits keep their space
        "gpt-2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        # Llama 3: digits in groups of at most three, split from the space before them
        "llama-bpe": pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        ),
    }


def llama_cpp_pre_tokenizer(tokenizer) -> str:
    """The llama.cpp pre-tokenizer type (``tokenizer.ggml.pre``) that splits text as
    ``tokenizer`` does, found from its behaviour.

    A byte-level BPE splits text into pieces (words, numbers, spaces) before merging, and
    llama.cpp re-implements each known split under a name. Writing the wrong name gives a file
    that loads and runs but tokenizes some text differently from the model (Llama 3's numbers,
    say). llama.cpp's ``convert_hf_to_gguf.py`` (``get_vocab_base_pre``) encodes a test string
    and looks the hash of the token ids up in a table of known hub tokenizers; the ids depend
    on the merges, so a tokenizer trained here would never match. This compares the pieces
    instead, which do not depend on the merges: the tokenizer's pre-tokenizer and each
    reference in ``_reference_pre_tokenizers()`` split ``PRE_TOKENIZER_CHECK``.

    Raises:
        ExportError: the tokenizer normalizes text first (llama.cpp's BPE does not), or splits
            text like none of the known types; the message names the tokenizer.
    """
    backend = tokenizer.backend_tokenizer
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    if backend.normalizer is not None:
        raise ExportError(
            f"to_gguf: the tokenizer of {name} normalizes text "
            f"({type(backend.normalizer).__name__}), which llama.cpp's BPE does not; "
            "use llama.cpp's convert_hf_to_gguf.py"
        )
    if backend.pre_tokenizer is None:
        raise ExportError(f"to_gguf: the tokenizer of {name} has no pre-tokenizer")
    pieces = [p for p, _ in backend.pre_tokenizer.pre_tokenize_str(PRE_TOKENIZER_CHECK)]
    for pre_type, reference in _reference_pre_tokenizers().items():
        if [p for p, _ in reference.pre_tokenize_str(PRE_TOKENIZER_CHECK)] == pieces:
            return pre_type
    spec = json.loads(backend.to_str())["pre_tokenizer"]
    raise ExportError(
        f"to_gguf: the tokenizer of {name} splits text like none of the pre-tokenizers this "
        f"exporter knows ({', '.join(_reference_pre_tokenizers())}): {json.dumps(spec)[:300]}; "
        "use llama.cpp's convert_hf_to_gguf.py, which knows more"
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
    control = set(tokenizer.all_special_ids)
    # added tokens that are not special (<think>): parsed whole in a prompt, kept in the text
    user_defined = set(tokenizer.get_added_vocab().values()) - control
    writer.add_tokenizer_model("gpt2")  # llama.cpp's name for byte-level BPE
    writer.add_tokenizer_pre(llama_cpp_pre_tokenizer(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(
        [
            gguf.TokenType.CONTROL
            if i in control
            else gguf.TokenType.USER_DEFINED
            if i in user_defined
            else gguf.TokenType.NORMAL
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
            Llama, a tokenizer or RoPE scaling llama.cpp would read differently (named), or a
            tensor whose rows do not split into blocks of 32 for Q8_0 (named).
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
    factors = rope_freq_factors(config)
    if factors is not None:  # Llama 3.1+'s long-context RoPE, as llama.cpp reads it
        rope_freqs = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight"
        writer.add_tensor(rope_freqs, factors)
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


def rope_freq_factors(config) -> np.ndarray | None:
    """The per-frequency RoPE divisors llama.cpp reads from ``rope_freqs.weight``, or None.

    Llama 3.1 and later (3.2 1B included) stretch RoPE's slow frequencies for long contexts
    (``rope_type: "llama3"`` in config.json); transformers divides those inverse frequencies
    at load time, llama.cpp divides each rotation angle by the matching factor stored in the
    file. The factors are transformers' own: plain inverse frequencies over Llama 3's, so the
    two engines rotate alike. llama.cpp's ``convert_hf_to_gguf.py`` (``LlamaModel``) writes
    the same tensor from the same formula.

    Raises:
        ExportError: a RoPE scaling this exporter does not write (linear, YaRN...).
    """
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    kind = (config.rope_parameters or {}).get("rope_type", "default")
    if kind == "default":
        return None
    if kind != "llama3":
        raise ExportError(
            f"to_gguf: RoPE scaling {kind!r} is not supported (only Llama 3's); "
            "use llama.cpp's convert_hf_to_gguf.py"
        )
    plain, _ = LlamaRotaryEmbedding.compute_default_rope_parameters(config)
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    return (plain / scaled).numpy().astype(np.float32)


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
