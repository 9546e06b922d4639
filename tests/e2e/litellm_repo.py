"""A small LiteLLM git repository made offline from cached release environments: one
commit per release, its tree the release's installed `litellm` package plus a
pyproject.toml declaring the release's own requirements (from its METADATA), dated
when the release was published. A stand-in for LiteLLM's history (whose trees carry
the same package and declare the same dependencies), so source builds and commit
bisects can be tested with no network.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ccmatrix.proxy.litellm_env import provenance, resolve
from ccmatrix.wheelhouse import wheelhouse_dir

_EXTRA = re.compile(r'extra\s*==\s*"([^"]+)"')
# the environment a source build needs offline: uv finds the build backend in the wheelhouse
OFFLINE_BUILDS = {"UV_OFFLINE": "1", "UV_FIND_LINKS": str(wheelhouse_dir())}


def _site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def pyproject(version: str, requires: list[str]) -> str:
    plain = [r for r in requires if not _EXTRA.search(r)]
    extras: dict[str, list[str]] = {}
    for r in requires:
        if m := _EXTRA.search(r):
            extras.setdefault(m[1], []).append(r)
    # hatchling: ccmatrix's own backend, in the wheelhouse `ccmatrix setup --wheelhouse` fills
    # (OFFLINE_BUILDS points uv at it), so the trees build with no network
    lines = ['[build-system]', 'requires = ["hatchling>=1.21"]', 'build-backend = "hatchling.build"', "",
             "[project]", 'name = "litellm"', f'version = "{version}"', 'requires-python = ">=3.9"',
             "dependencies = ["] + [f"    {json.dumps(r)}," for r in plain] + ["]", "", "[project.optional-dependencies]"]
    for extra, reqs in extras.items():
        lines += [f"{extra} = ["] + [f"    {json.dumps(r)}," for r in reqs] + ["]"]
    lines += ["", "[project.scripts]", 'litellm = "litellm:run_server"', "",
              "[tool.hatch.build.targets.wheel]", 'packages = ["litellm"]',
              # a plain .pth to the tree (no `editables` needed, it is not in the wheelhouse)
              'dev-mode-dirs = ["."]', ""]
    return "\n".join(lines)


def build_repo(path: Path, versions: list[str], existing: bool = False) -> dict[str, str]:
    """A repository at `path` (or more commits on the one there) with one commit per
    release, in order; version -> commit."""
    git = ["git", "-C", str(path)]
    if not existing:
        path.mkdir(parents=True)
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    commits = {}
    for version in versions:
        env = resolve(version)
        site = _site_packages(env.python)
        dist = importlib.metadata.PathDistribution(site / f"litellm-{version}.dist-info")
        shutil.rmtree(path / "litellm", ignore_errors=True)
        shutil.copytree(site / "litellm", path / "litellm", ignore=shutil.ignore_patterns("__pycache__"))
        (path / "pyproject.toml").write_text(pyproject(version, list(dist.requires or [])))
        # the day before the release environment's as-of date, which is its upload plus a day
        # (environments built before ccmatrix kept provenance: when the environment was built)
        as_of = provenance(env).get("resolved_as_of")
        when = (datetime.fromisoformat(as_of.replace("Z", "+00:00")) - timedelta(days=1)) if as_of else \
            datetime.fromtimestamp((site / f"litellm-{version}.dist-info").stat().st_mtime, timezone.utc)
        when = when.isoformat()
        git_env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "ccmatrix",
               "GIT_AUTHOR_EMAIL": "ccmatrix@example.invalid", "GIT_COMMITTER_NAME": "ccmatrix",
               "GIT_COMMITTER_EMAIL": "ccmatrix@example.invalid"}
        subprocess.run([*git, "add", "-A"], check=True, env=git_env)
        subprocess.run([*git, "commit", "-q", "-m", f"Release {version}"], check=True, env=git_env)
        commits[version] = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                          text=True).stdout.strip()
    return commits
