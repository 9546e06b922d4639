"""The cassette tree, in one place:

    <root>/claude-code-<release>/<feature>/<provider>/<tier>.json
                                          one cell tier as that Claude Code release drove it:
                                          its client leg and its upstream traffic
    <root>/claude-code-<release>/native/<feature>/<provider>/<tier>.json
                                          what that release sends the provider itself, with no
                                          proxy: the cell tier's native reference requests
    <root>/auth/<name>.json               a run-wide token exchange (Vertex): no client in it
    <root>/blobs/<sha256 prefix>.txt|.json
                                          large values and header sets, shared by every release's tree
    <root>/recorded-with.json             the LiteLLM release the trees were recorded with: the
                                          default release of a run (ccmatrix/cassette/recorded_with.py)

One tree per Claude Code release because a release's requests are what its
cassettes expect: a run judges with one release's tree (`--claude-code`).
"""

from __future__ import annotations

import re
from pathlib import Path

AUTH_DIR = "auth"
BLOB_DIR = "blobs"
NATIVE_DIR = "native"
RELEASE_DIR_PREFIX = "claude-code-"
RECORDED_WITH = "recorded-with.json"
_RELEASE_DIR = re.compile(re.escape(RELEASE_DIR_PREFIX) + r"(\d+\.\d+\.\d+)")


def release_dir(root: Path, release: str) -> Path:
    """The tree of the cassettes Claude Code `release` recorded."""
    return root / f"{RELEASE_DIR_PREFIX}{release}"


def cassette_path(root: Path, release: str, feature: str, provider: str, tier: str) -> Path:
    return release_dir(root, release) / feature / provider / f"{tier}.json"


def native_path(root: Path, release: str, feature: str, provider: str, tier: str) -> Path:
    return release_dir(root, release) / NATIVE_DIR / feature / provider / f"{tier}.json"


def auth_cassette_path(root: Path, name: str) -> Path:
    return root / AUTH_DIR / f"{name}.json"


def recorded_with_path(root: Path) -> Path:
    return root / RECORDED_WITH


def blob_dir(root: Path) -> Path:
    return root / BLOB_DIR


def releases(root: Path) -> list[str]:
    """The Claude Code releases `root` holds a tree for, oldest first."""
    found = [m.group(1) for p in root.iterdir() if p.is_dir() and (m := _RELEASE_DIR.fullmatch(p.name))] \
        if root.is_dir() else []
    return sorted(found, key=lambda r: tuple(int(n) for n in r.split(".")))
