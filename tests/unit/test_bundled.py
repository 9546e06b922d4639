"""Where the bundled cassettes are found, and that nothing writes into an installed package."""

from __future__ import annotations

import pytest

from ccmatrix import bundled
from ccmatrix.bundled import BundleError, cassette_dir


def test_a_checkout_finds_its_own_cassettes():
    assert cassette_dir() == bundled.CHECKOUT_DIR / "cassettes"
    assert bundled.DEFAULT_KNOWN_ISSUES == bundled.CHECKOUT_DIR / "known-issues.yaml"
    assert bundled.RECORDER_SCRIPT.is_file()


def test_a_given_folder_must_exist_to_be_read(tmp_path):
    with pytest.raises(BundleError, match=r"--cassettes .*no such directory"):
        cassette_dir(tmp_path / "missing")
    assert cassette_dir(tmp_path / "new", writing=True) == tmp_path / "new"


def test_no_bundled_tree_names_the_option(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "DEFAULT_CASSETTE_DIR", tmp_path / "nowhere")
    with pytest.raises(BundleError, match="pass --cassettes DIR"):
        cassette_dir()


def test_recording_into_the_installed_package_is_refused(monkeypatch, tmp_path):
    packaged = tmp_path / "site-packages" / "ccmatrix" / "_bundled"
    (packaged / "cassettes").mkdir(parents=True)
    monkeypatch.setattr(bundled, "PACKAGED_DIR", packaged)
    monkeypatch.setattr(bundled, "DEFAULT_CASSETTE_DIR", packaged / "cassettes")
    assert cassette_dir() == packaged / "cassettes"  # replay reads it
    with pytest.raises(BundleError, match="belong to the installed package; pass --cassettes DIR"):
        cassette_dir(writing=True)
