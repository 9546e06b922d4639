"""The pinned Claude Code CLI: installed from npm into ccmatrix's cache, run offline.

Client captures must come from one known CLI release (betas, deferred tools and
thinking defaults differ between releases), so ccmatrix installs exactly
CLAUDE_CODE_VERSION rather than whatever `claude` is on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir

PACKAGE = "@anthropic-ai/claude-code"
# The Claude Code CLI release whose traffic the bundled client captures come from.
CLAUDE_CODE_VERSION = "2.1.126"


class ClaudeCliError(CcmatrixError):
    pass


def install(version: str = CLAUDE_CODE_VERSION) -> Path:
    """The `claude` executable of `version`, installing it with npm if needed."""
    target = cache_dir() / "claude-code" / version
    binary = target / "node_modules" / ".bin" / "claude"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if not npm:
        raise ClaudeCliError("npm is needed to install the Claude Code CLI (apt-get install npm)")

    def build(staging: Path) -> None:
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(staging), f"{PACKAGE}@{version}"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise ClaudeCliError(f"npm install {PACKAGE}@{version} failed:\n{proc.stderr[-2000:]}")

    build_once(target, binary.exists, build)
    return binary


def offline_env(base_url: str, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment that keeps the CLI on `base_url` and off the internet."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-ccmatrix-capture-placeholder",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        # bound its retries: a capture server that breaks a stream on purpose
        # must not cost minutes of backoff
        "CLAUDE_CODE_MAX_RETRIES": "1",
        "API_TIMEOUT_MS": "20000",
    }
    env.update(extra or {})
    return env


def version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip().split(" ")[0]
