"""What `hwotp code` and `hwotp list` do and print, whichever parser read the command line
(click's in `commands.daily`, `quick`'s for the daily `hwotp code`): the keys' results first,
then the vault's. Loads no click unless a question is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from hwotp.cli.app import App, VaultLeftOut, is_terminal
from hwotp.cli.output import (
    code_lines,
    counter_text,
    describe,
    echo,
    emit_json,
    entry_fields,
    note,
    reading_fields,
    table,
)
from hwotp.credential import Entry, Kind
from hwotp.errors import HwotpError, NotFoundError

if TYPE_CHECKING:
    from hwotp.stores import Store
    from hwotp.usecases.codes import Located, Reading

T = TypeVar("T")
MAX_SUGGESTIONS = 5


def show_codes(app: App, query: str | None, as_json: bool, copy: bool = False) -> None:
    """`hwotp code [QUERY]`: every bulk code, or those of the credentials QUERY names (a match
    on a key is printed without opening the vault)."""
    if query is None:
        _all_codes(app, as_json)
        return
    from hwotp.usecases.codes import bulk_or_ask, compute_one, first_of_each, locate_all, matching

    keys = locate_all(app.keys_or_note(reading=True))
    hits = first_of_each(matching(keys, query))
    if not hits:  # only now is the vault worth a passphrase
        vault = app.reading_vault()
        try:
            everything = keys + (locate_all([vault]) if vault is not None else [])
        except VaultLeftOut as left_out:  # the answer may be in there: nobody to open it
            raise left_out.cause from None
        hits = select(everything, query, several=True)
    if len(hits) > 1:  # as in listings, ykman's _hidden ones stay out unless named alone
        hits = [item for item in hits if not item.entry.hidden] or hits
    if copy and len(hits) > 1:
        raise NotFoundError(f"{len(hits)} credentials match; --copy needs a query naming one")
    threshold = app.threshold()
    if len(hits) == 1:
        readings = [compute_one(hits[0], app.now, threshold)]
    else:
        readings = [bulk_or_ask(item, app.now, threshold) for item in hits]
    if copy and readings[0].code is not None:
        from hwotp.cli.clipboard import copy_to_clipboard

        note(copy_to_clipboard(readings[0].code.value, app.config.clipboard_clear))
    _print_codes(readings, as_json)


def _all_codes(app: App, as_json: bool) -> None:
    from hwotp.usecases.codes import all_codes

    threshold = app.threshold()
    computed = all_codes(app.keys_or_note(reading=True), app.now, threshold)
    keys = [r for r in computed if not r.hidden]
    early = _prints_keys_first(app, as_json)
    if early:
        _print_codes(keys, as_json)

    def vault_codes(vault: Store) -> list[Reading]:
        shown = [r.name for r in keys]
        return [r for r in all_codes([vault], app.now, threshold, shown) if not r.hidden]

    in_vault = vault_part(app, keys, early, vault_codes, lambda: _print_codes(keys, as_json))
    _print_codes(in_vault if early else keys + in_vault, as_json)
    if not keys and not in_vault and not as_json:
        note("No credentials stored yet.")


def _print_codes(readings: Sequence[Reading], as_json: bool) -> None:
    if as_json:
        emit_json([reading_fields(r) for r in readings])
        return
    ordered = sorted(readings, key=lambda r: r.name)
    for line in code_lines(ordered):
        echo(line)
    for r in ordered:
        if r.code is None:
            note(f"{r.name}: ask by name ({r.not_computed_because}; in the {r.location})")


def show_list(app: App, show_hidden: bool, as_json: bool) -> None:
    """`hwotp list`: every credential, sorted by name, with where its copies are."""
    from hwotp.usecases.codes import locate_all

    def shown(located: list[Located]) -> list[Located]:
        return [item for item in located if show_hidden or not item.entry.hidden]

    keys = shown(locate_all(app.keys_or_note(reading=True)))
    early = _prints_keys_first(app, as_json)
    if early:
        _print_listing(keys)
    in_vault = vault_part(app, keys, early, lambda vault: shown(locate_all([vault])),
                          lambda: _finish_listing(keys, [], as_json, early))
    _finish_listing(keys, in_vault, as_json, early)
    if not keys and not in_vault and not as_json:
        note(
            f"No credentials yet (vault: {app.vault_path}). Add one with `hwotp enroll --qr FILE`."
        )


def _finish_listing(keys: list[Located], in_vault: list[Located], as_json: bool,
                    early: bool) -> None:
    if as_json:
        everything = sorted(keys + in_vault, key=lambda item: item.entry.name)
        emit_json([entry_fields(item.entry) for item in everything])
    elif early:
        _print_listing(in_vault)
    else:
        _print_listing(keys + in_vault)


def _print_listing(located: list[Located]) -> None:
    """One line per credential: name, kind, and every place that holds a copy."""
    where: dict[str, list[Located]] = {}
    for item in located:
        where.setdefault(item.entry.name, []).append(item)
    rows = []
    for name in sorted(where):
        first = where[name][0].entry
        touch = ", touch" if any(item.entry.touch for item in where[name]) else ""
        places = ", ".join(dict.fromkeys(_place(item.entry) for item in where[name]))
        rows.append([name, describe(first) + touch, places])
    for line in table(rows):
        echo(line)


def _place(entry: Entry) -> str:
    """Where a copy is; for HOTP with its counter, as each copy counts separately."""
    if entry.kind is not Kind.HOTP:
        return entry.location
    return f"{entry.location} ({counter_text(entry)})"


def _prints_keys_first(app: App, as_json: bool) -> bool:
    """Whether the keys' results go out before the vault is opened: when opening it waits for
    a person, who should not wait for the keys' codes too."""
    return not as_json and app.reading_vault() is not None and app.vault_would_prompt()


