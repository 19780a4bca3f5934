"""Memory peaks measured on a GPU: the evidence ``ftkit.memory.estimate`` is checked against.

A CPU run can check the estimator tensor by tensor (the QLoRA chapter does), but not what a GPU
adds: bitsandbytes' CUDA kernels and their workspaces, the caching allocator's reserve, the
CUDA context. These rows were measured for the guide on one NVIDIA H200 in November 2026, with
torch 2.11, transformers 5.17, peft 0.21.0 and bitsandbytes 0.50.2: random weights in each
model's published shapes, loaded in 4-bit NF4 with double quantization and bf16 compute, LoRA
r=16 on all seven linear layers, 8-bit AdamW, batch 2, two training steps in ``model.train()``;
``torch.cuda.max_memory_allocated`` and ``max_memory_reserved`` after them, in GB (1e9 bytes).
Neither counts the CUDA context (the driver's own memory for the process), which
``nvidia-smi`` shows on top.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GPUPeak:
    """One measured QLoRA training run (the setup in the module docstring)."""

    model: str  # a name of ftkit.memory.LLAMA_CONFIGS
    seq_len: int
    batch_size: int
    checkpointing: bool  # gradient checkpointing on
    kbit_prepared: bool  # peft's prepare_model_for_kbit_training called on the base
    allocated_gb: float  # torch.cuda.max_memory_allocated: the tensors' peak
    reserved_gb: float  # torch.cuda.max_memory_reserved: what the allocator held at its peak


QLORA_H200 = (
    GPUPeak("Llama-3.2-1B", 1024, 2, False, False, 9.50, 10.15),
    GPUPeak("Llama-3.2-1B", 2048, 2, False, False, 18.34, 19.70),
    GPUPeak("Llama-3.2-1B", 2048, 2, True, False, 8.27, 9.98),
    GPUPeak("Llama-3.2-1B", 2048, 2, True, True, 9.06, 11.78),
    GPUPeak("Llama-3.2-3B", 2048, 2, True, False, 10.04, 11.93),
    GPUPeak("Llama-3.1-8B", 2048, 2, True, False, 14.94, 17.65),
    GPUPeak("Llama-3.1-8B", 2048, 2, True, True, 20.25, 22.87),
)
