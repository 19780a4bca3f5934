"""LoRA and DoRA from scratch: the layer, injection by module name, merge and unmerge, and
adapters saved in peft's format.

LoRA freezes a pretrained weight ``W0`` (shape ``out x in``) and learns a low-rank update
``ΔW = B A`` with ``A`` of shape ``r x in`` and ``B`` of shape ``out x r``::

    h = W0 x + (alpha / r) * B A x

``B`` starts at zero, so the wrapped model is exactly the base model at step 0. Only ``A`` and
``B`` train: ``r * (in + out)`` numbers per layer instead of ``in * out``. After training,
``W0 + (alpha / r) B A`` is one matrix again (``merge``): no extra latency at inference.

DoRA splits the merged weight into a magnitude and a direction, learning the magnitude ``m`` (one
number per output feature) directly and the direction through LoRA::

    W' = m * (W0 + s B A) / ||W0 + s B A||    (norm of each output row)

The numbers agree with peft's ``LoraConfig`` (``use_rslora``, ``use_dora``) to float rounding when
``A``, ``B`` and ``m`` hold the same values; ``tests/test_lora.py`` checks it on the tiny Llama.

References:
    LoRA: Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models",
        arXiv:2106.09685 (Section 4.1: h = W0 x + B A x, B = 0 at init, scaling alpha / r).
    rsLoRA: Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA",
        arXiv:2312.03732 (scaling alpha / sqrt(r)).
    DoRA: Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation", arXiv:2402.09353
        (Eq. 5; Section 4.3: the norm is treated as a constant in backpropagation).
    Simplifies: peft's ``tuners/lora/layer.py`` and ``tuners/lora/dora.py`` (one adapter per
        layer, nn.Linear only, no bias training, no fan_in_fan_out).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

ADAPTER_WEIGHTS = "adapter_model.safetensors"  # peft's file names, so PeftModel loads our folder
ADAPTER_CONFIG = "adapter_config.json"
PEFT_PREFIX = "base_model.model."  # peft's prefix for every key of a saved adapter


class LoRAError(ValueError):
    """A LoRA operation got bad input: the message names the module or the value."""


class AdapterNotFoundError(LoRAError, FileNotFoundError):
    """No adapter file where one was expected: a ``LoRAError``, and a ``FileNotFoundError``."""


# --8<-- [start:layer] docs/peft/lora.md
class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update:
    h = W0 x + (alpha/r) B A x."""

    def __init__(
        self,
        base_layer: nn.Linear,
        r: int = 8,
        alpha: float = 16,
        dropout: float = 0.0,
        use_rslora: bool = False,
        name: str = "linear",
    ):
        super().__init__()
        out_features, in_features = base_layer.weight.shape
        max_r = min(in_features, out_features)
        if not isinstance(r, int) or not 1 <= r <= max_r:
            raise LoRAError(
                f"{name}: rank r={r!r} must be an integer from 1 to "
                f"min(in_features, out_features) = {max_r}"
            )
        self.base_layer, self.name = base_layer, name
        self.r, self.alpha, self.use_rslora = r, alpha, use_rslora
        # rsLoRA scales by alpha/sqrt(r) instead of alpha/r
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        w = base_layer.weight
        self.lora_A = nn.Parameter(w.new_empty(r, in_features))
        # B = 0, so ΔW = B A = 0 at the start
        self.lora_B = nn.Parameter(w.new_zeros(out_features, r))
        # the same init as nn.Linear's weight (and peft's A)
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """ΔW = (alpha / r) B A, what merging adds to W0 (shape out x in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.base_layer(x)  # W0 x + b, frozen
        if self.merged:  # ΔW already lives inside W0
            return h
        # x -> A -> B: two thin matmuls (r numbers in between),
        # never the out x in matrix ΔW
        ax = F.linear(self.dropout(x), self.lora_A)
        return h + F.linear(ax, self.lora_B) * self.scaling

    def merge(self) -> None:
        """W0 <- W0 + ΔW: one matrix again, so inference costs what the base
        model costs."""
        if self.merged:
            raise LoRAError(f"{self.name}: already merged; unmerge() first")
        with torch.no_grad():
            self.base_layer.weight += self.delta_weight()
        self.merged = True

    def unmerge(self) -> None:
        """W0 <- W0 - ΔW: back to the frozen base weight, to go on training
        or swap adapters."""
        if not self.merged:
            raise LoRAError(f"{self.name}: not merged; nothing to unmerge")
        with torch.no_grad():
            self.base_layer.weight -= self.delta_weight()
        self.merged = False

    def extra_repr(self) -> str:
        out_features, in_features = self.base_layer.weight.shape
        shape = f"{in_features} -> r={self.r} -> {out_features}"
        return f"{shape}, scaling={self.scaling:g}"


# --8<-- [end:layer]


# --8<-- [start:dora] docs/peft/lora.md
class DoRALinear(LoRALinear):
    """DoRA: W' = m * (W0 + ΔW) / ||W0 + ΔW||, with the magnitude m learned
    per output row."""

    def __init__(
        self,
        base_layer: nn.Linear,
        r: int = 8,
        alpha: float = 16,
        dropout: float = 0.0,
        use_rslora: bool = False,
        name: str = "linear",
    ):
        super().__init__(base_layer, r, alpha, dropout, use_rslora, name)
        # m starts as the row norms of W0, so W' = W0 at step 0 (B = 0 as in
        # LoRA)
        row_norms = base_layer.weight.detach().norm(dim=1)
        self.lora_magnitude = nn.Parameter(row_norms)

    def weight_norm(self) -> torch.Tensor:
        """||W0 + ΔW|| per output row, a constant for backpropagation (DoRA
        Section 4.3)."""
        weight = self.base_layer.weight + self.delta_weight()
        return weight.norm(dim=1).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.base_layer(x)  # W0 x + b
        if self.merged:
            return h
        # m / ||W0 + ΔW||, one per output
        scale = self.lora_magnitude / self.weight_norm()
        x_d = self.dropout(x)
        bias = self.base_layer.bias
        if x_d is x:  # no dropout: reuse W0 x (h without its bias)
            base = h if bias is None else h - bias
        else:  # as peft: the direction term sees the dropped-out input
            base = F.linear(x_d, self.base_layer.weight)
        lora = F.linear(F.linear(x_d, self.lora_A), self.lora_B) * self.scaling
        # without dropout,
        # h + (scale - 1) W0 x + scale ΔW x  ==  scale (W0 + ΔW) x + b
        return h + (scale - 1) * base + scale * lora

    def merge(self) -> None:
        """W0 <- m * (W0 + ΔW) / ||W0 + ΔW||, remembering the factor so
        unmerge can undo it."""
        if self.merged:
            raise LoRAError(f"{self.name}: already merged; unmerge() first")
        with torch.no_grad():
            scale = (self.lora_magnitude / self.weight_norm()).unsqueeze(1)
            weight = self.base_layer.weight
            weight.copy_(scale * (weight + self.delta_weight()))
        self.register_buffer("merge_scale", scale, persistent=False)
        self.merged = True

    def unmerge(self) -> None:
        """W0 <- W' / scale - ΔW, with the scale saved at merge time."""
        if not self.merged:
            raise LoRAError(f"{self.name}: not merged; nothing to unmerge")
        with torch.no_grad():
            weight = self.base_layer.weight
            weight.copy_(weight / self.merge_scale)
            weight -= self.delta_weight()
        del self.merge_scale
        self.merged = False