def vault_part(
    app: App,
    keys: Sequence[object],
    early: bool,
    read: Callable[[Store], list[T]],
    keys_alone: Callable[[], None],
    *,
    alone_fails: bool = True,
) -> list[T]:
    """What the vault adds to the keys' results. Left out with one note when nobody can give
    its passphrase (unless no key answered and `alone_fails`: then that is the error); when it
    fails (a wrong passphrase), the keys' results are printed before the error."""
    vault = app.reading_vault()
    if vault is None:
        return []
    try:
        return read(vault)
    except VaultLeftOut as left_out:
        if not keys and alone_fails:
            raise left_out.cause from None
        if not app.config.quiet:
            note("The vault was left out: no passphrase (type it at a terminal, set "
                 "HWOTP_PASSPHRASE, or run `hwotp unlock` first).")
        return []
    except HwotpError:
        if not early:
            keys_alone()
        raise


def select(located: list[Located], query: str, several: bool = False) -> list[Located]:
    """The credentials the query names: one (or, for `code`, every match); when nothing
    matches, "did you mean" with the nearest names, and at a terminal a numbered pick."""
    from hwotp.usecases.codes import NoMatchError, first_of_each, select_all, select_one

    try:
        return select_all(located, query) if several else [select_one(located, query)]
    except NoMatchError as error:
        if not error.suggestions:
            raise
        picked = _pick(error.suggestions) if is_terminal() else None
        if picked is None:
            raise NotFoundError(f"{error.message}; did you mean "
                                f"{_either(error.suggestions[:MAX_SUGGESTIONS])}?") from None
        return [item for item in first_of_each(located) if item.entry.name == picked]


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _pick(names: list[str]) -> str | None:
    """A numbered list at the terminal; Enter (or anything else) picks none."""
    from hwotp.cli.prompts import ask_line

    choices = names[:MAX_SUGGESTIONS]
    note("No credential matches that; did you mean:")
    for number, name in enumerate(choices, start=1):
        note(f"  {number}. {name}")
    answer = ask_line("Pick a number (Enter for none)")
    if answer.strip().isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1]
    return None
