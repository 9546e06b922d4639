"""How long `ccmatrix run --litellm TREE` takes on a LiteLLM source tree, cold and warm,
and whether it judges as the release's wheel does: prints figures, never judges them.

    python bench/tree_bench.py TREE                 # TREE: a git checkout of LiteLLM (an sdist, git-initialised)
    python bench/tree_bench.py TREE -- -p bedrock_invoke

Cold: an empty ccmatrix cache of its own (`CCMATRIX_CACHE` set to a new folder), so
the tree's snapshot, the release environment it derives from (resolved and installed:
uv's own download cache is not emptied, say so when reading the figure), the overlay
and the proxy's import check are all made. Warm: the same command again on that cache.
Then the release itself (`--litellm <its version>`, warm) for the tier-by-tier
comparison. Needs the package index for the cold run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str], cache: str, out: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "CCMATRIX_CACHE": cache}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ccmatrix", "run", *args, "--out", str(out)], env=env,
                          capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def verdicts(out: Path) -> dict[str, str]:
    run = json.loads((out / "ccmatrix-run.json").read_text())
    return {f"{t['feature']}/{t['provider']}/{t['tier']}": t["status"]
            for row in run["rows"] for cell in row["cells"].values() for t in cell["tiers"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path, help="a LiteLLM git checkout")
    parser.add_argument("run_args", nargs="*", help="more arguments for ccmatrix run (after --)")
    opts = parser.parse_args(argv)
    from ccmatrix.proxy.litellm_source import tree_version

    version = tree_version(opts.tree)
    work = Path(tempfile.mkdtemp(prefix="ccmatrix-tree-bench-"))
    cache = str(work / "cache")
    print(f"tree bench: ccmatrix run --litellm {opts.tree} {' '.join(opts.run_args)} (version {version}); "
          f"{os.cpu_count()} CPU(s)")
    results = {}
    for label, spec, where in (("cold", str(opts.tree), cache), ("warm", str(opts.tree), cache),
                               (f"release {version}", version, cache)):
        seconds, proc = timed(["--litellm", spec, *opts.run_args], where, work / label.replace(" ", "-"))
        results[label] = work / label.replace(" ", "-")
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        summary = next((line.strip() for line in proc.stdout.splitlines() if "generated" in line), "")
        print(f"{label:18} {seconds:7.1f} s  exit {proc.returncode}  {summary or last}")
    try:
        tree, release = verdicts(results["warm"]), verdicts(results[f"release {version}"])
    except (OSError, ValueError, KeyError) as exc:
        print(f"comparison: not possible ({exc})")
        return 1
    differ = sorted(k for k in tree if tree[k] != release.get(k))
    print(f"tree vs release {version}: {len(tree) - len(differ)} of {len(tree)} tiers judged alike"
          + (f"; differ: {', '.join(differ[:10])}" if differ else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
