"""ftkit.lora against peft on the tiny Llama: same values in, same numbers out."""

from __future__ import annotations

import json

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM

from ftkit import lora
from ftkit.tiny import tiny_llama

TARGETS = ["q_proj", "v_proj", "down_proj"]


@pytest.fixture(scope="module")
def path() -> str:
    return tiny_llama()


@pytest.fixture
def base(path):
    return AutoModelForCausalLM.from_pretrained(path)


@pytest.fixture(scope="module")
def ids(path) -> torch.Tensor:
    vocab = AutoConfig.from_pretrained(path).vocab_size
    return torch.randint(0, vocab, (2, 16), generator=torch.Generator().manual_seed(0))


def perturb(model: nn.Module) -> None:
    """Give B (and DoRA's m) non-trivial values, so the adapter changes the output."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in lora.lora_layers(model).values():
            layer.lora_B.copy_(0.1 * torch.randn(layer.lora_B.shape, generator=gen))
            if isinstance(layer, lora.DoRALinear):
                m = layer.lora_magnitude
                m.mul_(0.5 + torch.rand(m.shape, generator=gen))


def twin_peft(path: str, ours: nn.Module, **options) -> nn.Module:
    """peft's model on the same base, its A, B and m set to ours."""
    config = LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, **options)
    theirs = get_peft_model(AutoModelForCausalLM.from_pretrained(path), config)
    params = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, layer in lora.lora_layers(ours).items():
            key = "base_model.model." + name
            params[f"{key}.lora_A.default.weight"].copy_(layer.lora_A)
            params[f"{key}.lora_B.default.weight"].copy_(layer.lora_B)
            if isinstance(layer, lora.DoRALinear):
                params[f"{key}.lora_magnitude_vector.default.weight"].copy_(layer.lora_magnitude)
    return theirs


VARIANTS = {
    "lora": {},
    "rslora": {"use_rslora": True},
    "dora": {"use_dora": True},
    "dora+rslora": {"use_dora": True, "use_rslora": True},
}


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_outputs_match_peft(path, base, ids, options):
    ours = lora.inject_lora(base, TARGETS, r=4, alpha=8, **options)
    perturb(ours)
    theirs = twin_peft(path, ours, **options)
    plain = AutoModelForCausalLM.from_pretrained(path)
    got, want = ours(ids).logits, theirs(ids).logits
    assert (got - plain(ids).logits).abs().max() > 1e-2  # the adapter really changes the output
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_training_steps_match_peft(path, base, ids, options):
    """Gradients agree too (DoRA's norm is detached in both): 3 AdamW steps stay in lockstep."""
    ours = lora.inject_lora(base, TARGETS, r=4, alpha=8, **options)
    perturb(ours)
    theirs = twin_peft(path, ours, **options)
    for model in (ours, theirs):
        trainable = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(trainable, lr=1e-2)
        for _ in range(3):
            model(ids, labels=ids).loss.backward()
            opt.step()
            opt.zero_grad()
    torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, rtol=0, atol=1e-4)


def test_starts_as_the_base_model(path, base, ids):
    want = base(ids).logits
    got = lora.inject_lora(base, "all-linear", r=8, alpha=16, use_dora=True)(ids).logits
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_only_lora_parameters_train(base):
    model = lora.inject_lora(base, "all-linear", r=4, alpha=8)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(("lora_A", "lora_B")) for n in trainable)
    # r * (in + out) per wrapped layer; the head is not wrapped by "all-linear"
    layers = lora.lora_layers(model)
    assert "lm_head" not in layers and len(layers) == 2 * 7
    expected = sum(4 * sum(layer.base_layer.weight.shape) for layer in layers.values())
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


@pytest.mark.parametrize("use_dora", [False, True], ids=["lora", "dora"])
def test_merge_unmerge_unload(path, base, ids, use_dora):
    w0 = base.model.layers[0].self_attn.q_proj.weight.detach().clone()
    model = lora.inject_lora(base, TARGETS, r=4, alpha=8, use_dora=use_dora)
    perturb(model)
    unmerged = model(ids).logits
    lora.merge_lora(model)
    assert not torch.equal(model.model.layers[0].self_attn.q_proj.base_layer.weight, w0)
    torch.testing.assert_close(model(ids).logits, unmerged, rtol=0, atol=1e-5)
    lora.unmerge_lora(model)
    torch.testing.assert_close(model.model.layers[0].self_attn.q_proj.base_layer.weight, w0)
    torch.testing.assert_close(model(ids).logits, unmerged, rtol=0, atol=1e-5)
    lora.unload_lora(model)
    assert not lora.lora_layers(model)
    assert type(model.model.layers[0].self_attn.q_proj) is nn.Linear
    torch.testing.assert_close(model(ids).logits, unmerged, rtol=0, atol=1e-5)