# --8<-- [end:dora]


def _matches(name: str, target: str) -> bool:
    """peft's rule for a target name: the whole module name, or its last dotted parts."""
    return name == target or name.endswith("." + target)


def inject_lora(
    model: nn.Module,
    target_modules: str | list[str] = ("q_proj", "v_proj"),
    r: int = 8,
    alpha: float = 16,
    dropout: float = 0.0,
    use_rslora: bool = False,
    use_dora: bool = False,
) -> nn.Module:
    """Wrap every ``nn.Linear`` whose name ends with a target in a LoRA layer, in place.

    ``target_modules`` are name endings (``"q_proj"`` matches ``model.layers.0.self_attn.q_proj``)
    or ``"all-linear"`` (every linear layer except the output head, as peft). Afterwards only the
    LoRA parameters are trainable. Returns the model.
    """
    linear = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    targets = [target_modules] if isinstance(target_modules, str) else list(target_modules)
    if targets == ["all-linear"]:
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        chosen = [n for n, m in linear.items() if m is not head]
    else:
        chosen = [n for n in linear if any(_matches(n, t) for t in targets)]
        for t in targets:
            if not any(_matches(n, t) for n in chosen):
                names = sorted({n.rsplit(".", 1)[-1] for n in linear})
                already = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
                hint = " (it already has LoRA)" if any(_matches(n, t) for n in already) else ""
                raise LoRAError(
                    f"target module {t!r} matches no nn.Linear in {type(model).__name__}{hint}; "
                    f"its linear layers are named {names}"
                )
    layer_class = DoRALinear if use_dora else LoRALinear
    for name in chosen:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, layer_class(linear[name], r, alpha, dropout, use_rslora, name))
    mark_only_lora_trainable(model)
    return model


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """The LoRA layers of a model, by module name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def _peft_tensors(model: nn.Module) -> dict[str, nn.Parameter]:
    """Every LoRA parameter of the model, under the key peft saves it with."""
    tensors = {}
    for name, layer in lora_layers(model).items():
        key = PEFT_PREFIX + name
        tensors[f"{key}.lora_A.weight"] = layer.lora_A
        tensors[f"{key}.lora_B.weight"] = layer.lora_B
        if isinstance(layer, DoRALinear):
            tensors[f"{key}.lora_magnitude_vector"] = layer.lora_magnitude
    return tensors


def _layers_or_raise(model: nn.Module) -> dict[str, LoRALinear]:
    layers = lora_layers(model)
    if not layers:
        raise LoRAError(f"{type(model).__name__} has no LoRA layers; call inject_lora first")
    return layers


def mark_only_lora_trainable(model: nn.Module) -> None:
    """Freeze every parameter except LoRA's ``lora_A``, ``lora_B`` (and DoRA's magnitude)."""
    for name, p in model.named_parameters():
        p.requires_grad = name.rsplit(".", 1)[-1] in ("lora_A", "lora_B", "lora_magnitude")


def merge_lora(model: nn.Module) -> nn.Module:
    """Merge every LoRA layer into its base weight (see ``LoRALinear.merge``)."""
    for layer in _layers_or_raise(model).values():
        layer.merge()
    return model


def unmerge_lora(model: nn.Module) -> nn.Module:
    """Undo ``merge_lora`` on every LoRA layer."""
    for layer in _layers_or_raise(model).values():
        layer.unmerge()
    return model


def unload_lora(model: nn.Module) -> nn.Module:
    """Merge and put the plain ``nn.Linear`` layers back: a model that saves like the original.

    Like peft's ``merge_and_unload``. The returned model has no LoRA parameters left.
    """
    for name, layer in _layers_or_raise(model).items():
        if not layer.merged:
            layer.merge()
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, layer.base_layer)
    return model


def save_adapter(model: nn.Module, path: str | Path, base_model_name_or_path: str = "") -> Path:
    """Save the LoRA weights as a peft adapter folder that ``PeftModel.from_pretrained`` loads.

    Writes ``adapter_model.safetensors`` (keys as peft writes them) and ``adapter_config.json``.
    """
    layers = _layers_or_raise(model)
    first = next(iter(layers.values()))
    targets = set()
    for name, layer in layers.items():
        if layer.merged:
            raise LoRAError(f"{name}: merged; unmerge before saving the adapter")
        if (layer.r, layer.alpha, layer.use_rslora, type(layer)) != (
            first.r,
            first.alpha,
            first.use_rslora,
            type(first),
        ):
            raise LoRAError(f"{name}: its r/alpha/type differ from {first.name}'s; one config only")
        targets.add(name.rsplit(".", 1)[-1])
    dropout = first.dropout.p if isinstance(first.dropout, nn.Dropout) else 0.0
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model_name_or_path,
        "r": first.r,
        "lora_alpha": first.alpha,
        "lora_dropout": dropout,
        "target_modules": sorted(targets),
        "use_rslora": first.use_rslora,
        "use_dora": isinstance(first, DoRALinear),
        "bias": "none",
        "fan_in_fan_out": False,
        "init_lora_weights": True,
    }
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    weights = {key: p.detach().contiguous() for key, p in _peft_tensors(model).items()}
    save_file(weights, path / ADAPTER_WEIGHTS)
    (path / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    return path


# Options of peft's LoraConfig this module does not implement: loading an adapter that uses them
# would silently compute something else, so it is refused.
_UNSUPPORTED = {
    "bias": "none",
    "fan_in_fan_out": False,
    "rank_pattern": {},
    "alpha_pattern": {},
    "modules_to_save": None,
    "layers_to_transform": None,
    "lora_bias": False,
}


_CONFIG_TYPES = {  # the fields load_adapter reads, and the JSON types each must have
    "r": (int,),
    "lora_alpha": (int, float),
    "lora_dropout": (int, float),
    "target_modules": (list, str),
    "use_rslora": (bool,),
    "use_dora": (bool,),
}


def _read_adapter_config(file: Path) -> dict:
    """``adapter_config.json`` as a dict whose fields have the types peft writes, or a
    ``LoRAError`` naming the file and the field."""
    try:
        config = json.loads(file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise LoRAError(f"{file}: not a JSON adapter config ({err})") from None
    if not isinstance(config, dict):
        raise LoRAError(f"{file}: expected a JSON object, got {type(config).__name__}")
    for name in ("r", "lora_alpha", "target_modules"):
        if name not in config:
            raise LoRAError(f"{file}: {name} missing")
    for name, types in _CONFIG_TYPES.items():
        value = config.get(name)
        if name not in config or (
            value is None and name not in ("r", "lora_alpha", "target_modules")
        ):
            continue
        if isinstance(value, bool) != (types == (bool,)) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise LoRAError(f"{file}: {name}={value!r}, expected {wanted}")
    return config


def load_adapter(model: nn.Module, path: str | Path) -> nn.Module:
    """Inject LoRA into ``model`` and fill it from a peft adapter folder (ours or peft's).

    Every tensor in the file must land in a layer and every layer must get its tensors; any
    missing or unreadable file, unsupported option, unknown key or wrong shape raises
    ``LoRAError`` naming the file (``AdapterNotFoundError`` for a missing one).
    """
    path = Path(path)
    for file in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        if not (path / file).is_file():
            raise AdapterNotFoundError(f"{path / file} not found: not a peft LoRA adapter folder")
    config = _read_adapter_config(path / ADAPTER_CONFIG)
    if config.get("peft_type") != "LORA":
        raise LoRAError(f"{path / ADAPTER_CONFIG}: peft_type {config.get('peft_type')!r}, not LORA")
    for option, default in _UNSUPPORTED.items():
        if config.get(option, default) not in (default, None, {}):
            raise LoRAError(f"{path / ADAPTER_CONFIG}: {option}={config[option]!r} not supported")
    inject_lora(
        model,
        config["target_modules"],
        r=config["r"],
        alpha=config["lora_alpha"],
        dropout=config.get("lora_dropout", 0.0),
        use_rslora=config.get("use_rslora", False),
        use_dora=config.get("use_dora", False),
    )
    try:
        tensors = load_file(path / ADAPTER_WEIGHTS)
    except Exception as err:  # safetensors raises its own SafetensorError, and OSError
        raise LoRAError(
            f"{path / ADAPTER_WEIGHTS}: not a readable safetensors file ({err})"
        ) from None
    expected = _peft_tensors(model)
    unknown = sorted(set(tensors) - set(expected))
    missing = sorted(set(expected) - set(tensors))
    if unknown or missing:
        raise LoRAError(
            f"{path / ADAPTER_WEIGHTS}: unknown keys {unknown[:3]}, missing {missing[:3]}"
        )
    with torch.no_grad():
        for key, param in expected.items():
            if tensors[key].shape != param.shape:
                raise LoRAError(
                    f"{key}: shape {tuple(tensors[key].shape)}, expected {tuple(param.shape)}"
                )
            param.copy_(tensors[key])
    return model
