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


# ---------------------------------------------------------------- a tree over its release


def test_the_base_release_is_the_trees_own_or_the_newest_before_it():
    from ccmatrix.proxy.litellm_source import base_release

    releases = ["1.97.0", "1.98.0", "1.99.0rc1", "1.100.0"]
    assert base_release("1.98.0", releases) == "1.98.0"
    assert base_release("1.99.1", releases) == "1.98.0"  # not on the index; its rc is not final
    assert base_release("1.99.1", None) == "1.99.1"  # the index could not be asked
    with pytest.raises(SourceError, match="no litellm release"):
        base_release("1.0.0", releases)


def test_requirements_a_tree_adds_to_its_release():
    from ccmatrix.proxy.litellm_source import requirements_added

    release = ["httpx>=0.28.0,<1.0", "fastapi>=0.136.3,<1.0 ; extra == 'proxy'",
               "uvloop>=0.21.0,<1.0 ; sys_platform != 'win32' and extra == 'proxy'", "mlflow>=3 ; extra == 'mlflow'"]
    same = ["httpx<1.0,>=0.28.0", "fastapi>=0.136.3,<1.0", 'uvloop>=0.21.0,<1.0; sys_platform != "win32"']
    assert requirements_added(same, release) == []
    assert requirements_added([*same[:1], "fastapi>=0.140,<1.0", *same[2:], "mlflow>=3"], release) == [
        "fastapi<1.0,>=0.140", "mlflow>=3"]  # another range; a package only another extra had


def test_declared_requirements_read_litellm_layouts(tmp_path):
    from ccmatrix.proxy.litellm_source import declared_requirements

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "litellm"\nversion = "1.98.0"\ndependencies = ["httpx>=0.28"]\n'
        '[project.optional-dependencies]\nproxy = ["fastapi>=0.136"]\ncli = ["requests"]\n'
        '[build-system]\nrequires = ["maturin==1.9.4"]\nbuild-backend = "maturin"\n'
        '[tool.uv.sources]\nlitellm-enterprise = { workspace = true }\n'
        '[tool.uv.workspace]\nmembers = ["enterprise"]\n')
    assert declared_requirements(tmp_path) == ["httpx>=0.28", "fastapi>=0.136"]
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "litellm"\nversion = "1.83.14"\n[tool.poetry.dependencies]\npython = ">=3.9"\n'
        'httpx = ">=0.23"\nfastapi = { version = ">=0.115", optional = true }\nmlflow = { version = "*", '
        'optional = true }\n[tool.poetry.extras]\nproxy = ["fastapi"]\n')
    assert declared_requirements(tmp_path) == ["httpx", "fastapi"]


def test_the_overlay_holds_the_trees_packages_and_the_wheels_compiled_bridge(repo, tmp_path, monkeypatch):
    """The tree's litellm (and a workspace member's package) over an installed release:
    the tree's Python files, the release's compiled extension, nothing else."""
    from ccmatrix.proxy.litellm_source import overlay

    monkeypatch.setenv("CCMATRIX_CACHE", str(tmp_path / "cache"))
    (repo / "litellm" / "rust_bridge").mkdir()
    (repo / "litellm" / "rust_bridge" / "__init__.py").write_text("TREE = True\n")
    (repo / "enterprise" / "litellm_enterprise").mkdir(parents=True)
    (repo / "enterprise" / "litellm_enterprise" / "__init__.py").write_text("")
    (repo / "docs_site").mkdir()
    (repo / "docs_site" / "__init__.py").write_text("")  # a package the release does not install
    (repo / "pyproject.toml").write_text('[project]\nname = "litellm"\nversion = "1.2.0"\n'
                                         '[tool.uv.workspace]\nmembers = ["enterprise", "litellm-proxy-extras"]\n')
    subprocess.run(["git", "-C", str(repo), *GIT, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *GIT, "commit", "-qm", "bridge"], check=True)
    site = tmp_path / "site-packages"
    (site / "litellm" / "rust_bridge").mkdir(parents=True)
    (site / "litellm" / "rust_bridge" / "_native.abi3.so").write_bytes(b"\x7fELF")
    (site / "litellm" / "old_module.py").write_text("")  # what the tree removed stays removed
    (site / "litellm_enterprise").mkdir()
    source = source_tree(repo, "main")
    made = overlay(source, snapshot(source), site)
    assert sorted(p.name for p in made.iterdir() if not p.name.startswith(".")) == ["litellm", "litellm_enterprise"]
    assert (made / "litellm" / "rust_bridge" / "__init__.py").read_text() == "TREE = True\n"
    assert (made / "litellm" / "rust_bridge" / "_native.abi3.so").resolve() == \
        (site / "litellm" / "rust_bridge" / "_native.abi3.so").resolve()
    assert not (made / "litellm" / "old_module.py").exists()
    assert overlay(source, snapshot(source), site) == made  # made once
