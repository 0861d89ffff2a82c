"""The key cache (OATH device id -> serial): private whatever the umask, and written through a
temporary file no one can guess or plant."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwotp.yubikey import keycache
from hwotp.yubikey.info import KeyInfo

INFO = KeyInfo(12345678, (5, 7, 1), "USB-A keychain", "Yubico YubiKey OTP+FIDO+CCID 00 00")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache" / "hwotp"
    monkeypatch.setenv("HWOTP_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folder_and_file_are_private_under_umask_000(cache_dir: Path, open_umask: None) -> None:
    keycache.remember("device-1", INFO)
    assert mode(cache_dir) == 0o700
    assert mode(cache_dir / keycache.FILE_NAME) == 0o600
    assert keycache.lookup("device-1", INFO.reader) == INFO


def test_rewrite_keeps_the_modes_and_both_entries(cache_dir: Path, open_umask: None) -> None:
    keycache.remember("device-1", INFO)
    keycache.remember("device-2", KeyInfo(87654321, (5, 4, 3), "USB-C keychain", "r"))
    assert mode(cache_dir / keycache.FILE_NAME) == 0o600
    assert keycache.lookup("device-1", INFO.reader) == INFO
    assert keycache.lookup("device-2", "r") is not None
    assert [p.name for p in cache_dir.iterdir()] == [keycache.FILE_NAME]  # no staging left


def test_a_link_planted_at_a_predictable_name_is_not_followed(
    cache_dir: Path, tmp_path: Path
) -> None:
    """Another local user who can guess the temporary name (it held the process id) could make
    hwotp overwrite a file of theirs choosing."""
    cache_dir.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        (cache_dir / f".{keycache.FILE_NAME}.{pid}").symlink_to(victim)
    keycache.remember("device-1", INFO)
    assert victim.read_text() == "untouched"
    assert keycache.lookup("device-1", INFO.reader) == INFO


def test_a_cache_folder_an_older_hwotp_left_open_is_closed(cache_dir: Path) -> None:
    """The review's case: a 0777 cache folder from before let others rewrite what is in it
    (the vault generations too)."""
    from hwotp.vault import generations

    cache_dir.mkdir(parents=True)
    cache_dir.chmod(0o777)
    keycache.remember("device-1", INFO)
    assert mode(cache_dir) == 0o700
    cache_dir.chmod(0o777)
    generations.remember(cache_dir / "vault.hwotp", None, 3, newer_only=False)
    assert mode(cache_dir) == 0o700
