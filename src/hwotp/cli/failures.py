"""How failures read on the command line: the meaning of each exit code (for --help and the
README) and the options that remedy an error, which only this layer may name."""

from __future__ import annotations

from hwotp.errors import ExitCode, HwotpError, Remedy

EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILURE: "unexpected failure (please report it; HWOTP_DEBUG=1 shows where)",
    ExitCode.USAGE: "wrong options or arguments",
    ExitCode.BAD_INPUT: "a value given cannot be used: a URI, setup key, QR code or image, "
    "a name or a passphrase",
    ExitCode.NOT_FOUND: "no credential matches, or several do where one is needed",
    ExitCode.WRONG_PASSPHRASE: "wrong vault passphrase or YubiKey OATH password",
    ExitCode.VAULT_DAMAGED: "the vault file is damaged or was modified, or is an older copy "
    "not accepted yet (nothing was written)",
    ExitCode.STORAGE: "the vault cannot be read (there is none yet, or it is unreadable), "
    "written or locked",
    ExitCode.CANCELLED: "cancelled: the user said no, there was no terminal to ask, or a fido2 "
    "reset would lose the vault",
    ExitCode.EXISTS: "a credential with that name is already stored, or the file to write "
    "exists (see --force)",
    ExitCode.NOT_VERIFIED: "the stored copy gave a different code, so it was removed again",
    ExitCode.OUTPUT: "the output could not be written; changes made before that are kept",
    ExitCode.KEY_UNAVAILABLE: "no YubiKey could be used: none found, pcscd not running, "
    "or the key stopped answering (pulled out)",
    ExitCode.TOUCH_TIMEOUT: "the YubiKey was not touched in time",
    ExitCode.KEY_FULL: "the YubiKey has no room for another credential (see --fallback vault)",
    ExitCode.NOT_SUPPORTED: "the YubiKey's firmware cannot do this",
    ExitCode.CHECKS_FAILED: "hwotp doctor found a problem (each comes with its fix)",
    ExitCode.PIN_REFUSED: "a security key's PIN was wrong, blocked, not set or not accepted",
    ExitCode.SECURITY_KEY_UNKNOWN: "the security key opens no slot of this vault (not "
    "registered to it), or no security key is registered",
    ExitCode.DESKTOP_UNAVAILABLE: "the screen or clipboard cannot be read: no display, or no "
    "tool to read it (the message names what to install)",
}

REMEDIES = {
    Remedy.REPLACE: "use --force to replace",
    Remedy.REPLACE_CODES: "use --replace when the service made a new set",
    Remedy.NEW_CODES: "make a new set at the service and keep it with "
    "`hwotp recovery add SERVICE --replace`",
    Remedy.OTHER_NAME: "choose another name with --name ISSUER:ACCOUNT",
    Remedy.NO_TOUCH: "use --no-touch",
    Remedy.PICK: "choose one with --pick",
    Remedy.SETUP_KEY: "or paste the setup key with --secret - instead",
    Remedy.NAME_FORMAT: "name its format with --from",
    Remedy.NAME_READER: "a key on an NFC reader is used with --reader NAME",
    Remedy.ALL_PARTS: "also give its screenshot with another --qr (or its URI with another "
    "--uri)",
    Remedy.PICK_SECURITY_KEY: "choose one with --device SERIAL or --device PATH",
    Remedy.RESET_SECURITY_KEY: "hwotp fido2 reset does that",
    Remedy.SCREENSHOT: "or copy a screenshot to the clipboard and use --clipboard, or save it "
    "and use --qr FILE",
    Remedy.FALLBACK: "--fallback vault stores what does not fit in the vault",
    Remedy.CHECK_BACKUP: "`hwotp vault check --backup` checks that it opens, "
    "`hwotp vault restore-backup` puts it back",
    Remedy.ACCEPT_ROLLBACK: "if you put it back on purpose, `hwotp vault accept-rollback` "
    "accepts it; if not (a sync conflict, say), put the newer copy back in its place",
    Remedy.USE_SECURITY_KEY: "a registered security key opens it: plug it in (from a script: "
    "--use-security-key, or nothing on standard input)",
}


def sentence(error: HwotpError) -> str:
    """The error's message, the option that remedies it, then its context."""
    remedy = f"; {REMEDIES[error.remedy]}" if error.remedy else ""
    context = "".join(f" ({text})" for text in error.context)
    return f"{error.message}{remedy}{context}"


def prefixed(message: str) -> str:
    """Every error and warning line starts with `hwotp:`, so it stands out among notes and
    other programs' lines in a log or a pipeline (see docs/architecture.md)."""
    return "\n".join(f"hwotp: {line}" for line in message.splitlines() or [""])
