"""How a command runs, whichever parser read its command line (click's in `root`, or `quick`'s
for the daily `hwotp code`): secrets taken out of the environment first, every failure one
sentence and a documented exit code, the output settled before the exit. Loads no click.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from hwotp.cli.failures import prefixed, sentence
from hwotp.cli.output import note, warn
from hwotp.cli.process import take_secret_variables
from hwotp.credential import CredentialError
from hwotp.errors import ExitCode, HwotpError, HwotpWarning, Interrupted, OutputError

EXIT_INTERRUPTED = 130  # Ctrl-C, or SIGTERM during an enrolment


def run_command(command: Callable[[], object]) -> NoReturn:
    """Runs `command` (which returns an exit status, or None for 0) and exits."""
    try:
        status = _guarded(command)
    finally:
        stop_debugging()
    settle_output()
    sys.exit(status if isinstance(status, int) else 0)


def _guarded(command: Callable[[], object]) -> object:
    take_secret_variables()  # before anything could start a child process
    if sys.stdout is None:  # `hwotp code >&-` would lose the code silently
        fail("standard output is closed; nothing was done", ExitCode.OUTPUT)
    _never_fail_on_unprintable_text()
    if debug_asked_by_environment():
        start_debugging()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", HwotpWarning)
            warnings.showwarning = _print_warning
            return command()
    except (KeyboardInterrupt, EOFError) as interrupt:
        _end_the_line()  # as click's parser does for an interrupt in a command
        _fail_interrupted(interrupt)
    except BrokenPipeError:  # `hwotp code | head -0`: said as the click path says it
        _fail_on_output(OutputError(CLOSED_PIPE))
    except OutputError as error:
        _fail_on_output(error)
    except HwotpError as error:
        fail(sentence(error), error.exit_code)
    except CredentialError as error:
        fail(str(error), ExitCode.BAD_INPUT)
    except OSError as error:
        _fail_on_os_error(error)
    except Exception as error:
        if _aborted(error):  # the interrupt as click hands it on, its line ended already
            _fail_interrupted(error.__cause__)
        _fail_unexpectedly(error)


def _fail_interrupted(interrupt: BaseException | None) -> NoReturn:
    # An interrupted write says what it undid or left (errors.Interrupted).
    fail(f"interrupted{interrupt if isinstance(interrupt, Interrupted) else ''}",
         EXIT_INTERRUPTED)


def _end_the_line() -> None:
    """A blank line on stderr, so `hwotp: interrupted` does not follow the terminal's `^C`."""
    note("")


def _aborted(error: Exception) -> bool:
    """click's Abort: Ctrl-C or the end of input in a command click parsed (the interrupt is
    its cause), or at one of click's prompts, which the click-free path loads only to ask."""
    click = sys.modules.get("click")
    return click is not None and isinstance(error, click.Abort)


CLOSED_PIPE = "the output was cut off (closed pipe)"


def _fail_on_output(error: OutputError) -> NoReturn:
    fail(f"{error}; changes made before that are kept", error.exit_code)


def _fail_unexpectedly(error: Exception) -> NoReturn:
    # The type only: an unexpected exception's text could carry data we must not print.
    what = f"unexpected error ({type(error).__name__})"
    if _debugging:
        from hwotp.cli import debug

        debug.log_unexpected(error)  # the traceback, on stderr with the rest of the log
        fail(f"{what}; the log above shows where", ExitCode.FAILURE)
    fail(f"{what}; run with --debug (or HWOTP_DEBUG=1) to see where", ExitCode.FAILURE)


def fail(message: str, code: int) -> NoReturn:
    note(prefixed(message))  # stderr may be the broken pipe itself, or closed
    settle_output()
    sys.exit(int(code))


def settle_output() -> None:
    """Flush now; a stream that cannot take its output (a full disk, a closed pipe) is pointed
    at /dev/null, or Python's own flush at exit fails again and turns the exit code into 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


_debugging = False


def debug_asked_by_environment() -> bool:
    return os.environ.get("HWOTP_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def start_debugging() -> None:
    """The debug log on, for this command (`hwotp.cli.debug`)."""
    global _debugging
    from hwotp.cli import debug

    debug.enable()
    _debugging = True


def stop_debugging() -> None:
    global _debugging
    if _debugging:
        from hwotp.cli import debug

        debug.disable()
        _debugging = False


def _print_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """hwotp's own warnings as one `hwotp: warning:` line; any other (a library's) is not for
    users, and its text could carry data: it is dropped unless HWOTP_DEBUG is set."""
    if issubclass(category, HwotpWarning) or (_debugging or debug_asked_by_environment()):
        warn(str(message))


def _never_fail_on_unprintable_text() -> None:
    """A terminal that cannot show a name (LANG=C, latin-1) gets an escape, not a crash after
    the vault was already changed."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _fail_on_os_error(error: OSError) -> NoReturn:
    """A file error names its file (vault errors are StorageError already); an error without
    a file name is the output: a closed pipe or a full disk."""
    if error.filename:
        fail(f"{error.strerror or 'input/output error'} ({error.filename})", ExitCode.STORAGE)
    reason = error.strerror or "input/output error"
    fail(
        f"the output could not be written ({reason}); changes made before that are kept",
        ExitCode.OUTPUT,
    )
