"""Which LiteLLM releases start: every minor series from 1.80 to the newest, each built
as `--litellm X` builds it (as of its publication, the constraint table, what the index
lacks relaxed, the repair step: docs/litellm-envs.md) and its proxy started once with
ccmatrix's config. Prints one line per release (start / no start, with the reason, what
was pinned and what was relaxed); never judges. Needs the package index; builds go to
ccmatrix's cache.

    python bench/release_sweep.py                   # the newest patch of every minor from 1.80 on, and the newest
    python bench/release_sweep.py 1.97.0 1.99.4     # these releases
    python bench/release_sweep.py --every 4         # every 4th minor series only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from packaging.version import Version

from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_env import provenance, resolve
from ccmatrix.run.bisect import index_versions


def sample(available: list[str], every: int, since: str = "1.80.0") -> list[str]:
    """The newest patch of every `every`-th minor release since `since`, and the newest release."""
    released = sorted({Version(v) for v in available if not Version(v).is_prerelease and Version(v) >= Version(since)})
    newest_of_minor: dict[tuple[int, int], Version] = {}
    for v in released:
        newest_of_minor[(v.major, v.minor)] = v
    minors = sorted(newest_of_minor)
    chosen = [newest_of_minor[m] for m in minors[::every]]
    if released and released[-1] not in chosen:
        chosen.append(released[-1])
    return [str(v) for v in chosen]


def starts(version: str) -> tuple[bool, str, float]:
    t0 = time.perf_counter()
    try:
        env = resolve(version)
    except CcmatrixError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return False, f"does not build: {lines[0]} ... {lines[-1]}", time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="ccmatrix-sweep-") as tmp:
        work = Path(tmp)
        config = litellm_config.write_config(work / "config.yaml", litellm_config.default_config())
        environ = {**base_environment(work / "home"), **fake_credentials(work)}  # throwaway, as in a replay
        proxy = LiteLLMProxy(env, config, environ, work)
        try:
            proxy.start(timeout=120)
        except CcmatrixError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            return False, f"does not start: {lines[0]} ... {lines[-1].strip()}", time.perf_counter() - t0
        finally:
            proxy.stop()
    built = provenance(env)
    notes = [f"pinned {', '.join(built['pins'])}"] if built.get("pins") else []
    notes += [f"relaxed: {'; '.join(built['relaxed'])}"] if built.get("relaxed") else []
    return True, "starts" + (f" ({'; '.join(notes)})" if notes else ""), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("releases", nargs="*", help="releases to try (default: a sample from the index)")
    parser.add_argument("--every", type=int, default=1, help="every N-th minor series (default 1: every one)")
    opts = parser.parse_args(argv)
    releases = opts.releases or sample(index_versions(), opts.every)
    print(f"release sweep: {len(releases)} release(s): {', '.join(releases)}")
    started = 0
    for version in releases:
        ok, reason, seconds = starts(version)
        started += ok
        print(f"{version:>10}  {'start   ' if ok else 'NO START'}  {seconds:6.1f} s  {reason}", flush=True)
    print(f"{started} of {len(releases)} start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
