"""`hwotp unlock` and `hwotp lock`: the vault's key kept in the kernel keyring for a while."""

from __future__ import annotations

import re

import click

from hwotp.cli.app import App
from hwotp.cli.output import note
from hwotp.cli.root import cli
from hwotp.errors import NotFoundError

DEFAULT_DURATION = "15m"
_UNITS = {"s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?\Z")
MAX_SECONDS = 7 * 24 * 3600  # a week: past that, a passphrase is the safer habit


def parse_duration(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `1h30m` -> seconds; a usage error otherwise."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise click.BadParameter("give a duration such as 90s, 15m or 1h30m")
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 0 < total <= MAX_SECONDS:
        raise click.BadParameter("give a duration from 1 s to 7 days")
    return total


def _spoken(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{seconds} s" if seconds else ""]
    return " ".join(part for part in parts if part)


@cli.command()
@click.option("--for", "duration", default=DEFAULT_DURATION, show_default=True,
              metavar="DURATION", help="How long: 90s, 15m, 1h30m (at most 7 days).")
@click.pass_obj
def unlock(app: App, duration: str) -> None:
    """Keep the vault open for a while: its key (not the passphrase) goes into the Linux
    kernel keyring with a timeout, and every hwotp command uses it until then.

    The key is never written to a file; the kernel drops it when the time is up, at `hwotp
    lock`, or when your last process ends (logout, reboot). Processes running as your user can
    read it while it lasts, as they can use your ssh-agent; other users cannot.
    """
    from hwotp.vault import kernelkeys

    try:
        seconds = parse_duration(duration)
    except click.BadParameter as error:
        raise click.UsageError(f"--for: {error.message}") from None
    if not kernelkeys.supported():
        raise kernelkeys.not_supported_error()
    store = app.vault_store(held=False)  # a new period is granted on the passphrase only
    if not store.exists():
        raise NotFoundError(f"there is no vault at {store.path} yet")
    vault = store.unlocked()
    kernelkeys.hold(store.path, vault.held_secret(), seconds)
    note(f"The vault at {store.path} stays unlocked for {_spoken(seconds)}, for processes "
         "running as your user; `hwotp lock` locks it now.")


@cli.command()
@click.pass_obj
def lock(app: App) -> None:
    """Forget the vault key that `hwotp unlock` put into the kernel keyring, at once."""
    from hwotp.vault import kernelkeys

    if not kernelkeys.supported():
        raise kernelkeys.not_supported_error()
    if kernelkeys.drop(app.vault_path):
        note(f"Locked the vault at {app.vault_path}.")
    else:
        note(f"The vault at {app.vault_path} was not unlocked.")
