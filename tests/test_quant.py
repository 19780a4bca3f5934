"""ftkit.quant against bitsandbytes on the CPU: same tensors in, same codes and values out."""

from __future__ import annotations

import bitsandbytes.functional as bnbF
import pytest
import torch

from ftkit import quant

SHAPES = [(64,), (4, 128), (33, 70), (512, 512)]  # (33, 70): not a multiple of 64


def weights(shape, seed=0) -> torch.Tensor:
    """Weight-like values: normal, std 0.02, with a few outliers in the first row."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.02 * torch.randn(shape, generator=gen)
    x.view(-1)[:3] = torch.tensor([0.5, -0.3, 0.0])
    return x


def test_nf4_levels_from_normal_quantiles_match_the_paper_and_bitsandbytes():
    derived = quant.nf4_levels()
    assert derived.shape == (16,)
    assert derived[7] == 0 and derived[0] == -1 and derived[-1] == 1
    assert torch.all(derived[1:] > derived[:-1])
    # The published table (QLoRA App. E) to float32 rounding: 8 positive levels, 7 negative.
    assert torch.allclose(derived, quant.NF4_LEVELS, atol=3e-7, rtol=0)
    assert torch.equal(quant.NF4_LEVELS, bnbF.get_4bit_type("nf4", device="cpu"))
    assert (derived > 0).sum() == 8 and (derived < 0).sum() == 7


def test_codebooks_match_bitsandbytes():
    fp4 = bnbF.get_4bit_type("fp4", device="cpu").sort().values.unique()
    assert torch.equal(quant.FP4_LEVELS, fp4)
    assert torch.equal(quant.dynamic_map(), bnbF.create_dynamic_map(signed=True))


CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="bitsandbytes' CUDA kernels need a GPU"
)
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [*SHAPES, (4096, 64)])
def test_nf4_codes_and_values_equal_bitsandbytes(shape, device):
    # On CUDA too: run on an H100 with bitsandbytes 0.50.2 (2026-11-22).
    x = weights(shape)
    packed, state = bnbF.quantize_4bit(x.to(device), blocksize=64, quant_type="nf4")
    ours = quant.quantize_4bit(x, "nf4", blocksize=64)
    assert torch.equal(ours.packed, packed.cpu().reshape(-1))  # every code, same nibble order
    assert torch.equal(ours.absmax, state.absmax.cpu())
    # bitsandbytes gives a 1-D input back as one row; the values are what we compare.
    back = bnbF.dequantize_4bit(packed, state).cpu().reshape(shape)
    assert torch.equal(ours.dequantize(), back)


@pytest.mark.parametrize("shape", SHAPES)
def test_fp4_values_equal_bitsandbytes(shape):
    # bitsandbytes numbers its FP4 codes in bit order; ours index the sorted levels, so we
    # compare the dequantized values, which fix the chosen level of every weight.
    x = weights(shape)
    packed, state = bnbF.quantize_4bit(x, blocksize=64, quant_type="fp4")
    ours = quant.quantize_4bit(x, "fp4", blocksize=64)
    # bitsandbytes gives a 1-D input back as one row; the values are what we compare.
    assert torch.equal(ours.dequantize(), bnbF.dequantize_4bit(packed, state).reshape(shape))


@pytest.mark.parametrize("shape", [(512, 512), (4096, 64)])
def test_double_quantization_matches_bitsandbytes_up_to_its_search(shape):
    x = weights(shape)
    packed, state = bnbF.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=True)
    ours = quant.quantize_4bit(x, "nf4", 64, double_quant=True)
    fp32_absmax = bnbF.quantize_4bit(x, blocksize=64, quant_type="nf4")[1].absmax
    # The 4-bit codes, the mean subtracted and the second-level fp32 scales are equal.
    assert torch.equal(ours.packed, packed.reshape(-1))
    assert torch.equal(ours.offset, state.offset)
    assert torch.equal(ours.absmax_scale, state.state2.absmax)
    # The 8-bit codes of the scales: bitsandbytes' CPU search (BinSearch "Direct2") lands one
    # level off the nearest for a few tiny values; ftkit takes the nearest level. Measured:
    # 7 and 6 of 4096 codes, each one step apart, and ftkit's error is never larger.
    differ = ours.absmax != state.absmax
    assert differ.sum() <= 0.005 * differ.numel()
    assert (ours.absmax[differ].int() - state.absmax[differ].int()).abs().max() <= 1
    bnb_scales = bnbF.dequantize_blockwise(state.absmax, state.state2) + state.offset
    assert torch.all((ours.scales() - fp32_absmax).abs() <= (bnb_scales - fp32_absmax).abs())
    diff = (ours.dequantize() - bnbF.dequantize_4bit(packed, state)).abs().max()
    assert diff < 1e-3 * x.abs().max()


@CUDA
@pytest.mark.parametrize("shape", [(4, 128), (33, 70), (512, 512), (4096, 64)])
def test_double_quantization_codes_equal_bitsandbytes_cuda_kernels(shape):
    # Unlike the CPU search above, the CUDA kernel picks the nearest 8-bit code for every
    # scale (H100, bitsandbytes 0.50.2). A lone block is left out: its scales have zero spread,
    # where any code decodes the same.
    x = weights(shape)
    _, state = bnbF.quantize_4bit(
        x.cuda(), blocksize=64, quant_type="nf4", compress_statistics=True
    )
    ours = quant.quantize_4bit(x, "nf4", 64, double_quant=True)
    assert torch.equal(ours.absmax, state.absmax.cpu())


def test_double_quantization_loses_little_and_saves_bits():
    x = weights((1024, 1024))
    single = quant.quantize_4bit(x, double_quant=False)
    double = quant.quantize_4bit(x, double_quant=True)
    assert (double.scales() - single.absmax).abs().max() < 0.01 * single.absmax.max()
    err_single = (single.dequantize() - x).pow(2).mean()
    err_double = (double.dequantize() - x).pow(2).mean()
    assert err_double < 1.01 * err_single
    n = x.numel()
    # 4 bits per weight plus the scales; the byte counts agree with the bit accounting.
    assert single.nbytes() == n // 2 + 4 * n // 64
    assert double.nbytes() == n // 2 + n // 64 + 4 * n // (64 * 256) + 4
    assert quant.scale_bits_per_weight(64) == 0.5
    assert quant.scale_bits_per_weight(64, double_quant=True) == pytest.approx(0.127, abs=5e-4)


def test_nf4_beats_fp4_and_int4_grid_on_normal_weights():
    x = weights((256, 256), seed=3)
    x.view(-1)[:3] = 0  # plain normal weights
    err = {t: (quant.quantize_4bit(x, t).dequantize() - x).pow(2).mean() for t in ("nf4", "fp4")}
    assert err["nf4"] < err["fp4"]


def test_absmax_int8_matches_bitsandbytes_rowwise():
    x = weights((16, 64))
    q, absmax = quant.absmax_quantize(x, blocksize=64)  # one block per row
    q_bnb, row_absmax, _ = bnbF.int8_vectorwise_quant(x)
    assert torch.equal(q, q_bnb)
    assert torch.equal(absmax, row_absmax)
    back = quant.absmax_dequantize(q, absmax, blocksize=64)
    assert (back - x).abs().max() <= absmax.max() / 254 + 1e-7  # half a step


def test_zeropoint_uses_the_whole_range():
    x = torch.rand(1000) * 3 + 1  # all positive: absmax would waste half its codes
    q, scale, zero = quant.zeropoint_quantize(x)
    assert q.min() == 0 and q.max() == 255
    err_zp = (quant.zeropoint_dequantize(q, scale, zero) - x).abs().max()
    qa, absmax = quant.absmax_quantize(x)
    err_absmax = (quant.absmax_dequantize(qa, absmax) - x).abs().max()
    assert err_zp < 0.6 * err_absmax


def test_blockwise_absmax_contains_an_outlier():
    x = weights((64, 64), seed=1)
    x.view(-1)[0] = 20.0  # one outlier
    one_scale = quant.absmax_quantize(x)
    per_block = quant.absmax_quantize(x, blocksize=64)
    err_one = (quant.absmax_dequantize(*one_scale) - x)[1:].abs().mean()
    err_block = (quant.absmax_dequantize(*per_block, blocksize=64) - x)[1:].abs().mean()
    assert err_block < err_one / 10


def test_short_last_block_is_its_own_block():
    x = weights((70,))
    q = quant.quantize_4bit(x)
    assert q.absmax.shape == (2,)
    assert q.absmax[1] == x[64:].abs().max()
    assert q.dequantize().shape == x.shape


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.tensor([1.0, float("nan"), 2.0]), "1 of 3 values are NaN or infinite"),
        (torch.tensor([1.0, 2.0, float("inf")]), "flat index 2"),
        (torch.tensor([1, 2, 3]), "floating-point tensor"),
        (torch.empty(0), "empty tensor"),
    ],
)
def test_bad_values_are_refused(bad, message):
    with pytest.raises(quant.QuantError, match=message):
        quant.quantize_4bit(bad)
    with pytest.raises(quant.QuantError, match=message):
        quant.absmax_quantize(bad)


def test_bad_format_and_blocksize_are_refused():
    x = torch.randn(128)
    with pytest.raises(quant.QuantError, match=r"unknown 4-bit format 'int4'.*\['fp4', 'nf4'\]"):
        quant.quantize_4bit(x, "int4")
    with pytest.raises(quant.QuantError, match="blocksize must be one of"):
        quant.quantize_4bit(x, blocksize=100)
    with pytest.raises(quant.QuantError, match="nested_blocksize must be one of"):
        quant.quantize_4bit(x, double_quant=True, nested_blocksize=3)


def test_an_all_zero_block_stays_zero():
    x = torch.cat([torch.zeros(64), torch.randn(64)])
    restored = quant.quantize_4bit(x, double_quant=True).dequantize()
    assert torch.equal(restored[:64], torch.zeros(64))
