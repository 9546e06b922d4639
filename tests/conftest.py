"""Shared fixtures: the default LiteLLM environment and throwaway cassette trees."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION

TESTS = Path(__file__).parent
# The slowest modules first (worker seconds in a full run, 2026-12-07: 175, 115, 80, then
# 50 down to 15). Under `--dist loadfile` a module runs whole on one worker, and xdist hands
# modules out in collection order: a slow one handed out last keeps the other worker idle
# while it runs (the live-agreement module did so for about a minute). Unlisted modules
# (the fast ones, the unit tests) follow, in their own order.
SLOWEST_FIRST = (
    "e2e/test_run_survival.py", "e2e/test_replay.py", "e2e/test_fault_rows.py", "e2e/test_bisect_command.py",
    "e2e/test_recording.py", "e2e/test_wheel.py", "e2e/test_credentials.py", "e2e/test_live_agreement.py",
    "e2e/test_cli.py", "e2e/test_source_bisect.py", "e2e/test_gate.py", "e2e/test_cli_client.py",
    "e2e/test_pytest_plugin.py", "unit/test_cassette.py", "e2e/test_live_edge.py", "e2e/test_openai_translation.py",
    "e2e/test_effort_regression.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}

    def slowest_first(item: pytest.Item) -> int:
        try:
            return rank.get(item.path.relative_to(TESTS).as_posix(), len(rank))
        except ValueError:  # an item from outside tests/ (the ccmatrix plugin's cells)
            return len(rank)

    items.sort(key=slowest_first)  # stable: a module's own tests keep their order


def pytest_configure(config: pytest.Config) -> None:
    """Every LiteLLM of a release that the suite starts, or a ccmatrix command it runs starts, is
    forked from one import of that release (ccmatrix/proxy/litellm_fork.py): some fifty starts a
    suite, each 7-8 CPU-seconds from scratch and about 1 forked. One fork server for the whole
    run, started here in xdist's controller (or the only process) before the workers, which
    inherit its variable. Tests of a run as a user starts it (the main job, the wheel, the action,
    the process-tree tests) and tests in a network namespace of their own take
    `spawned_litellm(os.environ)`."""
    from ccmatrix.proxy.litellm_fork import VARIABLE, ForkServer

    if VARIABLE in os.environ:  # a worker (the controller's server), or a caller's own
        return
    serving = ExitStack()
    serving.enter_context(ForkServer.serving())
    config.add_cleanup(serving.close)


@pytest.fixture(scope="session")
def litellm_env():
    """The project's default LiteLLM release, in ccmatrix's cached uv environment."""
    from ccmatrix.proxy.litellm_env import resolve

    return resolve(None)


@pytest.fixture(scope="session")
def replay_stack(litellm_env):
    """One replay stack (the default LiteLLM and mitmdump, every provider of the nine columns, the live
    harness's credentials) for this worker's end-to-end tests that vary only cassettes, strictness or
    chunkings: each cell tier names its own cassette tree when it begins
    (`runner.execute(..., stack=replay_stack)`), so they need not start LiteLLM again.
    Tests that stop or break processes start their own."""
    from ccmatrix.proxy.stack import Stack
    from ccmatrix.recorder.mode import Upstream

    # every column's deployments, the GPT-5.6 ones too (a run's own stack has its cells' only)
    with Stack.start(Upstream.REPLAY, catalog.DEFAULT_CASSETTE_DIR, litellm_env,
                     providers=list(catalog.ALL_PROVIDERS)) as stack:
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
