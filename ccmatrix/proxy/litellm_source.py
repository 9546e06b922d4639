"""LiteLLM from source: a checkout's working tree (`--litellm PATH`, a pull request's
code) or one of its commits (`--litellm PATH@REF`), as a snapshot in the cache.

A snapshot is keyed by its git tree hash, so a commit, a branch naming it and a
working tree with the same content share one; it is extracted once (`git archive`)
and never changes, so the environment built on it (ccmatrix/proxy/litellm_env.py,
an editable install of the snapshot) stays true to what was asked for.
"""

from __future__ import annotations

import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir

__all__ = ["SourceError", "SourceTree", "build_requires", "commits_between", "is_checkout", "snapshot",
           "source_of", "source_tree", "tree_version"]


class SourceError(CcmatrixError):
    pass


@dataclass(frozen=True)
class SourceTree:
    repo: Path
    ref: str | None  # None: the working tree as it is now
    commit: str  # the commit whose content this is (for a dirty working tree: `git stash create`'s)
    tree: str  # the git tree hash: what the snapshot and its environment are keyed by
    date: str  # the commit's committer date (ISO 8601): dependencies are resolved as of it
    subject: str

    @property
    def label(self) -> str:
        where = f"{self.repo}@{self.ref}" if self.ref else f"{self.repo} (working tree)"
        return f"{where} {self.commit[:10]} {self.subject!r}"


def is_checkout(path: Path) -> bool:
    """A LiteLLM source tree: its pyproject.toml and its package."""
    return path.is_dir() and (path / "pyproject.toml").is_file() and (path / "litellm" / "__init__.py").is_file()


def source_of(spec: str) -> SourceTree | None:
    """The source tree `--litellm` names: `CHECKOUT@REF` (a commit), `CHECKOUT` (its
    working tree); None when `spec` names neither."""
    repo, at, ref = spec.rpartition("@")
    if at and Path(repo).expanduser().is_dir():
        return source_tree(Path(repo), ref)
    path = Path(spec).expanduser()
    return source_tree(path) if is_checkout(path) else None


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SourceError(f"git {' '.join(args)} in {repo}: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return proc.stdout.strip()


def source_tree(repo: Path, ref: str | None = None) -> SourceTree:
    """The commit `ref` of the checkout at `repo`, or (None) its working tree: tracked
    files as they are now, staged or not (untracked files are left out, as git does)."""
    repo = repo.expanduser().resolve()
    if not (repo / ".git").exists():
        raise SourceError(f"{repo} is not a git checkout of LiteLLM (no .git): name a Python environment, "
                          "a release, or a git checkout")
    if ref is None:
        commit = _git(repo, "stash", "create") or _git(repo, "rev-parse", "HEAD")
    else:
        found = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                               capture_output=True, text=True)
        commit = found.stdout.strip() if ref and found.returncode == 0 else ""
        if not commit:
            raise SourceError(f"{repo}: no commit {ref!r}")
    tree = _git(repo, "rev-parse", f"{commit}^{{tree}}")
    date, subject = _git(repo, "log", "-1", "--format=%cI%x00%s", commit).split("\x00", 1)
    return SourceTree(repo, ref, commit, tree, date, subject)


def snapshot(source: SourceTree) -> Path:
    """The tree's files, extracted once into the cache."""
    target = cache_dir() / "src" / f"litellm-{source.tree[:16]}"

    def complete() -> bool:
        return (target / ".ccmatrix-complete").exists()

    def extract(staging: Path) -> None:
        archive = staging.parent / f".{staging.name}.tar"
        try:
            with archive.open("wb") as out:
                proc = subprocess.run(["git", "-C", str(source.repo), "archive", "--format=tar", source.commit],
                                      stdout=out, stderr=subprocess.PIPE)
            if proc.returncode != 0:
                raise SourceError(f"git archive {source.commit} in {source.repo}: {proc.stderr.decode()[-300:]}")
            with tarfile.open(archive) as tar:
                # the "data" filter (refuse absolute paths, links out of the tree) arrived
                # in Python 3.11.4; Debian's stock 3.11.2 lacks it. Without it, git's own
                # archive of a tree is still safe to extract: a tree cannot hold a path
                # below a symlink, so nothing is written outside `staging`
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, filter="data")
                else:
                    tar.extractall(staging)
        finally:
            archive.unlink(missing_ok=True)
        if not is_checkout(staging):
            raise SourceError(f"{source.label}: not a LiteLLM source tree (no pyproject.toml and litellm/)")
        (staging / ".ccmatrix-complete").write_text(source.tree + "\n")

    if not complete():
        build_once(target, complete, extract)
    return target


def _pyproject(path: Path) -> dict:
    try:
        return tomllib.loads((path / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"{path / 'pyproject.toml'}: {exc}") from None


def build_requires(path: Path) -> list[str]:
    """What building the tree needs (its build backend: poetry-core for LiteLLM)."""
    requires = (_pyproject(path).get("build-system") or {}).get("requires") or ["setuptools>=40.8.0"]
    return [r for r in requires if isinstance(r, str)]


def tree_version(path: Path) -> str:
    """The version a source tree declares (PEP 621 `[project]` or Poetry's table)."""
    data = _pyproject(path)
    version = (data.get("project") or {}).get("version") or ((data.get("tool") or {}).get("poetry") or {}).get("version")
    if not isinstance(version, str):
        raise SourceError(f"{path / 'pyproject.toml'}: no version")
    return version


def commits_between(repo: Path, good: str, bad: str) -> list[str]:
    """The first-parent commits from good to bad inclusive, in the direction good -> bad
    (a fix is searched by giving the newer commit as good), each as `repo@sha`."""
    repo = repo.expanduser().resolve()
    good_commit, bad_commit = (source_tree(repo, ref).commit for ref in (good, bad))
    forward = _is_ancestor(repo, good_commit, bad_commit)
    older, newer = (good_commit, bad_commit) if forward else (bad_commit, good_commit)
    order = [older, *_git(repo, "rev-list", "--first-parent", "--reverse", f"{older}..{newer}").split()]
    if not (forward or _is_ancestor(repo, older, newer)) or order[-1] != newer:
        raise SourceError(f"{repo}: {good} and {bad} are not on one first-parent line of history")
    return [f"{repo}@{sha}" for sha in (order if forward else order[::-1])]


def _is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", older, newer],
                          capture_output=True).returncode == 0
