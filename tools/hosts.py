"""Stand-ins for other machines: run the doc tests under each, or measure how far numbers move.

    python -m tools.hosts test                        # make test-hosts: every leg must pass
    python -m tools.hosts spread                      # every page, under every stand-in host
    python -m tools.hosts spread docs/sft/reasoning.md --hosts plain,sse

A host is a set of environment variables (``HOSTS``) that make this machine compute as another
CPU would: other vector kernels in ATen, MKL and oneDNN (fused multiply-adds or not, other
widths), or one OpenMP thread. The harness never overrides them. Each leg runs in fresh
processes with an empty ``FTKIT_CACHE``, so it builds its own tiny models, as a new machine does.

``test`` runs the doc tests and the end-to-end notebooks under each host in turn and prints one
line per leg; it fails if any leg fails.

``spread`` runs the pages' blocks as the doc tests do (``tools.pages.PageRun``, one torch thread),
once per host, two hosts at a time, and then prints, for every shown output, the numbers that
moved beyond one unit of their last digit on some host, how far, and the tolerance the page
declares (``tools/outputs.py``), flagging the text that changed and the numbers that moved beyond
it. A tolerance worth writing is about twice the largest move seen.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tools.outputs import allowed, normalise_output, pin_threads, tokens
from tools.pages import DOCS, ROOT, PageRun, page_name, pages, runnable_blocks

# What the test processes use unless the environment says otherwise (tests/conftest.py): one
# thread for the libraries that start their own (OpenMP, the Rust tokenizers), so that two
# processes on two cores do not fight over them.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
HOSTS = {
    "plain": {},
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    },
    "avx": {  # AVX matrix kernels without fused multiply-add, beside AVX2 elementwise ones
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX",
        "ONEDNN_MAX_CPU_ISA": "AVX",
    },
    "sse": {  # a CPU without AVX: scalar ATen kernels, SSE4.2 MKL kernels
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
    },
    "threads1": {"OMP_NUM_THREADS": "1"},
}


def capture(names: list[str], out: Path) -> None:
    """Run the pages, writing ``{page: {block line: printed}}`` (or the error) to ``out``."""
    pin_threads()
    result: dict[str, dict] = {}
    for name in names:
        printed: dict[str, str] = {}
        started = time.time()
        with tempfile.TemporaryDirectory() as scratch:
            run = PageRun(Path(scratch))
            try:
                for block in runnable_blocks(DOCS / name):
                    # framework blocks run under make test-frameworks only, in their own
                    # environments, which the stand-in hosts do not build
                    if not (block.gpu_only or block.framework):
                        printed[str(block.line)] = run.run(block)
            except BaseException:  # noqa: BLE001 - recorded, and the next page runs
                printed["error"] = traceback.format_exc()[-2000:]
        result[name] = printed
        out.write_text(json.dumps(result, indent=1))  # page by page: a stopped run keeps its part
        print(f"{name}: {len(printed)} blocks in {time.time() - started:.0f} s", flush=True)


def _run_host(host: str, names: list[str], folder: Path) -> Path:
    out = folder / f"{host}.json"
    cache = folder / f"cache-{host}"
    env = {**ONE_THREAD, **os.environ, **HOSTS[host], "FTKIT_CACHE": str(cache)}
    pages_ = [f"docs/{name}" for name in names]
    cmd = [sys.executable, "-m", "tools.hosts", "spread", "--capture", str(out), *pages_]
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)
    return out


def report(names: list[str], runs: dict[str, dict]) -> list[str]:
    """The outputs that moved, one paragraph each."""
    lines = []
    for name in names:
        for host, run in runs.items():
            if "error" in run.get(name, {}):
                last = run[name]["error"].strip().split("\n")[-1]
                lines.append(f"docs/{name}: stopped by an error on {host}: {last}")
        for block in runnable_blocks(DOCS / name):
            output = block.expected_output
            if output is None or block.gpu_only or block.framework:
                continue
            printed = {h: r.get(name, {}).get(str(block.line)) for h, r in runs.items()}
            missing = [h for h, text in printed.items() if text is None]
            if missing and len(missing) < len(printed):  # an error stopped the page there
                lines.append(f"docs/{name}:{block.line}: not run on {', '.join(missing)}")
            printed = {h: text for h, text in printed.items() if text is not None}
            texts, numbers = tokens(normalise_output(output.text))
            moved = []
            for host, text in printed.items():
                got_texts, got = tokens(normalise_output(text))
                if got_texts != texts or [n.kind for n in got] != [n.kind for n in numbers]:
                    moved.append(
                        f"  {host}: the text differs:\n    " + text.replace("\n", "\n    ")
                    )
                    continue
                for want, value in zip(numbers, got, strict=True):
                    off = abs(value.value - want.value)
                    if off > want.unit * (1 + 1e-9):
                        limit = allowed(want, output.tolerance)
                        flag = "  OUTSIDE" if off > limit * (1 + 1e-9) else ""
                        relative = f" ({off / abs(want.value):.1%})" if want.value else ""
                        moved.append(
                            f"  {host}: output line {want.line + 1}: {want.text} -> {value.text}, "
                            f"off by {off:.3g}{relative}{flag}"
                        )
            if moved:
                declared = output.tolerance.describe() if output.tolerance else "none"
                lines.append(f"docs/{name}:{block.line} (tolerance: {declared})")
                lines += moved
    return lines


TESTS = ["tests/test_docs.py", "tests/test_notebooks.py", "-k", "test_block or end_to_end"]


def test(hosts: list[str]) -> int:
    """Run the doc tests and the end-to-end notebooks under each host; 1 if any leg fails."""
    results = []
    for host in hosts:
        with tempfile.TemporaryDirectory() as cache:
            env = {**ONE_THREAD, **os.environ, **HOSTS[host], "FTKIT_CACHE": cache}
            cmd = [sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", "loadgroup"]
            cmd += ["--no-loadscope-reorder"]
            started = time.time()
            proc = subprocess.run([*cmd, "-p", "no:cacheprovider", *TESTS], env=env, cwd=ROOT)
            summary = f"{time.time() - started:6.0f} s"
        settings = " ".join(f"{k}={v}" for k, v in HOSTS[host].items()) or "(as the machine is)"
        results.append((host, proc.returncode, summary, settings))
        print(f"leg {host}: {'passed' if proc.returncode == 0 else 'FAILED'}", flush=True)
    print("\nhost matrix:")
    for host, code, summary, settings in results:
        print(f"  {host:<9} {'passed' if code == 0 else 'FAILED':<7} {summary}  {settings}")
    return int(any(code for _, code, _, _ in results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["test", "spread"])
    parser.add_argument("pages", nargs="*", help="spread: docs/part/page.md (default: all)")
    parser.add_argument("--hosts", default=",".join(HOSTS), help="comma-separated, of HOSTS")
    parser.add_argument("--keep", type=Path, help="spread: keep the captured outputs here")
    parser.add_argument("--capture", type=Path, help=argparse.SUPPRESS)  # one host's run
    args = parser.parse_intermixed_args(argv)
    hosts = args.hosts.split(",")
    if args.command == "test":
        return test(hosts)
    names = [page_name(Path(p)) for p in args.pages] or [page_name(p) for p in pages()]
    if args.capture:
        capture(names, args.capture)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            files = dict(
                zip(hosts, pool.map(lambda h: _run_host(h, names, folder), hosts), strict=True)
            )
        runs = {h: json.loads(f.read_text()) for h, f in files.items()}
    lines = report(names, runs)
    print("\n".join(lines) if lines else "every number within one unit of its last digit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
