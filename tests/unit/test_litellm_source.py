"""Source trees: which commit, which tree, in which order (a tiny git repository that
looks like a LiteLLM checkout; nothing is built here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ccmatrix.proxy.litellm_env import LiteLLMEnvError, resolve
from ccmatrix.proxy.litellm_source import SourceError, commits_between, is_checkout, snapshot, source_tree

GIT = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def _commit(repo: Path, version: str) -> str:
    (repo / "pyproject.toml").write_text(f'[project]\nname = "litellm"\nversion = "{version}"\n')
    subprocess.run(["git", "-C", str(repo), *GIT, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *GIT, "commit", "-qm", f"Release {version}"], check=True)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "litellm"
    (path / "litellm").mkdir(parents=True)
    (path / "litellm" / "__init__.py").write_text("")
    subprocess.run(["git", "-C", str(path), "init", "-q", "-b", "main"], check=True)
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        _commit(path, version)
    return path


def test_commits_between_go_from_good_to_bad(repo):
    forward = commits_between(repo, "main~2", "main")
    assert [c.rsplit("@", 1)[1] for c in forward] == [source_tree(repo, f"main~{n}").commit for n in (2, 1, 0)]
    assert commits_between(repo, "main", "main~2") == forward[::-1]  # a fix search: the newer end is good


def test_a_dirty_working_tree_is_its_own_tree(repo, tmp_path, monkeypatch):
    clean = source_tree(repo)
    assert clean.tree == source_tree(repo, "HEAD").tree and clean.ref is None
    (repo / "litellm" / "__init__.py").write_text("X = 1\n")
    dirty = source_tree(repo)
    assert dirty.tree != clean.tree and "working tree" in dirty.label
    monkeypatch.setenv("CCMATRIX_CACHE", str(tmp_path / "cache"))
    files = snapshot(dirty)
    assert (files / "litellm" / "__init__.py").read_text() == "X = 1\n" and is_checkout(files)
    assert snapshot(dirty) == files  # extracted once


def test_bad_sources_are_named(repo, tmp_path):
    with pytest.raises(SourceError, match="no commit 'nope'"):
        source_tree(repo, "nope")
    plain = tmp_path / "plain"
    (plain / "litellm").mkdir(parents=True)
    (plain / "litellm" / "__init__.py").write_text("")
    (plain / "pyproject.toml").write_text("")
    with pytest.raises(SourceError, match="not a git checkout"):
        resolve(str(plain))
    with pytest.raises(LiteLLMEnvError, match="neither a release number"):
        resolve(str(tmp_path / "missing"))
