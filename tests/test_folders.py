"""hwotp's folders: on Linux worked out without platformdirs for the usual case, and always the
folders platformdirs names (the reference: an older hwotp asked it, so a vault, a config file
and the caches stay where they were)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import platformdirs
import pytest

from hwotp import folders

HOMES = [None, "", "/home/alice", "/home/alice/", "/", "//", "//srv/alice", "relative/home"]
XDG = [None, "", "/xdg/here", "/xdg/here/", "relative/xdg"]
FOLDERS = [
    (folders.config_folder, platformdirs.user_config_path, "XDG_CONFIG_HOME"),
    (folders.data_folder, platformdirs.user_data_path, "XDG_DATA_HOME"),
    (folders.cache_folder, platformdirs.user_cache_path, "XDG_CACHE_HOME"),
]


def _set(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("home", "xdg"), list(itertools.product(HOMES, XDG)))
def test_each_folder_is_the_one_platformdirs_names(monkeypatch: pytest.MonkeyPatch,
                                                   home: str | None, xdg: str | None) -> None:
    monkeypatch.delenv("HWOTP_CACHE_DIR", raising=False)
    _set(monkeypatch, "HOME", home)
    for ours, reference, variable in FOLDERS:
        _set(monkeypatch, variable, xdg)
        try:
            expected = reference("hwotp", appauthor=False)
        except RuntimeError:  # no home platformdirs can find: hwotp's answer is its answer
            with pytest.raises(RuntimeError):
                ours()
            continue
        assert ours() == expected, (variable, home, xdg)


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rules are worked out on Linux")
def test_on_linux_the_usual_case_does_not_import_platformdirs(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("HWOTP_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # importing it now fails
    assert folders.config_folder() == tmp_path / ".config" / "hwotp"
    assert folders.data_folder() == tmp_path / ".local" / "share" / "hwotp"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert folders.cache_folder() == tmp_path / "c" / "hwotp"
    monkeypatch.setenv("HWOTP_CACHE_DIR", str(tmp_path / "mine"))
    assert folders.cache_folder() == tmp_path / "mine"


def test_a_relative_cache_dir_is_ignored(monkeypatch, tmp_path: Path) -> None:
    """Security review: a relative HWOTP_CACHE_DIR made one rollback record per working
    directory, so a rolled-back vault gave an HOTP code again from another folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HWOTP_CACHE_DIR", "relative/cache")
    assert folders.cache_folder() == tmp_path / ".cache" / "hwotp"
