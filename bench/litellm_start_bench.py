"""What one LiteLLM proxy start costs, and how much of it is the import a start forked from
an already imported interpreter would skip. LiteLLM's starts are the largest part of the
suite's CPU (issue 22: some 52 starts a run), so this is the figure that decides whether
preforking them is worth building. Prints figures and a ratio; never judges.

    python bench/litellm_start_bench.py                 # the default release, 3 of each
    python bench/litellm_start_bench.py --litellm 1.83.14 --repeat 5

Three measurements, each with ccmatrix's own config (every column's deployments) and the
environment a replay gives LiteLLM (throwaway credentials):
  cli     `litellm --config ... --host ... --port ...` as ccmatrix launches it, until
          /health/liveliness answers; CPU from the process's own usage when stopped
  import  `import litellm.proxy.proxy_server` alone, in the same environment (the
          interpreter's start included, its exit not)
  forked  the same command line run by LiteLLM's own `proxy_cli.run_server` in a child
          forked from a process that imported the proxy first (what a fork server would
          do: nothing of it is built; this measures what it could save)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_config import MASTER_KEY
from ccmatrix.proxy.litellm_env import resolve
from ccmatrix.proxy.process import free_port

IMPORT = ("import json, time; t0 = time.monotonic(); import litellm.proxy.proxy_server; "
          "print(json.dumps([time.monotonic() - t0, time.process_time()]))")
# Run by the LiteLLM environment's interpreter: import the proxy once, then fork a child per
# start that runs LiteLLM's own command-line entry; one JSON line per start.
FORKED = r"""
import json, os, sys, time, urllib.request
config, key, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]
t0, c0 = time.monotonic(), time.process_time()
import litellm.proxy.proxy_cli as proxy_cli, litellm.proxy.proxy_server  # noqa: E401
print(json.dumps({"import": time.monotonic() - t0, "import_cpu": time.process_time() - c0}), flush=True)
for port in ports[:repeat]:
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        log = os.open(os.devnull, os.O_WRONLY)
        os.dup2(log, 1), os.dup2(log, 2)
        try:
            proxy_cli.run_server.main(args=["--config", config, "--host", "127.0.0.1", "--port", str(port)],
                                      prog_name="litellm")
        finally:
            os._exit(0)
    while True:
        if os.waitpid(pid, os.WNOHANG)[0]:
            sys.exit(f"the forked LiteLLM on port {port} exited before it answered")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.05)
    ready = time.monotonic() - t0
    models = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {key}"})
    served = len(json.load(urllib.request.urlopen(models, timeout=10))["data"])
    os.killpg(pid, 15)
    _, _, usage = os.wait4(pid, 0)
    print(json.dumps({"ready": ready, "cpu": usage.ru_utime + usage.ru_stime, "models": served}), flush=True)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        for _ in range(opts.repeat):
            proxy = LiteLLMProxy(env, config, environ, work)
            before, t0 = _children_cpu(), time.monotonic()
            proxy.start(timeout=120)
            ready = time.monotonic() - t0
            served.add(len(httpx.get(f"{proxy.url}/v1/models", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                                     timeout=10).json()["data"]))
            proxy.stop()
            figures["cli"].append((ready, _children_cpu() - before))
        for _ in range(opts.repeat):  # timed inside: the interpreter's exit after it takes 2-3 s more
            done = subprocess.run([str(env.python), "-c", IMPORT], env=environ, cwd=work, check=True,
                                  capture_output=True, text=True)
            figures["import"].append(tuple(json.loads(done.stdout.splitlines()[-1])))
        forked = subprocess.run([str(env.python), "-c", FORKED, str(config), MASTER_KEY, str(opts.repeat),
                                 *(str(free_port()) for _ in range(opts.repeat))],
                                env=environ, cwd=work, check=True, capture_output=True, text=True, timeout=600)
        lines = [json.loads(line) for line in forked.stdout.splitlines() if line.startswith("{")]
        figures["forked"] = [(line["ready"], line["cpu"]) for line in lines if "ready" in line]
        served.update(line["models"] for line in lines if "ready" in line)
        imported = next(line for line in lines if "import" in line)

    print(f"LiteLLM {env.version}: one proxy start, {opts.repeat} of each (median; seconds)")
    print(f"{'':8} {'ready':>7} {'CPU':>7}")
    for kind, values in figures.items():
        print(f"{kind:8} {statistics.median(v[0] for v in values):7.1f} {statistics.median(v[1] for v in values):7.1f}")
    print(f"(the forking process's own import: {imported['import']:.1f} s, {imported['import_cpu']:.1f} s CPU, once)")
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
