"""Shared fixtures: the default LiteLLM environment and throwaway cassette trees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION


@pytest.fixture(scope="session")
def litellm_env():
    """The project's default LiteLLM release, in ccmatrix's cached uv environment."""
    from ccmatrix.proxy.litellm_env import resolve

    return resolve(None)


@pytest.fixture(scope="session")
def replay_stack(litellm_env):
    """One replay stack (the default LiteLLM and mitmdump, every provider, the live harness's
    credentials) for this worker's end-to-end tests that vary only cassettes, strictness or
    chunkings: each cell tier names its own cassette tree when it begins
    (`runner.execute(..., stack=replay_stack)`), so they need not start LiteLLM again.
    Tests that stop or break processes start their own."""
    from ccmatrix.proxy.stack import Stack
    from ccmatrix.recorder.mode import Upstream

    with Stack.start(Upstream.REPLAY, catalog.DEFAULT_CASSETTE_DIR, litellm_env) as stack:
        yield stack


@pytest.fixture
def cassette_copy(tmp_path: Path) -> Path:
    """A copy of the bundled cassettes that a test may change."""
    target = tmp_path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, target)
    return target


def derive_cassette(root: Path, cell_id: str, mutate: Callable[[dict[str, Any]], None]) -> Path:
    """Change a recorded cassette in place (in a copy!): tests that need a broken
    cassette derive it from a recorded one rather than writing one by hand."""
    path = catalog.CellTier.parse(cell_id).cassette_path(root, CLAUDE_CODE_VERSION)
    document = json.loads(path.read_text())
    mutate(document)
    path.write_text(json.dumps(document, indent=2))
    return path