@pytest.mark.parametrize("use_dora", [False, True], ids=["lora", "dora"])
def test_adapter_moves_both_ways(path, base, ids, tmp_path, use_dora):
    ours = lora.inject_lora(base, TARGETS, r=4, alpha=8, use_dora=use_dora)
    perturb(ours)
    want = ours(ids).logits
    # ftkit -> peft
    lora.save_adapter(ours, tmp_path / "ours", base_model_name_or_path=path)
    theirs = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(path), tmp_path / "ours"
    )
    torch.testing.assert_close(theirs(ids).logits, want, rtol=0, atol=1e-5)
    # peft -> ftkit
    theirs.save_pretrained(tmp_path / "peft")
    back = lora.load_adapter(AutoModelForCausalLM.from_pretrained(path), tmp_path / "peft")
    torch.testing.assert_close(back(ids).logits, want, rtol=0, atol=1e-5)
    assert isinstance(
        back.model.layers[1].mlp.down_proj, lora.DoRALinear if use_dora else lora.LoRALinear
    )


def test_unknown_target_names_the_module_and_the_choices(base):
    with pytest.raises(lora.LoRAError, match=r"'q_prj' matches no nn.Linear.*'q_proj'"):
        lora.inject_lora(base, ["q_proj", "q_prj"])
    assert not lora.lora_layers(base)  # nothing was half-injected


def test_injecting_twice_says_so(base):
    lora.inject_lora(base, ["q_proj"])
    with pytest.raises(lora.LoRAError, match="already has LoRA"):
        lora.inject_lora(base, ["q_proj"])


@pytest.mark.parametrize("r", [0, 65, 2.0, -1])
def test_bad_rank_names_the_layer(base, r):
    with pytest.raises(lora.LoRAError, match=rf"model.layers.0.self_attn.q_proj: rank r={r}"):
        lora.inject_lora(base, ["q_proj"], r=r)


def test_merge_twice_and_unmerge_unmerged(base):
    model = lora.inject_lora(base, ["v_proj"])
    with pytest.raises(lora.LoRAError, match="v_proj: not merged"):
        lora.unmerge_lora(model)
    lora.merge_lora(model)
    with pytest.raises(lora.LoRAError, match="model.layers.0.self_attn.v_proj: already merged"):
        lora.merge_lora(model)


def test_no_lora_layers(base):
    with pytest.raises(lora.LoRAError, match="no LoRA layers"):
        lora.merge_lora(base)


def test_load_adapter_refuses_what_it_cannot_honour(path, base, tmp_path):
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        lora.load_adapter(base, tmp_path)
    folder = lora.save_adapter(lora.inject_lora(base, TARGETS, r=4), tmp_path / "a")
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "bias": "all"}))
    with pytest.raises(lora.LoRAError, match="bias='all' not supported"):
        lora.load_adapter(AutoModelForCausalLM.from_pretrained(path), folder)
    (folder / "adapter_config.json").write_text(json.dumps({**config, "r": 8}))
    with pytest.raises(lora.LoRAError, match=r"lora_A.weight: shape \(4, 64\), expected \(8, 64\)"):
        lora.load_adapter(AutoModelForCausalLM.from_pretrained(path), folder)
    (folder / "adapter_config.json").write_text(
        json.dumps({**config, "target_modules": ["q_proj"]})
    )
    with pytest.raises(lora.LoRAError, match="unknown keys"):
        lora.load_adapter(AutoModelForCausalLM.from_pretrained(path), folder)


def test_lora_training_lowers_the_loss_and_leaves_the_base_alone(base, ids):
    frozen = {n: p.detach().clone() for n, p in base.named_parameters()}
    model = lora.inject_lora(base, "all-linear", r=8, alpha=16)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    first = model(ids, labels=ids).loss.item()
    for _ in range(30):
        model(ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    assert model(ids, labels=ids).loss.item() < first - 1.0  # 6.25 -> 5.06 measured
    for name, p in model.named_parameters():  # every base weight is bit-identical
        if not p.requires_grad:
            assert torch.equal(p, frozen[name.replace(".base_layer", "")]), name
