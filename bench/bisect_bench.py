"""How long a bisect takes, cold and warm: prints figures, never judges them.

    python bench/bisect_bench.py                       # the issue's fix search, cold then warm
    python bench/bisect_bench.py --warm-only
    python bench/bisect_bench.py -- -f thinking -p vertex_ai -t opus --good 1.90.0 --bad 1.83.14

Cold: `ccmatrix bisect` with an empty ccmatrix cache of its own (`CCMATRIX_CACHE` set
to a new folder), so every LiteLLM release it probes is built: resolved, downloaded
(uv's own download cache is not emptied: say so when reading the figure), installed,
its proxy imported once. Warm: the same command again, on that cache, then once
more with `--jobs 1` (one probe at a time) for the ratio the side-by-side probes buy.
Needs the package index (bisect lists its releases and builds them); the replays are
offline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from ccmatrix.providers import bedrock_invoke  # noqa: E402  (the issue's search is on Bedrock Invoke)

DEFAULT = ["-f", "thinking", "-p", bedrock_invoke.PROVIDER.id, "-t", "sonnet", "--good", "1.90.0", "--bad", "1.83.14"]


def timed(args: list[str], cache: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "CCMATRIX_CACHE": cache}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ccmatrix", "bisect", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-only", action="store_true", help="use the default ccmatrix cache; one run")
    parser.add_argument("bisect_args", nargs="*", help="arguments for ccmatrix bisect (after --)")
    opts = parser.parse_args(argv)
    args = opts.bisect_args or DEFAULT
    print(f"bisect bench: ccmatrix bisect {' '.join(args)}; {os.cpu_count()} CPU(s)")
    runs = []
    if opts.warm_only:
        from ccmatrix.fsutil import cache_dir

        runs.append(("warm", str(cache_dir()), []))
    else:
        cache = tempfile.mkdtemp(prefix="ccmatrix-bisect-cache-")
        runs += [("cold", cache, []), ("warm", cache, [])]
    runs.append(("warm, --jobs 1", runs[-1][1], ["--jobs", "1"]))
    seconds_of = {}
    for label, cache, extra in runs:
        seconds, proc = timed(args + extra, cache)
        seconds_of[label] = seconds
        result = " / ".join(line.split(": ", 1)[1] for line in proc.stderr.splitlines() + proc.stdout.splitlines()
                            if line.startswith(("last good:", "first bad:")))
        probes = sum(1 for line in proc.stderr.splitlines() if line.strip().startswith("litellm "))
        print(f"{label:15} {seconds:8.1f} s  exit {proc.returncode}  {probes} probe(s)  result: {result or '-'}")
        if proc.returncode != 0:
            print(proc.stderr[-1500:], file=sys.stderr)
            return 1
    print(f"side by side: {seconds_of['warm, --jobs 1'] / seconds_of['warm']:.2f}x faster warm than one at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
