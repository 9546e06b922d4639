"""`ccmatrix bisect` for real: two LiteLLM releases, one of which drops the effort field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION


def _unstartable_env(root: Path) -> Path:
    """A Python environment whose LiteLLM reports a version but cannot import its proxy,
    as LiteLLM 1.97.0 with fastapi 0.141 does (docs/litellm-envs.md)."""
    python = root / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/bin/sh\n"
        'case "$*" in *importlib.metadata*) echo 1.97.0; exit 0;; esac\n'
        "echo \"ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'\" >&2\n"
        "exit 1\n")
    python.chmod(0o755)
    return root


@pytest.mark.proxy
def test_bisect_names_the_release_that_drops_effort_past_one_that_does_not_start(tmp_path):
    """The good release, one that does not start (skipped, reported), the bad one."""
    broken = _unstartable_env(tmp_path / "broken")
    proc = subprocess.run(
        [sys.executable, "-m", "ccmatrix", "bisect", "-f", "thinking", "-p", "vertex_ai", "-t", "opus",
         "--candidates", f"{DEFAULT_LITELLM_VERSION},{broken},1.83.14"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "following: body.output_config.effort" in proc.stderr
    assert f"litellm {broken}: skip  litellm exited with code 1" in proc.stderr
    assert f"last good: {DEFAULT_LITELLM_VERSION}" in proc.stdout and "first bad: 1.83.14" in proc.stdout
    assert "body.output_config.effort missing" in proc.stdout
    assert f"could not judge {broken} (between them): the first bad one is 1.83.14 or one of these" in proc.stdout
    assert f"skipped {broken}: litellm exited with code 1" in proc.stdout


@pytest.mark.proxy
def test_check_speaks_git_bisect_run(tmp_path):
    cell = ["-f", "thinking", "-p", "vertex_ai", "-t", "opus"]

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ccmatrix", "check", *cell, *args],
                              capture_output=True, text=True, timeout=600)

    bad = check("--litellm", "1.83.14", "--match", "body.output_config.effort")
    assert bad.returncode == 1, bad.stderr[-2000:]
    assert bad.stdout.startswith("bad: [claude-opus-4-7-vertex]")
    good = check("--litellm", "1.83.14", "--match", "body.no_such_field")  # another failure is not this one
    assert good.returncode == 0 and good.stdout.startswith("good: good for 'body.no_such_field'; other failures")
    skip = check("--litellm", str(_unstartable_env(tmp_path / "broken")))
    assert skip.returncode == 125 and skip.stdout.startswith("skip: litellm exited with code 1")
    usage = subprocess.run([sys.executable, "-m", "ccmatrix", "check", "-f", "no_such_row", "-p", "vertex_ai"],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 128 and "no_such_row" in usage.stderr and "Traceback" not in usage.stderr


@pytest.mark.proxy
def test_candidates_in_turn_share_one_mitmdump_per_job(litellm_env):
    from ccmatrix import catalog
    from ccmatrix.proxy.stack import SharedMitmdumps
    from ccmatrix.run import runner

    cells = catalog.select(features=["thinking"], providers=["bedrock_invoke"], tiers=["sonnet"])
    with SharedMitmdumps("replay", catalog.DEFAULT_CASSETTE_DIR) as shared:
        mitmdump = shared.get()
        for _ in range(2):  # two LiteLLMs in turn behind it, on its one client-leg port
            result = runner.execute(cells, litellm_env, mitmdump=shared.get())
            assert [t.status for c in result.cells() for t in c.tiers] == ["pass"]
            assert mitmdump.process.popen.poll() is None  # a stack's stop leaves it running
        assert shared.get() is mitmdump
    assert mitmdump.process.popen.poll() is not None  # stopped with the pool
