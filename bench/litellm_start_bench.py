"""What one LiteLLM proxy start costs, started from scratch (as a user's run starts it) and
forked by ccmatrix's LiteLLM fork server (as the test suite starts it,
ccmatrix/proxy/litellm_fork.py). LiteLLM's starts are the largest part of the suite's CPU
(issue 22: some 52 starts a run). Prints figures and a ratio; never judges.

    python bench/litellm_start_bench.py                 # the default release, 3 of each
    python bench/litellm_start_bench.py --litellm 1.83.14 --repeat 5

Three measurements, each with ccmatrix's own config (every column's deployments) and the
environment a replay gives LiteLLM (throwaway credentials):
  cli     `litellm --config ... --host ... --port ...` as ccmatrix launches it, until
          /health/liveliness answers; CPU the proxy used until then (/proc/PID/stat)
  import  `import litellm.proxy.proxy_server` alone, in the same environment (the
          interpreter's start included, its exit not)
  forked  the same LiteLLMProxy started under `ForkServer.serving()`: forked from the
          fork server's one import, running LiteLLM's own `proxy_cli.run_server` with the
          same command line; the first start, which waits for that import, is apart
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ccmatrix.proxy import litellm_config, litellm_fork
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_config import MASTER_KEY
from ccmatrix.proxy.litellm_env import resolve

IMPORT = ("import json, time; t0 = time.monotonic(); import litellm.proxy.proxy_server; "
          "print(json.dumps([time.monotonic() - t0, time.process_time()]))")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """A running process's CPU so far, its own and its ended children's (/proc/PID/stat:
    utime, stime, cutime, cstime): the same figure for a spawned and a forked proxy, whose
    parent is the fork server, not this process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def _start(env, config: Path, environ: dict[str, str], work: Path) -> tuple[float, float, int]:
    """One proxy started as ccmatrix starts it: seconds until ready, CPU then, models served."""
    proxy = LiteLLMProxy(env, config, environ, work)
    t0 = time.monotonic()
    proxy.start(timeout=180)
    try:
        ready = time.monotonic() - t0
        cpu = _cpu(proxy.process.pid)
        models = httpx.get(f"{proxy.url}/v1/models", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                           timeout=10, trust_env=False).json()["data"]
    finally:
        proxy.stop()
    return ready, cpu, len(models)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--litellm", default=None, help="the release (default: ccmatrix's default)")
    parser.add_argument("--repeat", type=int, default=3, help="starts of each kind (default 3)")
    opts = parser.parse_args(argv)
    env = resolve(opts.litellm)
    figures: dict[str, list[tuple[float, float]]] = {"cli": [], "import": [], "forked": []}
    served: set[int] = set()  # the models each proxy serves: the same config loaded either way
    with tempfile.TemporaryDirectory(prefix="ccmatrix-start-bench-") as tmp:
        work = Path(tmp)
        config = litellm_config.write_config(work / "config.yaml", litellm_config.default_config())
        environ = {**base_environment(work / "home"), **fake_credentials(work)}
        os.environ.pop(litellm_fork.VARIABLE, None)  # `cli`: started from scratch, as a user's run starts it
        for _ in range(opts.repeat):
            ready, cpu, models = _start(env, config, environ, work)
            figures["cli"].append((ready, cpu))
            served.add(models)
        for _ in range(opts.repeat):  # timed inside: the interpreter's exit after it takes 2-3 s more
            done = subprocess.run([str(env.python), "-c", IMPORT], env=environ, cwd=work, check=True,
                                  capture_output=True, text=True)
            figures["import"].append(tuple(json.loads(done.stdout.splitlines()[-1])))
        with litellm_fork.ForkServer.serving():  # `forked`: ccmatrix's fork server, as the suite uses it
            t0 = time.monotonic()
            ready, cpu, models = _start(env, config, environ, work)  # the first: the fork server imports
            first = time.monotonic() - t0
            served.add(models)
            for _ in range(opts.repeat):
                ready, cpu, models = _start(env, config, environ, work)
                figures["forked"].append((ready, cpu))
                served.add(models)

    print(f"LiteLLM {env.version}: one proxy start, {opts.repeat} of each (median; seconds)")
    print(f"{'':8} {'ready':>7} {'CPU':>7}")
    for kind, values in figures.items():
        print(f"{kind:8} {statistics.median(v[0] for v in values):7.1f} {statistics.median(v[1] for v in values):7.1f}")
    print(f"(the first forked start, the fork server's import included: {first:.1f} s, once)")
    cli_cpu = statistics.median(v[1] for v in figures["cli"])
    forked_cpu = statistics.median(v[1] for v in figures["forked"])
    print(f"forked / cli CPU: {forked_cpu / cli_cpu:.2f}; saved per start: {cli_cpu - forked_cpu:.1f} s of CPU")
    if len(served) != 1:
        print(f"not the same work: the proxies served {sorted(served)} models", file=sys.stderr)
        return 1
    print(f"each proxy served the config's {served.pop()} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
