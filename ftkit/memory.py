"""How much memory a training step needs: an estimate from the model config, and a measurement.

A training step holds four things at once:

- **weights**: every parameter, in its storage format (fp32 4 bytes, bf16 2, NF4 about 0.52);
- **gradients**: one per *trainable* parameter;
- **optimizer states**: AdamW keeps two moments per trainable parameter (8 bytes in fp32, 2 in
  8-bit), plus an fp32 master copy when the weights themselves are bf16;
- **activations**: the tensors the forward pass saves for the backward pass, proportional to
  batch x sequence length.

During the backward pass activations are freed layer by layer while gradients appear, so the
peak is ``weights + optimizer + max(activations + loss temporaries, gradients)`` rather than the
sum of all four. The activation count per layer comes from counting what a Hugging Face Llama
layer saves for backward (``tests/test_memory.py`` checks it against the saved tensors).

``measure_peak`` runs a function under PyTorch's memory profiler on the CPU and returns the
peak of live tensor bytes by category: the CPU counterpart of
``torch.cuda.max_memory_allocated``.

``per_device_states`` splits the three model states over N data-parallel devices: plain data
parallelism (DDP) keeps a full copy of each on every device, ZeRO stage 1 shards the optimizer
states, stage 2 the gradients too, stage 3 (and FSDP's full shard) the weights too.

References:
    Rajbhandari et al. 2020, "ZeRO", arXiv:1910.02054, Section 3.1 (16 bytes per parameter
        for mixed-precision Adam: 2 weights + 2 gradients + 4 master + 4 + 4 moments);
        Section 5 and Figure 1 (model states per device under each ZeRO stage).
    Zhao et al. 2023, "PyTorch FSDP", arXiv:2304.11277, Section 3 (full sharding is ZeRO-3's
        split of weights, gradients and optimizer states).
    Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
        arXiv:2205.05198, Section 4 (activation memory per layer, recomputation).
    Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost", arXiv:1604.06174
        (gradient checkpointing).
    Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization", arXiv:2110.02861
        (2 bytes of state per parameter for 8-bit Adam).
    Dettmers et al. 2023, "QLoRA", arXiv:2305.14314 (NF4 weights, paged optimizers).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ftkit.llama_configs import LLAMA_CONFIGS  # noqa: F401 (re-exported: the shapes)
from ftkit.quant import scale_bits_per_weight

METHODS = ("full", "lora", "qlora")
OPTIMIZERS = {  # bytes of optimizer state per trainable parameter
    "adamw": 8,  # two fp32 moments
    "adamw_8bit": 2,  # two 8-bit moments (block-wise quantized)
    "paged_adamw_8bit": 2,  # same on the GPU; pages move to CPU RAM under pressure
    "paged_adamw_32bit": 8,  # two fp32 moments, paged: the QLoRA repository's default
    "sgd": 0,  # plain SGD, no momentum
}
PRECISIONS = {  # bytes per weight, per gradient, per activation
    "fp32": 4,
    "bf16": 2,  # pure bf16 weights (LoRA/QLoRA bases are stored like this)
    "mixed": 2,  # bf16 weights and gradients plus an fp32 master copy in the optimizer
}
LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
GB = 1e9


def llama_config(name: str):
    """A ``LlamaConfig`` with the published shape of ``name`` (a key of ``LLAMA_CONFIGS``)."""
    from transformers import LlamaConfig

    if name not in LLAMA_CONFIGS:
        raise MemoryEstimateError(f"unknown model {name!r}; known: {sorted(LLAMA_CONFIGS)}")
    return LlamaConfig(**LLAMA_CONFIGS[name])


class MemoryEstimateError(ValueError):
    """The estimator got an unknown method, optimizer or precision, or a config it cannot read."""


@dataclass
class ModelShape:
    """The numbers of a Llama-style config that decide memory."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool

    @classmethod
    def from_config(cls, config) -> ModelShape:
        try:
            heads = config.num_attention_heads
            return cls(
                hidden=config.hidden_size,
                intermediate=config.intermediate_size,
                layers=config.num_hidden_layers,
                heads=heads,
                kv_heads=getattr(config, "num_key_value_heads", None) or heads,
                vocab=config.vocab_size,
                tied=bool(getattr(config, "tie_word_embeddings", False)),
            )
        except AttributeError as err:
            raise MemoryEstimateError(f"not a Llama-style config: {err}") from None

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of the seven linear layers of one decoder layer."""
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        return {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    def parameter_counts(self) -> dict[str, int]:
        """Parameters by kind: the linear layers of the decoder, embeddings and head, norms."""
        linear = self.layers * sum(a * b for a, b in self.linear_shapes().values())
        embed = self.vocab * self.hidden * (1 if self.tied else 2)
        norms = (2 * self.layers + 1) * self.hidden
        return {"linear": linear, "embeddings": embed, "norms": norms}

    def lora_parameters(self, r: int, targets=LINEAR_NAMES) -> int:
        """r * (in + out) for every targeted linear layer of every decoder layer."""
        shapes = self.linear_shapes()
        return self.layers * sum(r * sum(shapes[name]) for name in targets)


@dataclass
class MemoryEstimate:
    """Bytes of each part of a training step, and the peak they add up to."""

    method: str
    weights: float
    gradients: float
    optimizer: float
    activations: float
    loss_temporaries: float
    recompute: float  # one layer's activations, rebuilt during backward (checkpointing only)
    logits: float  # the fp32 log-softmax saved for the loss (part of activations)
    trainable: int
    total_parameters: int

    @property
    def peak(self) -> float:
        """weights + optimizer + the largest of three moments of the backward pass.

        At its start: all saved activations plus the loss temporaries. With checkpointing, in
        the middle: the saved layer inputs (the logits are gone) plus one recomputed layer.
        At its end: all gradients (plus that recomputed layer).
        """
        live = max(
            self.activations + self.loss_temporaries,
            self.activations - self.logits + self.recompute,
            self.gradients + self.recompute,
        )
        return self.weights + self.optimizer + live

    def fits(self, gigabytes: float) -> bool:
        """Whether the peak fits a card of this many GB (1 GB = 1e9 bytes)."""
        return self.peak <= gigabytes * GB

    def summary(self) -> str:
        parts = ["weights", "gradients", "optimizer", "activations", "recompute"]
        cells = ", ".join(f"{p} {getattr(self, p) / GB:.2f}" for p in parts)
        return f"{self.method}: peak {self.peak / GB:.2f} GB ({cells})"


# --8<-- [start:activations] docs/quantization/qlora.md
def activation_elements_per_token(
    shape: ModelShape,
    method: str,
    r: int = 16,
    n_targets=7,
):
    """Elements saved for backward per token, per decoder layer and for the
    head.

    Counted on Hugging Face's Llama layer (SDPA attention, so no seq x seq
    matrix): full fine-tuning saves 8h (norm inputs and outputs, q, attention
    output and the inputs of the projections) + 2 kv (k and v) + 4i (gate,
    its SiLU, up, their product) + one log-sum-exp per head. With frozen
    norms (LoRA, QLoRA) the two norm outputs kept for their weight gradients
    go (-2h), and each LoRA layer saves its r-wide A output (+r).
    """
    h, i, kv, a = shape.hidden, shape.intermediate, shape.kv_dim, shape.heads
    if method == "full":
        return 8 * h + 2 * kv + 4 * i + a, 3 * h
    return 6 * h + 2 * kv + 4 * i + a + r * n_targets, 0


# --8<-- [end:activations]


def estimate(
    config,
    method: str = "full",
    *,
    batch_size: int = 1,
    seq_len: int = 512,
    precision: str = "mixed",
    optimizer: str = "adamw",
    gradient_checkpointing: bool = False,
    lora_r: int = 16,
    lora_targets=LINEAR_NAMES,
    adapter_precision: str = "fp32",
    kbit_upcast: bool = False,
) -> MemoryEstimate:
    """Estimate the peak memory of one training step of a Llama-style model.

    Args:
        config: a transformers config (``LlamaConfig`` or one with the same fields).
        method: "full" (every weight trains), "lora" (frozen base in ``precision``, fp32
            adapters) or "qlora" (linear layers of the base in NF4 with double quantization,
            the rest in ``precision``, fp32 adapters).
        precision: "fp32", "bf16" or "mixed" (bf16 with an fp32 master copy; full only).
        optimizer: one of ``OPTIMIZERS``. Paged optimizers need the same GPU memory in the
            steady state; paging only absorbs spikes.
        gradient_checkpointing: keep only each layer's input and recompute the rest during the
            backward pass (one layer's activations at a time).
        adapter_precision: "fp32" (peft's default, and what ``prepare_model_for_kbit_training``
            leaves) or "bf16" (the QLoRA repository casts its adapters to bf16): the bytes of each
            adapter weight and gradient. The activations count fp32 input copies either way,
            which is a little generous for bf16 adapters.
        kbit_upcast: the base went through peft's ``prepare_model_for_kbit_training`` (qlora
            only), which casts every weight that is not 4-bit (embeddings, output layer, norms)
            to fp32. Two terms follow: those weights at 4 bytes instead of 2, and, because the
            embedding's output is then fp32, a residual stream in fp32, so the layer inputs kept
            by checkpointing double. Measured on a GPU the call costs more than these two terms
            on an 8B model (the Unsloth chapter's table); the rest is not modelled.
    """
    _check_choices(method, optimizer, precision, lora_targets)
    if kbit_upcast and method != "qlora":
        raise MemoryEstimateError("kbit_upcast applies to method='qlora' only")
    if adapter_precision not in ("fp32", "bf16"):
        raise MemoryEstimateError(
            f"adapter_precision must be 'fp32' or 'bf16', got {adapter_precision!r}"
        )
    shape = ModelShape.from_config(config)
    trainable, n_params, weights, grads, optim = _states(
        shape, method, precision, optimizer, lora_r, lora_targets, adapter_precision, kbit_upcast
    )
    tokens = batch_size * seq_len
    activations, recompute, logits = _activations(
        shape,
        method,
        tokens,
        precision,
        gradient_checkpointing,
        lora_r,
        lora_targets,
        fp32_residual=kbit_upcast,
    )
    return MemoryEstimate(
        method=method,
        weights=weights,
        gradients=grads,
        optimizer=optim,
        activations=activations,
        loss_temporaries=2 * logits,  # the logits' gradient and a copy, both fp32, in backward
        recompute=recompute,
        logits=logits,
        trainable=trainable,
        total_parameters=n_params,
    )


def _check_choices(method: str, optimizer: str, precision: str, lora_targets) -> None:
    """Raise MemoryEstimateError naming an unknown method, optimizer, precision or target."""
    if method not in METHODS:
        raise MemoryEstimateError(f"unknown method {method!r}; use one of {METHODS}")
    if optimizer not in OPTIMIZERS:
        raise MemoryEstimateError(
            f"unknown optimizer {optimizer!r}; use one of {sorted(OPTIMIZERS)}"
        )
    if precision not in PRECISIONS:
        raise MemoryEstimateError(
            f"unknown precision {precision!r}; use one of {sorted(PRECISIONS)}"
        )
    unknown = set(lora_targets) - set(LINEAR_NAMES)
    if unknown:
        raise MemoryEstimateError(
            f"unknown LoRA targets {sorted(unknown)}; use names from {LINEAR_NAMES}"
        )


def _states(
    shape, method, precision, optimizer, lora_r, lora_targets, adapter_precision, kbit_upcast
):
    """Bytes that live through the whole step: ``(trainable parameters, all parameters,
    weights, gradients, optimizer states)``."""
    counts = shape.parameter_counts()
    n_params = sum(counts.values())
    width = PRECISIONS[precision]
    if method == "full":
        trainable = n_params
        weights = n_params * width
        grads = trainable * width
        master = 4 if precision == "mixed" else 0
        optim = trainable * (OPTIMIZERS[optimizer] + master)
        return trainable, n_params, weights, grads, optim
    trainable = shape.lora_parameters(lora_r, lora_targets)
    if method == "lora":
        weights = n_params * width
    else:  # NF4 code (4 bits) plus double-quantized scales, for the linear layers only
        nf4_bytes = (4 + scale_bits_per_weight(64, double_quant=True)) / 8
        rest = 4 if kbit_upcast else width  # embeddings, output layer, norms: fp32 when upcast
        weights = counts["linear"] * nf4_bytes + (n_params - counts["linear"]) * rest
    adapter = PRECISIONS[adapter_precision]  # fp32 as peft keeps them, or bf16
    weights += trainable * adapter
    return trainable, n_params, weights, trainable * adapter, trainable * OPTIMIZERS[optimizer]


def _activations(
    shape, method, tokens, precision, checkpointing, lora_r, lora_targets, fp32_residual
):
    """Bytes saved for the backward pass: ``(activations, one recomputed layer, logits)``.
    ``fp32_residual``: the residual stream is fp32 (an upcast embedding feeds it)."""
    act_width = 4 if precision == "fp32" else 2
    per_layer, head = activation_elements_per_token(shape, method, lora_r, len(lora_targets))
    per_layer_bytes = per_layer * act_width
    if act_width == 2 and method == "full":  # RMSNorm computes in fp32: 2 norms per layer
        per_layer_bytes += 2 * shape.hidden * 2
    elif act_width == 2:  # fp32 adapters on a 16-bit base save an fp32 copy of their input
        per_layer_bytes += 4 * sum(shape.linear_shapes()[name][0] for name in lora_targets)
    if checkpointing:  # only each layer's input is kept; one layer is rebuilt at a time
        layer_acts = tokens * shape.layers * shape.hidden * (4 if fp32_residual else act_width)
        # plus the gradients of the two i-wide MLP tensors while that layer back-propagates
        recompute = tokens * (per_layer_bytes + 2 * shape.intermediate * act_width)
    else:
        layer_acts = tokens * shape.layers * per_layer_bytes
        recompute = 0
    # The logits are upcast to fp32 for the loss and their log-softmax is saved; the backward
    # pass briefly holds two more vocab-wide fp32 tensors (the logits' gradient and a copy).
    logits = tokens * shape.vocab * 4
    return layer_acts + tokens * head * act_width + logits, recompute, logits


CATEGORIES = (
    "parameter",
    "optimizer",
    "input",
    "temporary",
    "activation",
    "gradient",
    "autograd",
    "unknown",
)


@dataclass
class MeasuredPeak:
    """The peak of live tensor bytes during a function, and how it splits by category."""

    peak: int
    by_category: dict[str, int]


# --8<-- [start:measure] docs/quantization/qlora.md
def measure_peak(fn) -> MeasuredPeak:
    """Run ``fn()`` under PyTorch's memory profiler and return the peak of
    live CPU tensors.

    The profiler sees every allocation and free and labels each tensor
    (parameter, gradient, optimizer state, activation...). Only tensors
    created inside ``fn`` count, so build the model inside it. Slower than a
    plain run (it records every op with its stack).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(
        activities=[ProfilerActivity.CPU],
        profile_memory=True,
        record_shapes=True,
        with_stack=True,
    ) as prof:
        fn()
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        # Deprecated for CUDA in favour of memory snapshots, which do not
        # exist for the CPU.
        warnings.simplefilter("ignore", FutureWarning)
        path = Path(folder) / "timeline.json"
        prof.export_memory_timeline(str(path), device="cpu")
        _times, sizes = json.loads(path.read_text())
    totals = [sum(row) for row in sizes]
    at_peak = sizes[max(range(len(totals)), key=totals.__getitem__)]
    # Column 0 is a spare; then a column per category, in the profiler's
    # order.
    by_category = dict(zip(CATEGORIES, at_peak[1:], strict=True))
    return MeasuredPeak(max(totals), by_category)


def activation_bytes_saved(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
) -> int:
    """Bytes of the tensors autograd saves for backward in one forward pass
    (each storage once, the model's own weights excluded): the activations,
    counted exactly."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(input_ids=input_ids, labels=input_ids)
    return sum(saved.values())


# --8<-- [end:measure]


# --8<-- [start:sharding] docs/multi-device/index.md
# What each strategy splits over the N devices: (weights, gradients,
# optimizer states). ZeRO's stages (Rajbhandari et al. 2020, Sections
# 5.1-5.3 and Figure 1); FSDP's full shard splits all three like stage 3
# (Zhao et al. 2023, 3.2).
SHARDED = {
    "ddp": (False, False, False),
    "zero1": (False, False, True),
    "zero2": (False, True, True),
    "zero3": (True, True, True),
    "fsdp": (True, True, True),
}


@dataclass(frozen=True)
class DeviceStates:
    """Bytes of the model states one device holds."""

    weights: float
    gradients: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer


def per_device_states(
    n_params: float,
    strategy: str,
    n_devices: int,
    *,
    weight_bytes: int = 2,
    grad_bytes: int = 2,
    optimizer_bytes: int = 12,
) -> DeviceStates:
    """Bytes of weights, gradients and optimizer states on each of
    ``n_devices`` devices (the ZeRO paper's model states).

    The defaults are the ZeRO paper's (and DeepSpeed's) mixed-precision
    AdamW: bf16 weights and gradients (2 + 2 bytes) and K = 12 bytes of
    optimizer state (an fp32 master copy and two fp32 moments). PyTorch
    DDP under autocast and FSDP2 keep fp32 weights and gradients and two
    fp32 moments instead: 4 + 4 + 8, the same 16. A sharded state is split
    evenly, 1/N each; the activations, the layers gathered for the moment,
    communication buffers and fragmentation come on top.
    """
    if strategy not in SHARDED:
        known = sorted(SHARDED)
        raise MemoryEstimateError(f"unknown strategy {strategy!r}: {known}")
    if not isinstance(n_devices, int) or n_devices < 1:
        wrong = repr(n_devices)
        raise MemoryEstimateError(f"n_devices must be an int >= 1: {wrong}")
    if n_params < 0:
        raise MemoryEstimateError(f"n_params must be >= 0, got {n_params}")
    split = [n_devices if s else 1 for s in SHARDED[strategy]]
    return DeviceStates(
        weights=n_params * weight_bytes / split[0],
        gradients=n_params * grad_bytes / split[1],
        optimizer=n_params * optimizer_bytes / split[2],
    )


# --8<-- [end:sharding]
