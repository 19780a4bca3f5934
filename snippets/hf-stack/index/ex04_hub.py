"""The hub's cache, offline: what a hub id resolves to, the cache layout
(blobs, refs, snapshots), local_files_only and HF_HUB_OFFLINE.

Nothing here touches the network: the cache is laid out by hand from the
guide's tiny model, the way huggingface_hub lays out a download.
Run alone: python snippets/hf-stack/index/ex04_hub.py
"""

# --8<-- [start:resolve]
from pathlib import Path

from ftkit.tiny import tiny_llama

# this part is about a local folder: the tiny model's, on a GPU too
FOLDER = tiny_llama()  # Colab GPU: keep tiny_llama(), a local folder

# a string that names an existing folder is read from that folder, and
# nothing else happens; any other string must be a hub id, "org/name"
print("a folder:", Path(FOLDER).is_dir())
print(sorted(path.name for path in Path(FOLDER).iterdir()))
# --8<-- [end:resolve]

# --8<-- [start:layout]
import hashlib
import os
import shutil
import tempfile

hub_cache = Path(tempfile.mkdtemp()) / "hub"  # HF_HUB_CACHE in this page
REPO_ID = "guide/tiny-llama"


def blob_name(data: bytes, lfs: bool) -> str:
    """The file's ETag on the hub: its sha256 for a file stored with Git LFS
    (weights), its git blob sha1 for any other file. Which files are LFS is
    the repository's .gitattributes's call; here, the .safetensors file."""
    if lfs:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def add_to_cache(folder, repo_id, cache, commit):
    """Lay out `folder` as huggingface_hub lays out a download of `repo_id`
    at `commit`: each file once in blobs/, linked from snapshots/<commit>/,
    and refs/main naming the commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    for path in sorted(Path(folder).iterdir()):
        data = path.read_bytes()
        blob = repo / "blobs" / blob_name(data, path.suffix == ".safetensors")
        blob.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, blob)
        snapshot.mkdir(parents=True, exist_ok=True)
        # relative links, as huggingface_hub makes them
        os.symlink(os.path.relpath(blob, snapshot), snapshot / path.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return repo


# a real commit id comes from the hub's git; this one is made up
COMMIT = hashlib.sha1(b"guide/tiny-llama, first commit").hexdigest()
repo = add_to_cache(FOLDER, REPO_ID, hub_cache, COMMIT)
print(f"{repo.name}/refs/main: {(repo / 'refs' / 'main').read_text()[:8]}...")
print(f"{repo.name}/blobs: {len(list((repo / 'blobs').iterdir()))} files")
for link in sorted((repo / "snapshots" / COMMIT).iterdir()):
    blob = os.readlink(link).split("/")[-1]
    kind = "sha256" if len(blob) == 64 else "git sha1"
    print(f"  snapshots/{COMMIT[:8]}.../{link.name:23} -> blobs/<{kind}>")
# --8<-- [end:layout]

# --8<-- [start:scan]
from huggingface_hub import scan_cache_dir

# what `hf cache ls` lists; it reads the folders, it sends no request
for cached_repo in scan_cache_dir(hub_cache).repos:
    print(
        cached_repo.repo_id,
        cached_repo.repo_type,
        f"{len(cached_repo.revisions)} revision,",
        f"{cached_repo.nb_files} files,",
        f"{cached_repo.size_on_disk / 1e6:.1f} MB",
    )
# --8<-- [end:scan]

# --8<-- [start:offline]
import subprocess
import sys

# Offline mode is read when huggingface_hub is imported: set it before
# Python starts (here, for a fresh Python process), not halfway through.
script = """
import os
import sys
from huggingface_hub import constants, hf_hub_download
from transformers import AutoConfig, AutoTokenizer

print("offline mode:", constants.HF_HUB_OFFLINE)
# a local folder (the first argument) never needed the network
config = AutoConfig.from_pretrained(sys.argv[1])
print("a local folder:", type(config).__name__)
# a hub id resolves through refs/main to a file of the snapshot
path = hf_hub_download("guide/tiny-llama", "config.json")
print("resolves to", os.path.relpath(path, constants.HF_HUB_CACHE))
tokenizer = AutoTokenizer.from_pretrained("guide/tiny-llama")
print("loaded", type(tokenizer).__name__, "from the cache")
try:
    AutoConfig.from_pretrained("meta-llama/Llama-3.2-1B-Instruct")
except OSError as error:
    print(type(error).__name__ + ":", str(error).splitlines()[0])
"""
env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache)}
result = subprocess.run(
    [sys.executable, "-c", script, FOLDER],
    env=env,
    capture_output=True,
    text=True,
)
print(result.stdout, end="")
if result.returncode:
    raise RuntimeError(result.stderr)
# --8<-- [end:offline]
