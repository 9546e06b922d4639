"""The cassette tree, in one place:

    <root>/<feature>/<provider>/<tier>.json      one cell tier: its client leg and its upstream traffic
    <root>/auth/<name>.json                      a run-wide token exchange (Vertex)
    <root>/blobs/<sha256 prefix>.txt|.json       large values shared by all of them
"""

from __future__ import annotations

from pathlib import Path

AUTH_DIR = "auth"
BLOB_DIR = "blobs"


def cassette_path(root: Path, feature: str, provider: str, tier: str) -> Path:
    return root / feature / provider / f"{tier}.json"


def auth_cassette_path(root: Path, name: str) -> Path:
    return root / AUTH_DIR / f"{name}.json"


def blob_dir(root: Path) -> Path:
    return root / BLOB_DIR
