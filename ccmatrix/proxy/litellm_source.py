"""LiteLLM from source: a checkout's working tree (`--litellm PATH`, a pull request's
code) or one of its commits (`--litellm PATH@REF`), as a snapshot in the cache.

A snapshot is keyed by its git tree hash, so a commit, a branch naming it and a
working tree with the same content share one; it is extracted once (`git archive`)
and never changes, so the environment built on it (ccmatrix/proxy/litellm_env.py,
an editable install of the snapshot) stays true to what was asked for.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import build_once, cache_dir
from ccmatrix.proxy import package_index

__all__ = ["SourceError", "SourceTree", "base_release", "commits_between", "declared_requirements", "is_checkout",
           "overlay", "requirements_added", "requirements_key", "snapshot", "source_of", "source_tree",
           "tree_packages", "tree_version"]


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


def declared_requirements(path: Path) -> list[str]:
    """What the tree declares the proxy needs: its dependencies and its [proxy] extra
    (PEP 621, or Poetry's table for trees before LiteLLM moved to PEP 621)."""
    data = _pyproject(path)
    project = data.get("project") or {}
    if project.get("dependencies") is not None or project.get("optional-dependencies"):
        found = [*(project.get("dependencies") or []), *((project.get("optional-dependencies") or {}).get("proxy") or [])]
        return [r for r in found if isinstance(r, str)]
    poetry = (data.get("tool") or {}).get("poetry") or {}
    proxy_extra = set((poetry.get("extras") or {}).get("proxy") or [])
    found = []
    for name, spec in (poetry.get("dependencies") or {}).items():
        if name.lower() == "python":
            continue
        optional = isinstance(spec, dict) and spec.get("optional")
        if optional and name not in proxy_extra:
            continue
        found.append(name)  # Poetry's version syntax is its own: the name is what is compared
    return found


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _canonical(requirement: Requirement) -> str:
    """A requirement as compared: name, extras, specifier (its marker is evaluated, not compared:
    a build backend rewrites `python_version < "3.15"` as `python_full_version < '3.15'`)."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{canonicalize_name(requirement.name)}{extras}{requirement.specifier}"


def _applies(requirement: Requirement) -> bool:
    """Installed with litellm[proxy] on this interpreter (the one LiteLLM's environment
    gets): no marker, or one true here with the `proxy` extra asked for."""
    return requirement.marker is None or requirement.marker.evaluate({"extra": "proxy"})


def requirements_added(declared: list[str], release: list[str]) -> list[str]:
    """The tree's requirements its release does not declare alike (a new package, another
    range): what its environment needs beyond the release's. `release` is the wheel's
    Requires-Dist; only what litellm[proxy] installs here counts on either side."""
    ours = {_canonical(req) for req in map(_requirement, release) if req is not None and _applies(req)}
    added = []
    for text in declared:
        req = _requirement(text)
        if req is not None and _applies(req) and _canonical(req) not in ours \
                and canonicalize_name(req.name) != "litellm":
            added.append(str(req))
    return added


def requirements_key(requirements: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]


def base_release(version: str, releases: list[str] | None) -> str:
    """The release a tree derives from: its own version when the index has it, else the
    newest final release before it (a tree between releases, or a release the index
    lacks); its own version when the index cannot be asked."""
    if releases is None or version in releases:
        return version
    try:
        target = Version(version)
    except InvalidVersion:
        raise SourceError(f"the tree's version {version!r} is not a version") from None
    earlier = [v for v in package_index.final_versions(releases) if v <= target]
    if not earlier:
        raise SourceError(f"no litellm release on the package index is at or before the tree's {version}")
    return str(earlier[-1])


# what the overlay never takes from a tree: compiled files are the release wheel's
_COMPILED = (".so", ".pyd", ".dylib")


def overlay(source: SourceTree, src: Path, site_packages: Path) -> Path:
    """A folder to put before `site_packages` on LiteLLM's PYTHONPATH: the tree's Python
    packages (the top-level ones that `site_packages` also has, from the tree's root and
    its uv workspace members), hard links to the snapshot's files, plus the compiled
    files the release wheel put in them (the Rust bridge, `litellm/rust_bridge/_native`),
    which a source tree does not hold. Made once per tree and environment."""
    key = hashlib.sha256(f"{source.tree} {site_packages}".encode()).hexdigest()[:16]
    target = cache_dir() / "overlays" / f"litellm-{source.tree[:16]}-{key}"

    def complete() -> bool:
        return (target / ".ccmatrix-complete").exists()

    def make(staging: Path) -> None:
        staging.mkdir(parents=True, exist_ok=True)
        for package in tree_packages(src, site_packages):
            shutil.copytree(package, staging / package.name, copy_function=os.link,
                            ignore=shutil.ignore_patterns("__pycache__", *(f"*{s}" for s in _COMPILED)))
            installed = site_packages / package.name
            for compiled in installed.rglob("*"):
                if compiled.suffix in _COMPILED and compiled.is_file():
                    placed = staging / package.name / compiled.relative_to(installed)
                    if placed.parent.is_dir() and not placed.exists():
                        placed.symlink_to(compiled)
        (staging / ".ccmatrix-complete").write_text(source.tree + "\n")

    if not complete():
        build_once(target, complete, make)
    return target


def tree_packages(src: Path, site_packages: Path) -> list[Path]:
    """The tree's top-level Python packages that the release installed: in its root and
    in the uv workspace members the tree holds (a checkout may lack them: an sdist does)."""
    roots = [src]
    members = (((_pyproject(src).get("tool") or {}).get("uv") or {}).get("workspace") or {}).get("members") or []
    roots += [src / m for m in members if isinstance(m, str) and (src / m).is_dir()]
    found = []
    for root in roots:
        for child in sorted(root.iterdir()):
            if (child / "__init__.py").is_file() and (site_packages / child.name).is_dir():
                found.append(child)
    if not any(p.name == "litellm" for p in found):
        raise SourceError(f"{src}: no litellm package to lay over the release's")
    return found


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
