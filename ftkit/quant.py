"""Quantization from scratch: INT8 (absmax and zero-point) and block-wise 4-bit NF4 / FP4 with
double quantization of the scales, the storage format of QLoRA.

Quantizing maps each float ``x`` to a small integer code. Absmax INT8 scales a tensor (or each
block of it) by ``127 / max|x|`` and rounds::

    q = round(127 * x / max|x|)            x ~= q * max|x| / 127

4-bit formats have only 16 codes, so instead of a uniform grid they use a *codebook* of 16
levels in [-1, 1]: each value is divided by its block's absmax and replaced by the index of the
nearest level. NF4 places the levels at quantiles of a normal distribution, because trained
weights are roughly normal: each level then covers about the same share of the weights.

Double quantization stores the per-block absmax values (one fp32 per 64 weights: 0.5 bits per
weight) as 8-bit codes, in blocks of 256 with one fp32 scale each: 8/64 + 32/(64*256) = 0.127
bits per weight.

The codes and dequantized values agree with bitsandbytes' ``quantize_4bit`` /
``dequantize_4bit`` and ``quantize_blockwise`` on the CPU; ``tests/test_quant.py`` checks it.

References:
    QLoRA: Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs",
        arXiv:2305.14314 (Section 3: NF4 from normal quantiles, double quantization with 8-bit
        floats and block size 256, 0.5 -> 0.127 bits per parameter; Appendix E: the NF4 values).
    LLM.int8(): Dettmers et al. 2022, arXiv:2208.07339 (Section 2: absmax and zero-point).
    8-bit optimizers: Dettmers et al. 2022, arXiv:2110.02861 (block-wise quantization, the
        dynamic 8-bit data type used here for the scales).
    Simplifies: bitsandbytes' ``functional.py`` and ``backends/default/ops.py`` (CPU only, no
        packed storage types other than uint8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

BLOCKSIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096)  # the sizes bitsandbytes accepts

# The NF4 levels as published in the QLoRA paper, Appendix E (and in bitsandbytes).
NF4_LEVELS = torch.tensor(
    [
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0,
    ]
)

# bitsandbytes' FP4 (1 sign, 2 exponent, 1 mantissa bit, scaled so the largest is 1), sorted.
# 1/192 is bitsandbytes' smallest non-zero value (a subnormal stand-in), kept for parity.
_FP4_POSITIVE = [1 / 192, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1.0]
FP4_LEVELS = torch.tensor(sorted([-v for v in _FP4_POSITIVE] + [0.0] + _FP4_POSITIVE))

CODEBOOKS = {"nf4": NF4_LEVELS, "fp4": FP4_LEVELS}


class QuantError(ValueError):
    """Quantization got bad input: the message names the value, the size or the format."""


# --8<-- [start:nf4_levels] docs/quantization/index.md
def nf4_levels() -> torch.Tensor:
    """Derive the 16 NF4 levels from quantiles of the standard normal (QLoRA,
    Section 3).

    Eight levels for the positive half and seven for the negative half, plus
    an exact zero, so that 0 (padding, zero weights) is representable. The
    quantiles are taken between ``offset`` and 0.5, where ``offset`` sits
    halfway between 1 - 1/(2*15) and 1 - 1/(2*16): the extreme quantile of
    the normal is infinite, so the outermost level needs a finite stand-in.
    Both halves are then scaled so the largest level is exactly 1.
    """
    f64 = torch.float64
    offset = 0.5 * ((1 - 1 / (2 * 15)) + (1 - 1 / (2 * 16)))
    probs_pos = torch.linspace(offset, 0.5, 9, dtype=f64)[:-1]  # 8 levels
    probs_neg = torch.linspace(offset, 0.5, 8, dtype=f64)[:-1]  # 7 levels
    positive = torch.special.ndtri(probs_pos)  # inverse CDF of N(0, 1)
    negative = -torch.special.ndtri(probs_neg)
    zero = torch.zeros(1, dtype=f64)
    levels = torch.cat([negative, zero, positive]).sort().values
    return (levels / levels.abs().max()).float()


# --8<-- [end:nf4_levels]


def dynamic_map() -> torch.Tensor:
    """The 256 levels of the signed 8-bit dynamic data type used for the scales.

    Dettmers (2015, arXiv:1511.04561) splits the range into decades: for e = 0..6 there are
    2**e evenly spaced values in [0.1, 1] times 10**(e - 6), so small magnitudes get fewer
    but finer steps. Positive and negative copies, plus 0 and 1, make 256 levels.
    """
    values = [0.0, 1.0]
    for e in range(7):
        edges = torch.linspace(0.1, 1, 2**e + 1)
        mids = ((edges[:-1] + edges[1:]) / 2 * 10.0 ** (e - 6)).tolist()
        values += mids + [-m for m in mids]
    return torch.tensor(sorted(values), dtype=torch.float32)


def _check_input(x: torch.Tensor, blocksize: int | None = None) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise QuantError(
            f"expected a floating-point tensor, got {type(x).__name__}"
            + (f" of {x.dtype}" if isinstance(x, torch.Tensor) else "")
        )
    if x.numel() == 0:
        raise QuantError("cannot quantize an empty tensor")
    bad = ~torch.isfinite(x)
    if bad.any():
        first = int(bad.reshape(-1).nonzero()[0])
        raise QuantError(
            f"{int(bad.sum())} of {x.numel()} values are NaN or infinite (first at flat index "
            f"{first}: {x.reshape(-1)[first].item()}); a block's absmax would be NaN or inf "
            "and every value in that block garbage. Find where they come from first."
        )
    if blocksize is not None and blocksize not in BLOCKSIZES:
        raise QuantError(f"blocksize must be one of {BLOCKSIZES}, got {blocksize!r}")


# --8<-- [start:int8] docs/quantization/index.md
def absmax_quantize(x: torch.Tensor, blocksize: int | None = None):
    """Symmetric INT8: ``q = round(127 * x / absmax)``, one absmax per tensor
    or per block.

    Returns ``(q, absmax)``: ``q`` int8 of x's shape, ``absmax`` one float
    per block (a 1-element tensor without blocks). A short last block is
    allowed, as in ``quantize_4bit``.
    """
    _check_input(x, blocksize)
    flat = x.float().reshape(-1)
    size = blocksize or flat.numel()
    blocks = list(flat.split(size))  # the last block may be shorter
    absmax = torch.stack([b.abs().max() for b in blocks]).clamp(min=1e-12)
    pairs = zip(blocks, absmax, strict=True)
    q = torch.cat([torch.round(127 * b / m) for b, m in pairs])
    return q.to(torch.int8).reshape(x.shape), absmax


def absmax_dequantize(
    q: torch.Tensor,
    absmax: torch.Tensor,
    blocksize: int | None = None,
):
    """Undo ``absmax_quantize``: ``x ~= q * absmax / 127`` block by block."""
    flat = q.float().reshape(-1)
    blocks = flat.split(blocksize or flat.numel())
    pairs = zip(blocks, absmax, strict=True)
    return torch.cat([b * m / 127 for b, m in pairs]).reshape(q.shape)


def zeropoint_quantize(x: torch.Tensor):
    """Asymmetric INT8 over [min, max]: ``q = round(scale * x) + zero``, q in
    0..255.

    Uses all 256 codes even when the values are not centred on zero (after a
    ReLU, say). Returns ``(q, scale, zero)`` with q as uint8.
    """
    _check_input(x)
    lo, hi = x.min().float(), x.max().float()
    scale = 255 / (hi - lo).clamp(min=1e-12)
    zero = torch.round(-lo * scale)
    q = torch.clamp(torch.round(scale * x.float()) + zero, 0, 255)
    return q.to(torch.uint8), scale, zero


def zeropoint_dequantize(
    q: torch.Tensor,
    scale: torch.Tensor,
    zero: torch.Tensor,
):
    """Undo ``zeropoint_quantize``: ``x ~= (q - zero) / scale``."""
    return (q.float() - zero) / scale


# --8<-- [end:int8]


@dataclass
class Quantized4bit:
    """A tensor stored in 4 bits: two codes per byte plus the scales needed to dequantize.

    ``absmax`` holds one fp32 per block, or, with double quantization, one uint8 code per block
    (``dequantize`` rebuilds it as ``dynamic[code] * absmax_scale[block // 256] + offset``).
    """

    packed: torch.Tensor  # uint8, two 4-bit codes per byte, first code in the high nibble
    absmax: torch.Tensor  # fp32 per block, or uint8 codes if double-quantized
    shape: torch.Size
    dtype: torch.dtype
    quant_type: str = "nf4"
    blocksize: int = 64
    offset: torch.Tensor | None = None  # mean of the absmax values (double quantization)
    absmax_scale: torch.Tensor | None = None  # fp32, one per nested block of absmax values
    nested_blocksize: int = 256

    @property
    def double_quant(self) -> bool:
        return self.absmax_scale is not None

    def codes(self) -> torch.Tensor:
        """The 4-bit codes (0..15) as one int64 per value, in the tensor's flat order."""
        codes = torch.stack([self.packed >> 4, self.packed & 0xF], dim=1).reshape(-1)
        return codes[: math.prod(self.shape)].long()

    def scales(self) -> torch.Tensor:
        """The fp32 absmax of every block (decoded first if double-quantized)."""
        if not self.double_quant:
            return self.absmax
        return (
            dequantize_blockwise(
                self.absmax, self.absmax_scale, dynamic_map(), self.nested_blocksize
            )
            + self.offset
        )

    def dequantize(self) -> torch.Tensor:
        """Rebuild the tensor: ``level[code] * absmax`` for each block."""
        return (
            dequantize_blockwise(
                self.codes(), self.scales(), CODEBOOKS[self.quant_type], self.blocksize
            )
            .reshape(self.shape)
            .to(self.dtype)
        )

    def nbytes(self) -> int:
        """Bytes of storage: codes, scales and, with double quantization, the second level."""
        total = self.packed.numel() + self.absmax.numel() * self.absmax.element_size()
        if self.double_quant:
            total += self.absmax_scale.numel() * 4 + 4  # the second-level scales and offset
        return total


# --8<-- [start:blockwise] docs/quantization/index.md
def quantize_blockwise(x: torch.Tensor, levels: torch.Tensor, blocksize: int):
    """Split x into blocks, divide each by its absmax, pick the nearest level
    for each value.

    Returns ``(codes, absmax)``: int64 codes into the sorted ``levels`` and
    one fp32 absmax per block. A value exactly halfway between two levels
    takes the lower one.
    """
    flat = x.float().reshape(-1)
    n_full = flat.numel() // blocksize * blocksize
    full = flat[:n_full].reshape(-1, blocksize)  # one block per row
    rest = flat[n_full:]
    absmax = full.abs().amax(dim=1)
    if rest.numel():  # the documented rule: one shorter last block
        absmax = torch.cat([absmax, rest.abs().max().reshape(1)])
    scale = absmax.clamp(min=1e-38)  # an all-zero block stays 0, not 0/0
    full_normed = (full / scale[: len(full), None]).reshape(-1)
    normed = torch.cat([full_normed, rest / scale[-1]])
    normed = normed.clamp(-1, 1)
    midpoints = (levels[1:] + levels[:-1]) / 2
    codes = torch.bucketize(normed, midpoints)  # index of the nearest level
    return codes, absmax


def dequantize_blockwise(codes, absmax, levels, blocksize):
    """``levels[code] * absmax`` for each block: the inverse of
    ``quantize_blockwise``."""
    values = levels[codes.long().reshape(-1)]
    block_of = torch.arange(values.numel()) // blocksize
    return values * absmax[block_of]


# --8<-- [end:blockwise]


# --8<-- [start:quantize_4bit] docs/quantization/index.md
def quantize_4bit(
    x: torch.Tensor,
    quant_type: str = "nf4",
    blocksize: int = 64,
    double_quant: bool = False,
    nested_blocksize: int = 256,
) -> Quantized4bit:
    """Store x in 4 bits per value with one absmax per block of
    ``blocksize`` values.

    ``quant_type`` is "nf4" (normal-quantile levels) or "fp4". With
    ``double_quant`` the absmax values lose their mean and are themselves
    quantized to 8-bit dynamic codes in blocks of ``nested_blocksize``, as in
    QLoRA. If x's size is not a multiple of the block, the last block is
    shorter and gets its own absmax (bitsandbytes' rule).
    """
    if quant_type not in CODEBOOKS:
        known = f"use one of {sorted(CODEBOOKS)}"
        raise QuantError(f"unknown 4-bit format {quant_type!r}; {known}")
    _check_input(x, blocksize)
    if double_quant and nested_blocksize not in BLOCKSIZES:
        known = f"nested_blocksize must be one of {BLOCKSIZES}"
        raise QuantError(f"{known}, got {nested_blocksize!r}")
    codes, absmax = quantize_blockwise(x, CODEBOOKS[quant_type], blocksize)
    if codes.numel() % 2:
        # two codes per byte: pad one code, dropped again in codes()
        codes = torch.cat([codes, codes.new_zeros(1)])
    packed = (codes[0::2] << 4 | codes[1::2]).to(torch.uint8)
    q = Quantized4bit(packed, absmax, x.shape, x.dtype, quant_type, blocksize)
    if double_quant:
        q.offset = absmax.mean()
        q.nested_blocksize = nested_blocksize
        codes8, q.absmax_scale = quantize_blockwise(
            absmax - q.offset, dynamic_map(), nested_blocksize
        )
        q.absmax = codes8.to(torch.uint8)
    return q


# --8<-- [end:quantize_4bit]


def dequantize_4bit(q: Quantized4bit) -> torch.Tensor:
    """The tensor back in its original dtype (same as ``q.dequantize()``)."""
    return q.dequantize()


def scale_bits_per_weight(
    blocksize: int = 64, double_quant: bool = False, nested_blocksize: int = 256
):
    """Bits of scale overhead per weight (add 4 for the code itself).

    One fp32 absmax per block: 32 / 64 = 0.5. Double-quantized: 8 / 64 + 32 / (64 * 256), about
    0.127 (QLoRA, Section 3, "Double Quantization").
    """
    if not double_quant:
        return 32 / blocksize
    return 8 / blocksize + 32 / (blocksize * nested_blocksize)
