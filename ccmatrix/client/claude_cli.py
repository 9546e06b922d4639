"""The pinned Claude Code CLI: installed from npm into ccmatrix's cache.

Recordings must come from one known CLI release (betas, deferred tools and thinking
defaults differ between releases), so ccmatrix installs exactly CLAUDE_CODE_VERSION
rather than whatever `claude` is on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir

PACKAGE = "@anthropic-ai/claude-code"
# The Claude Code releases the bundled cassettes have a tree for, oldest first
# (`ccmatrix setup --claude-code` installs them all), and the default: the newest.
# 2.1.126: the published reference snapshot (LiteLLM 1.83.14's live run) was taken
# with it, so agreement with that run is measured with its tree.
# 2.1.228: the release LiteLLM's live harness pins (BerriAI/litellm
# tests/e2e/claude_code/cron_vm/Dockerfile, CLAUDE_CODE_VERSION), so a replay can
# judge with the requests the nightly live run sends.
# 2.1.332: the newest on npm when recorded (the default).
BUNDLED_VERSIONS: tuple[str, ...] = ("2.1.126", "2.1.228", "2.1.332")
CLAUDE_CODE_VERSION = BUNDLED_VERSIONS[-1]


class ClaudeCliError(CcmatrixError):
    pass


def release_key(version: str) -> tuple[int, ...]:
    """A release number as something that sorts: "2.1.126" -> (2, 1, 126)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ClaudeCliError(f"not a Claude Code release number: {version!r}") from None


def latest_release(timeout: float = 15.0) -> str:
    """The newest Claude Code release, as npm's registry tags it `latest` (the registry
    npm itself would ask: npm_config_registry, else registry.npmjs.org)."""
    registry = (os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
                or "https://registry.npmjs.org").rstrip("/")
    url = f"{registry}/{quote(PACKAGE, safe='@')}/latest"
    try:
        answer = httpx.get(url, timeout=timeout, follow_redirects=True)
        answer.raise_for_status()
        found = answer.json().get("version")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ClaudeCliError(f"could not ask {url} for the latest Claude Code release: {exc}") from None
    if not isinstance(found, str) or not re.fullmatch(r"\d+\.\d+\.\d+", found):
        raise ClaudeCliError(f"{url} answered no release number (version: {found!r})")
    return found


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


def version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip().split(" ")[0]
