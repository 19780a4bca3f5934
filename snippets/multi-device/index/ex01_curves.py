"""What the torchrun launches wrote: loss curves, step and all-reduce times.

Run after the page's bash blocks, in the folder where they ran (it reads
their ddp_1.json, ddp_2.json and fsdp_2.json).
"""

# --8<-- [start:ddp]
import json
from pathlib import Path

one = json.loads(Path("ddp_1.json").read_text())
two = json.loads(Path("ddp_2.json").read_text())
print("step  1 process, 8 rows  2 processes, 4 rows each")
for step, (a, b) in enumerate(zip(one["losses"], two["losses"], strict=True)):
    print(f"{step:>4}  {a:>17.4f}  {b:>26.4f}")
gap = max(
    abs(a - b) for a, b in zip(one["losses"], two["losses"], strict=True)
)
print(f"0 < max difference < 1e-5: {0 < gap < 1e-5}")
# --8<-- [end:ddp]

# --8<-- [start:allreduce]
from ftkit.memory import estimate, llama_config

LINK = 100e9  # bytes per second each GPU sends: an assumed round number


def ring_bytes_sent(size: float, n: int) -> float:
    """Bytes each rank sends (and receives) in a ring all-reduce of a
    tensor of ``size`` bytes over ``n`` ranks: (n - 1) / n of it in the
    reduce-scatter, the same again in the all-gather."""
    return 2 * (n - 1) / n * size


grad_bytes = two["n_params"] * 4  # fp32 gradients
print(f"tiny Llama: {two['n_params']:,} gradients, {grad_bytes:,} bytes")
print(f"sent per rank, 2 ranks: {ring_bytes_sent(grad_bytes, 2):,.0f} bytes")
share = two["allreduce_s"] / two["step_s"]  # medians, 2 processes
print(f"all-reduce under a quarter of a training step: {share < 0.25}")
for name in ("Llama-3.1-8B", "Llama-3.1-70B"):
    n_params = estimate(llama_config(name), "full").total_parameters
    size = n_params * 4  # fp32: autocast keeps fp32 weights and gradients
    sent = ring_bytes_sent(size, 8)
    print(
        f"{name}: {size / 1e9:.1f} GB of gradients, {sent / 1e9:.1f} GB "
        f"sent per GPU on 8 GPUs, {sent / LINK:.2f} s at 100 GB/s"
    )
# --8<-- [end:allreduce]

# --8<-- [start:fsdp]
fsdp = json.loads(Path("fsdp_2.json").read_text())
print("step  1 process (DDP)  2 processes (FSDP)")
for step, (a, b) in enumerate(zip(one["losses"], fsdp["losses"], strict=True)):
    print(f"{step:>4}  {a:>17.4f}  {b:>18.4f}")
gap = max(
    abs(a - b) for a, b in zip(one["losses"], fsdp["losses"], strict=True)
)
print(f"0 < max difference < 1e-5: {0 < gap < 1e-5}")
# --8<-- [end:fsdp]
