"""`hwotp status`: where each account's second factor lives, every way the vault opens, and
what one lost key would lock out, with the command that fixes it (`usecases/status.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App
from hwotp.cli.options import key_options
from hwotp.cli.output import emit_json, note, table
from hwotp.cli.root import cli

if TYPE_CHECKING:
    from hwotp.recovery import RecoverySet
    from hwotp.stores import Store
    from hwotp.stores.yubikey import YubiKeyStore
    from hwotp.usecases.status import Account, Fix, KeyHolding, Risk, Status, VaultView, WayIn

ONLY_PLUGGED = ("Only the YubiKeys plugged in now are counted: plug in every key you own "
                "(the spare too) before you trust this.")


def fix_commands(fix: Fix, account: str) -> str:
    """How a fix is typed. The use case names what to do; this is the one place that says
    which command does it."""
    from hwotp.credential import split_name
    from hwotp.usecases.status import Fix

    service = split_name(account)[0] or account
    return {
        Fix.ALL_KEYS: "hwotp enroll --all-keys --force (its QR code again, every key plugged in)",
        Fix.ALSO_VAULT: "hwotp enroll --also-vault --force (its QR code again)",
        Fix.VAULT_PUSH: f"hwotp vault push --device SERIAL '{account}'",
        Fix.RECOVERY_ADD: f"hwotp recovery add '{service}'",
        Fix.NEW_CODES: f"hwotp recovery add '{service}' --replace (a new set from the service)",
        Fix.ADD_WAY: "hwotp fido2 register (a security key), hwotp vault recovery-key (printed), "
        "or hwotp vault slots add-passphrase",
        Fix.VERIFY: "hwotp fido2 verify",
    }[fix]


@cli.command()
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """What if I lose a key? For every account: which YubiKeys hold it (by serial, plugged in
    now), whether the vault keeps a copy, its recovery codes and how many are left; every way
    the vault opens; and each account that one lost key (or the vault's only way in) would
    lock out, with the command that fixes it. Nothing is changed.

    Keys are read before the vault is opened; with no terminal and no passphrase the vault
    is left out with a note, as in `hwotp list`, and the answer says what it cannot know.
    """
    from hwotp.usecases.status import analyse

    keys = [_holding(store) for store in app.keys_or_note(reading=True)]
    report = analyse(keys, _vault_view(app, keys), app.now())
    if as_json:
        emit_json(_json(report, str(app.vault_path)))
        return
    _print(report)
    if not app.config.quiet:
        note(ONLY_PLUGGED)


def _holding(store: YubiKeyStore) -> KeyHolding:
    from hwotp.usecases.status import KeyHolding

    return KeyHolding(store.location, store.key.info().serial,
                      [entry.name for entry in store.entries()])


def _vault_view(app: App, keys: list[KeyHolding]) -> VaultView:
    from hwotp.cli.readout import vault_part
    from hwotp.usecases.status import VaultState, VaultView, ways_in

    if app.vault_left_out:
        return VaultView(VaultState.OFF)
    if not app.vault_path.exists():
        return VaultView(VaultState.ABSENT)

    def read(store: Store) -> list[VaultView]:
        vault = store.unlocked()  # type: ignore[attr-defined]
        return [VaultView(VaultState.OPEN, [c.name for c in vault.credentials()],
                          vault.recovery_sets(), ways_in(vault.slots()))]

    # A report says what it cannot know rather than fail: no key and no passphrase too.
    opened = vault_part(app, keys, False, read, lambda: None, alone_fails=False)
    return opened[0] if opened else VaultView(VaultState.LEFT_OUT)


# --- for people ------------------------------------------------------------------------------


def _print(report: Status) -> None:
    _section("Accounts", [_account_row(account) for account in report.accounts]
             or [["none yet"]])
    if report.unmatched_recovery:
        _section("Recovery codes of no one account here",
                 [[item.service, _left(item)] for item in report.unmatched_recovery])
    _section("The vault opens with", _ways_rows(report.vault))
    if report.risks:
        click.echo("What one loss would lock out:")
        for risk in report.risks:
            click.echo(f"  {_risk_line(risk)}")
            for fix in risk.fixes:
                click.echo(f"      fix: {fix_commands(fix, risk.name)}")
    else:
        click.echo("No single lost key locks you out of an account.")


def _section(title: str, rows: list[list[str]]) -> None:
    click.echo(f"{title}:")
    for line in table(rows):
        click.echo(f"  {line}")


def _account_row(account: Account) -> list[str]:
    places = [key.label for key in account.keys]
    if account.in_vault:
        places.append("vault")
    elif account.in_vault is None:
        places.append("vault not read")
    codes = f"recovery codes: {_left(account.recovery)}" if account.recovery else ""
    return [account.name, ", ".join(places), codes]


def _ways_rows(vault: VaultView) -> list[list[str]]:
    from hwotp.usecases.status import VaultState

    if vault.state is not VaultState.OPEN:
        return [[{VaultState.ABSENT: "(there is no vault yet)",
                  VaultState.LEFT_OUT: "(not known: the vault was left out)",
                  VaultState.OFF: "(the vault is not used)"}[vault.state]]]
    return [_way_row(way) for way in vault.ways]


def _way_row(way: WayIn) -> list[str]:
    label = f" {way.label}" if way.label else ""
    usable = "" if way.usable else "(this hwotp cannot open it)"
    return [way.slot, f"{way.kind}{label}", usable]


def _risk_line(risk: Risk) -> str:
    return f"{risk.name}: {risk.problem}" if risk.subject != "vault" else \
        f"the vault: {risk.problem}"


def _left(item: RecoverySet | None) -> str:
    return f"{item.left} of {item.total} left" if item else ""


# --- for scripts -----------------------------------------------------------------------------


def _json(report: Status, vault_path: str) -> dict[str, object]:
    return {
        "keys": [{"serial": key.serial, "label": key.label} for key in report.keys],
        "vault": {
            "path": vault_path,
            "state": report.vault.state.value,
            "ways_in": [_way_fields(way) for way in report.vault.ways],
        },
        "accounts": [
            {
                "name": account.name,
                "keys": [key.serial if key.serial is not None else key.label
                         for key in account.keys],
                "vault": account.in_vault,
                "recovery_codes": _codes_fields(account.recovery),
            }
            for account in report.accounts
        ],
        "unmatched_recovery_codes": [_codes_fields(item) for item in report.unmatched_recovery],
        "risks": [
            {"subject": risk.subject, "name": risk.name, "problem": risk.problem,
             "certain": risk.certain,
             "fixes": [fix_commands(fix, risk.name) for fix in risk.fixes]}
            for risk in report.risks
        ],
    }


def _way_fields(way: WayIn) -> dict[str, object]:
    return {"slot": way.slot, "kind": way.kind, "label": way.label, "usable": way.usable,
            "device": way.device, "last_verified": way.last_verified}


def _codes_fields(item: RecoverySet | None) -> dict[str, object] | None:
    if item is None:
        return None
    return {"service": item.service, "left": item.left, "total": item.total}
