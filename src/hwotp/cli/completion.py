"""Shell completion: credential names from the keys and an unlocked vault (serials for
--device are completed in app.py, beside the option). Completing never prompts, never prints
a note and never fails: whatever cannot be read without asking is left out."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from hwotp.cli.app import App
from hwotp.credential import fold

if TYPE_CHECKING:
    from pathlib import Path

    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")


def complete_names(ctx: click.Context, _param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from hwotp.cli.process import forbid_core_dumps

    # Completion never runs the `cli` group's callback, which does this for commands: no core
    # may hold the vault's master key (read from the keyring `hwotp unlock` fills) or its names.
    forbid_core_dumps()
    names = _quietly(lambda: _names(_app(ctx))) or []
    wanted = fold(incomplete)
    return [CompletionItem(name) for name in sorted(set(names))
            if fold(name).startswith(wanted)]


def _app(ctx: click.Context) -> App:
    vault: Path | None = ctx.find_root().params.get("vault_path")
    return App(vault)


def _names(app: App) -> list[str]:
    import time

    from hwotp.stores.yubikey import YubiKeyStore

    names: list[str] = []
    try:
        keys = app.keys(reading=True) if app.config.keys else []
    except Exception:
        keys = []
    for key in keys:
        with contextlib.suppress(Exception):
            # No password source: a locked key is skipped rather than asked about.
            names += [item.name for item in YubiKeyStore(key).codes(time.time())]
    if not app.vault_left_out:
        with contextlib.suppress(Exception):
            names += _unlocked_vault_names(app)
    app.close()
    return [name for name in names if not name.startswith("_hidden:")]


def _unlocked_vault_names(app: App) -> list[str]:
    """Names in the vault only while `hwotp unlock` holds its key: completion never prompts."""
    from hwotp.stores.vault import VaultStore

    def refuse(_creating: bool) -> str:
        raise LookupError("completion never asks for a passphrase")

    store = VaultStore(app.vault_path, refuse)
    if not store.exists() or store.reopened() is None:
        return []
    return [entry.name for entry in store.entries()]


def _quietly(work: Callable[[], list[Any]]) -> list[Any] | None:
    """Runs `work` with stderr swallowed (a note would land in the middle of the command
    line being typed); any failure is no completion."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return work()
        except Exception:
            return None


def script(shell: str, program: str = "hwotp") -> str:
    """The completion script for `shell`, as click writes it."""
    from click.shell_completion import get_completion_class

    from hwotp.cli.root import cli

    completion = get_completion_class(shell)
    if completion is None:  # pragma: no cover - SHELLS lists only shells click knows
        raise click.UsageError(f"no completion for {shell}")
    complete_var = f"_{program.replace('-', '_').upper()}_COMPLETE"
    return completion(cli, {}, program, complete_var).source()
