"""LiteLLM from source, offline: a small git repository whose commits are cached
release trees (tests/e2e/litellm_repo.py), one commit broken on purpose. `ccmatrix
bisect --repo` searches its commits for the fix of the effort regression (the newer
commit given as good), skips the commit that cannot start, and names the first bad
commit by its subject line; `--litellm PATH@REF` and `--litellm PATH` build from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix.proxy.litellm_env import resolve
from tests.e2e.litellm_repo import OFFLINE_BUILDS, build_repo

pytestmark = pytest.mark.proxy
# 1.83.14 loses output_config.effort on Bedrock Invoke; 1.93.0 and 1.94.0 keep it (the releases
# scripts/test prepares: built offline from them)
RELEASES = ["1.83.14", "1.93.0", "1.94.0"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("litellm-src") / "litellm"
    build_repo(path, RELEASES[:2])
    # a commit that cannot start: its proxy module is gone
    git = ["git", "-C", str(path), "-c", "user.name=ccmatrix", "-c", "user.email=ccmatrix@example.invalid"]
    (path / "litellm" / "proxy" / "proxy_server.py").unlink()
    subprocess.run([*git, "commit", "-qam", "Break the proxy on purpose"], check=True)
    build_repo(path, RELEASES[2:], existing=True)
    return path


def _ccmatrix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmatrix", *args], capture_output=True, text=True, timeout=1500,
                          env={**os.environ, **OFFLINE_BUILDS, "COLUMNS": "200"})


def test_bisect_over_commits_skips_the_broken_one_and_names_the_first_bad(repo):
    proc = _ccmatrix("bisect", "-f", "thinking", "-p", "bedrock_invoke", "-t", "sonnet",
                     "--repo", str(repo), "--good", "main", "--bad", "main~3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "last good: " in out and "Release 1.93.0" in out.split("last good: ")[1].splitlines()[0], out
    assert "Release 1.83.14" in out.split("first bad: ")[1].splitlines()[0], out
    assert "body.output_config.effort" in out
    skipped = [line for line in out.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 1 and "proxy" in skipped[0], out
    assert "Traceback" not in proc.stderr


def test_a_commit_and_a_working_tree_build_their_own_environments(repo, monkeypatch):
    for name, value in OFFLINE_BUILDS.items():
        monkeypatch.setenv(name, value)
    at_commit = resolve(f"{repo}@main~2")  # built by the bisect above: from the cache
    assert at_commit.version == "1.93.0" and "Break the proxy" not in (at_commit.source or "")
    (repo / "litellm" / "ccmatrix_marker.py").write_text("MARK = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "litellm/ccmatrix_marker.py"], check=True)
    working = resolve(str(repo))  # the working tree, staged change included
    assert working.version == "1.94.0" and "working tree" in working.source
    proc = subprocess.run([str(working.python), "-c", "import litellm.ccmatrix_marker as m; print(m.MARK)"],
                          capture_output=True, text=True)
    assert proc.stdout.strip() == "1", proc.stderr
    assert working.python != resolve(f"{repo}@main").python  # another tree, another environment
