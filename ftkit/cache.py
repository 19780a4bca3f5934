"""The cache of built models: a folder per recipe, built once, never half-written.

The tiny models are built, not downloaded: ``ftkit.tiny.tiny_llama`` and
``ftkit.tiny_vlm.tiny_vlm`` each turn a small frozen dataclass (the recipe) into a folder that
``from_pretrained`` loads like a hub id. This module keeps those folders: one per recipe, named
by a hash of it, in ``$FTKIT_CACHE`` or ``~/.cache/ftkit``.

- ``cached(name, build)`` returns the folder, calling ``build`` first if the folder is missing,
  partial or corrupt (its checksum manifest does not match). Two processes building at once take
  a file lock, and the folder appears by an atomic rename, so no one loads half a model.
- ``recipe_hash(config)`` names the folder; ``BUILD_VERSION`` takes part, so a change to a build
  recipe leaves the old folders unused.
- ``seeded(seed)`` is a build's context: the RNG seeded and one thread, both restored after.
- ``check_ints(config, ...)`` validates a recipe's integer fields, naming the bad one.

Simplifies: huggingface_hub's cache (``snapshot_download``: a folder per revision, written
atomically).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

try:  # POSIX (Linux, macOS, Colab). Elsewhere builds still end in an atomic rename.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

CACHE_ENV = "FTKIT_CACHE"  # overrides the cache folder
DEFAULT_CACHE = Path("~/.cache/ftkit")
MANIFEST = "ftkit_manifest.json"  # written last: its presence means the build finished
BUILD_VERSION = 3  # bump when a build recipe changes, so old caches are not reused


def cache_dir() -> Path:
    """The folder models are cached in: ``$FTKIT_CACHE`` or ``~/.cache/ftkit``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def recipe_hash(config, **extra) -> str:
    """12 hex digits of a recipe dataclass's fields, the build version and ``extra``."""
    blob = json.dumps({"build": BUILD_VERSION, **extra, **asdict(config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def check_ints(config, positive: tuple[str, ...], non_negative: tuple[str, ...] = ()) -> None:
    """Raise a ValueError naming the recipe field that is not a positive (or >= 0) int."""
    kind = type(config).__name__
    for names, low, rule in ((positive, 1, "a positive int"), (non_negative, 0, "an int >= 0")):
        for name in names:
            value = getattr(config, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{kind}.{name} must be {rule}, got {value!r}")


def cached(name: str, build: Callable[[Path], None]) -> str:
    """Return ``cache_dir() / name``, calling ``build(folder)`` first if it is not complete.

    The build writes into a staging folder; the manifest is written last and the folder
    appears by an atomic rename, under a file lock, so no one ever loads half a model.
    """
    root = cache_dir()
    target = root / name
    if _is_complete(target):  # fast path: no lock needed to read a finished folder
        return str(target)
    _refuse_inside_a_group(name)
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f"{target.name}.lock"):
        if _is_complete(target):  # another process finished it while we waited
            return str(target)
        if target.exists():  # partial or corrupt: rebuild it from scratch
            shutil.rmtree(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
        try:
            build(staging)
            _write_manifest(staging)
            os.replace(staging, target)  # atomic: readers see all of it or none of it
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def _refuse_inside_a_group(name: str) -> None:
    """Raise when this process is a rank of a torch.distributed group of more than one.

    transformers' ``save_pretrained`` writes nothing on a rank other than 0 once a process group
    is up (``should_save_on_this_rank``), so a build there would leave a folder with a tokenizer
    and no model, which the manifest would then vouch for.
    """
    import sys

    dist = sys.modules.get("torch.distributed")  # imported only if the caller uses it
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return
    if dist.get_world_size() > 1:
        raise RuntimeError(
            f"ftkit cache: {name} is not built yet, and this process is rank "
            f"{dist.get_rank()} of a group of {dist.get_world_size()}, where transformers saves "
            "only on rank 0; build it before init_process_group (ftkit.multidevice does), or "
            "once in a single process before launching"
        )


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator and use one thread for the body, then restore the caller's
    RNG state and thread count.

    One thread: how a sum is split between threads changes its last bits, and pretraining
    carries them into the weights, so a build on two cores could differ from one on four.
    """
    import torch

    state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
        torch.set_num_threads(threads)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    manifest = {"build": BUILD_VERSION, "files": {n: _file_digest(folder / n) for n in files}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _is_complete(folder: Path) -> bool:
    """True when ``folder`` has a manifest and every file in it matches its checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = manifest["files"]
        return bool(files) and all(_file_digest(folder / n) == d for n, d in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (a no-op where fcntl is missing)."""
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
