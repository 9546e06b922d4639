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
from tests.e2e.litellm_repo import OFFLINE, build_repo

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
                          env={**os.environ, **OFFLINE, "COLUMNS": "200"})


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


def test_a_commit_and_a_working_tree_run_over_their_releases_environments(repo, monkeypatch):
    """Nothing is built: each tree's packages lie over its release's environment (the
    compiled Rust bridge from the release's wheel), one overlay per tree."""
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    at_commit = resolve(f"{repo}@main~2")  # made by the bisect above: from the cache
    assert at_commit.version == "1.93.0" and "Break the proxy" not in (at_commit.source or "")
    assert at_commit.python == resolve("1.93.0").python and at_commit.overlay is not None
    (repo / "litellm" / "ccmatrix_marker.py").write_text("MARK = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "litellm/ccmatrix_marker.py"], check=True)
    working = resolve(str(repo))  # the working tree, staged change included
    assert working.version == "1.94.0" and "working tree" in working.source
    assert working.base_release == "1.94.0" and not working.added_requirements
    proc = subprocess.run([str(working.python), "-c", "import litellm, litellm.ccmatrix_marker as m; "
                           "print(m.MARK, litellm.__file__)"],
                          capture_output=True, text=True, env={"PYTHONPATH": str(working.overlay)})
    assert proc.stdout.split()[0] == "1" and proc.stdout.split()[1].startswith(str(working.overlay)), proc.stderr
    assert working.overlay != resolve(f"{repo}@main").overlay  # another tree, another overlay


def test_a_tree_declaring_other_requirements_gets_them(repo, monkeypatch, tmp_path):
    """A tree whose pyproject declares a requirement its release does not: an
    environment of its own, the release's plus that requirement (from uv's cache)."""
    import tomllib

    from ccmatrix.proxy import litellm_source

    monkeypatch.setenv("UV_OFFLINE", "1")
    src = litellm_source.snapshot(litellm_source.source_tree(repo, "main"))
    declared = litellm_source.declared_requirements(src)
    release = resolve("1.94.0")
    from ccmatrix.proxy.litellm_env import release_requirements

    assert litellm_source.requirements_added(declared, release_requirements(release)) == []
    project = tomllib.loads((src / "pyproject.toml").read_text())["project"]
    assert litellm_source.requirements_added([*project["dependencies"], "pluggy>=1"],
                                             release_requirements(release)) == ["pluggy>=1"]
