"""Where the LiteLLM under test comes from: a cached uv environment per release,
or an existing Python environment the user names.

LiteLLM never shares ccmatrix's own environment: its [proxy] extra pins
cryptography>=49, mitmproxy 11.0.2 pins cryptography<44.1. A separate environment
per release is also what makes `--litellm 1.83.14` and bisecting cheap.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ccmatrix.catalog import DEFAULT_LITELLM_VERSION

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[.\-]?(?:post|rc|a|b|dev)\d+)?$")
_COMPLETE_MARK = ".ccmatrix-complete"
# google-auth: Vertex AI token exchange, not pulled in by litellm[proxy] itself
_EXTRA_PACKAGES = ("google-auth",)


class LiteLLMEnvError(Exception):
    pass


@dataclass(frozen=True)
class LiteLLMEnv:
    python: Path
    version: str

    @property
    def label(self) -> str:
        return f"litellm {self.version} ({self.python})"


def cache_dir() -> Path:
    base = os.environ.get("CCMATRIX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ccmatrix"
    )
    return Path(base)


def resolve(spec: str | None = None, *, install: bool = True) -> LiteLLMEnv:
    """`spec`: None (the default release), a release ("1.83.14"), or a path to a
    Python environment (its directory or its python executable)."""
    spec = spec or DEFAULT_LITELLM_VERSION
    if _VERSION.match(spec):
        return _release_env(spec, install=install)
    path = Path(spec).expanduser()
    python = path if path.is_file() else path / "bin" / "python"
    if not python.exists():
        raise LiteLLMEnvError(
            f"--litellm {spec!r} is neither a release number (like 1.83.14) nor a Python environment "
            f"(no {python})"
        )
    return LiteLLMEnv(python=python, version=installed_version(python))


def installed_version(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise LiteLLMEnvError(f"{python} has no litellm installed: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip()


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise LiteLLMEnvError("uv is not installed (it is a ccmatrix dependency: pip install uv)")
    return found


def _release_env(version: str, *, install: bool) -> LiteLLMEnv:
    target = cache_dir() / "envs" / f"litellm-{version}"
    python = target / "bin" / "python"
    if (target / _COMPLETE_MARK).exists():
        return LiteLLMEnv(python=python, version=version)
    if not install:
        raise LiteLLMEnvError(f"litellm {version} is not installed in {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so an interrupted install
    # never leaves a half-built environment that looks usable.
    staging = Path(tempfile.mkdtemp(prefix=f".litellm-{version}.", dir=target.parent))
    try:
        uv = _uv()
        base_python = sys.executable
        _run([uv, "venv", "--quiet", "--relocatable", "--python", base_python, str(staging)], version)
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(staging / "bin" / "python"),
             f"litellm[proxy]=={version}", *_EXTRA_PACKAGES],
            version,
        )
        (staging / _COMPLETE_MARK).write_text(version + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return LiteLLMEnv(python=python, version=version)


def _run(cmd: list[str], version: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise LiteLLMEnvError(f"installing litellm {version} failed:\n{tail}")
