"""Where the LiteLLM under test comes from: a cached uv environment per release,
or an existing Python environment the user names.

LiteLLM never shares ccmatrix's own environment: its [proxy] extra pins
cryptography>=49, mitmproxy 11.0.2 pins cryptography<44.1. A separate environment
per release is also what makes `--litellm 1.83.14` and bisecting cheap.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir

# The LiteLLM release `ccmatrix run` replays against when none is named.
DEFAULT_LITELLM_VERSION = "1.108.7"

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[.\-]?(?:post|rc|a|b|dev)\d+)?$")
_COMPLETE_MARK = ".ccmatrix-complete"
# What a production proxy serving Vertex AI has besides litellm[proxy]: google-auth for
# the token exchange, and the Vertex SDK some releases import (1.83.14's count_tokens).
_EXTRA_PACKAGES = ("google-auth", "google-cloud-aiplatform")


class LiteLLMEnvError(CcmatrixError):
    pass


@dataclass(frozen=True)
class LiteLLMEnv:
    python: Path
    version: str

    @property
    def label(self) -> str:
        return f"litellm {self.version} ({self.python})"


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


def _mark(version: str) -> str:
    # the mark names the packages too: an env built with fewer extras is rebuilt
    return " ".join([version, *_EXTRA_PACKAGES]) + "\n"


def _complete(target: Path, version: str) -> bool:
    mark = target / _COMPLETE_MARK
    return mark.exists() and mark.read_text() == _mark(version)


def _release_env(version: str, *, install: bool) -> LiteLLMEnv:
    target = cache_dir() / "envs" / f"litellm-{version}"
    python = target / "bin" / "python"
    if _complete(target, version):
        return LiteLLMEnv(python=python, version=version)
    if not install:
        raise LiteLLMEnvError(f"litellm {version} is not installed in {target}")
    build_once(target, lambda: _complete(target, version), lambda staging: _build(version, staging))
    return LiteLLMEnv(python=python, version=version)


def _build(version: str, staging: Path) -> None:
    uv = _uv()
    _run([uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)], version)
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(staging / "bin" / "python"),
         f"litellm[proxy]=={version}", *_EXTRA_PACKAGES],
        version,
    )
    (staging / _COMPLETE_MARK).write_text(_mark(version))


def _run(cmd: list[str], version: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise LiteLLMEnvError(f"installing litellm {version} failed:\n{tail}")
