"""A small LiteLLM git repository made offline from cached release environments: one
commit per release, its tree laid out as LiteLLM's repository is: the release's
installed `litellm` package (without the compiled Rust bridge, which a checkout does
not hold), a pyproject.toml declaring the release's own requirements (from its
METADATA) with LiteLLM's build set-up (maturin and its Rust crate, a uv workspace whose
members the tree lacks, as an sdist does, and `exclude-newer`), a `litellm-rust/` crate,
dated when the release was published. A stand-in for LiteLLM's history, so source runs,
gates and commit bisects can be tested with no network: nothing in it can be built here
(the crate's registry is out of reach), which is what ccmatrix must cope with.
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

_EXTRA = re.compile(r'extra\s*==\s*["\']([^"\']+)["\']')
# nothing is fetched: the release environments come from ccmatrix's cache
OFFLINE = {"UV_OFFLINE": "1"}


def _site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def _without_extra(requirement: str) -> str:
    """A Requires-Dist line as a pyproject's extra lists it: without its `extra ==` marker."""
    extra = r'extra\s*==\s*["\'][^"\']+["\']'
    requirement = re.sub(rf"\s+and\s+{extra}", "", requirement)
    requirement = re.sub(rf"{extra}\s+and\s+", "", requirement)
    return re.sub(rf"\s*;\s*{extra}\s*$", "", requirement)


def pyproject(version: str, requires: list[str]) -> str:
    """LiteLLM's pyproject.toml as its repository has it (1.98.0's build set-up)."""
    plain = [r for r in requires if not _EXTRA.search(r)]
    extras: dict[str, list[str]] = {}
    for r in requires:
        if m := _EXTRA.search(r):
            extras.setdefault(m[1], []).append(_without_extra(r))
    lines = ["[project]", 'name = "litellm"', f'version = "{version}"', 'requires-python = ">=3.9"',
             "dependencies = ["] + [f"    {json.dumps(r)}," for r in plain] + ["]", "", "[project.optional-dependencies]"]
    for extra, reqs in extras.items():
        lines += [f"{json.dumps(extra)} = ["] + [f"    {json.dumps(r)}," for r in reqs] + ["]"]
    lines += ["", "[project.scripts]", 'litellm = "litellm:run_server"', "",
              "[build-system]", 'requires = ["maturin==1.9.4"]', 'build-backend = "maturin"', "",
              "[tool.maturin]", 'manifest-path = "litellm-rust/crates/python-bridge/Cargo.toml"',
              'module-name = "litellm.rust_bridge._native"', 'python-source = "."', "",
              "[tool.uv]", 'exclude-newer = "3 days"', "",
              "[tool.uv.sources]", "litellm-proxy-extras = { workspace = true }",
              "litellm-enterprise = { workspace = true }", "",
              "[tool.uv.workspace]", 'members = ["enterprise", "litellm-proxy-extras"]', ""]
    return "\n".join(lines)


CARGO = """[package]
name = "litellm-python-bridge"
version = "0.1.0"
edition = "2021"

[lib]
name = "_native"
crate-type = ["cdylib"]

[dependencies]
pyo3 = { version = "0.25", features = ["extension-module", "abi3-py310"] }
"""


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
        # a checkout holds no compiled file: the Rust bridge is built from litellm-rust/
        shutil.copytree(site / "litellm", path / "litellm", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        (path / "pyproject.toml").write_text(pyproject(version, list(dist.requires or [])))
        crate = path / "litellm-rust" / "crates" / "python-bridge"
        crate.mkdir(parents=True, exist_ok=True)
        (crate / "Cargo.toml").write_text(CARGO)
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
