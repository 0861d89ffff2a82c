"""How the test files hang together: what several of them share lives in conftest.py (fixtures)
and helpers/ (everything else), never in another test file."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_test_modules(source: str) -> list[str]:
    """The test modules (test_*.py, conftest.py) that `source` imports, wherever in the file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from test_x import a` names the module; in `from tests import test_x` a name does.
            module = node.module or ""
            names = [module] if _is_test_module(module) else [
                f"{module}.{alias.name}".lstrip(".") for alias in node.names
            ]
        else:
            continue
        found += [name for name in names if _is_test_module(name)]
    return list(dict.fromkeys(found))


def _is_test_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    return bool(parts) and (parts[0].startswith("test_") or parts[0] == "conftest")


def test_no_test_file_imports_another_test_file() -> None:
    files = [*TESTS.glob("*.py"), *(TESTS / "helpers").glob("*.py")]
    assert len(files) > 20
    offenders = {
        path.relative_to(TESTS).as_posix(): names
        for path in sorted(files)
        if (names := imported_test_modules(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_every_way_of_importing_a_test_file() -> None:
    source = (
        "from test_yubikey_cli import (  # noqa: F401 - key_cache is an autouse fixture\n"
        "    key_cache, ok)\n"
        "from conftest import FIXED_TIME\n"
        "import test_virtualkey_card as card\n"
        "from tests.test_cli import totp\n"
        "from tests import test_otp\n"
        "def test_batch():\n"
        "    from test_migration import entry\n"
    )
    assert imported_test_modules(source) == [
        "test_yubikey_cli", "conftest", "test_virtualkey_card", "tests.test_cli",
        "tests.test_otp", "test_migration",
    ]
    shared = (
        "import qrimages\nimport pytest\nfrom helpers.keys import replug\n"
        "from virtualkey.key import KeyConfig\nfrom hwotp.cli.root import cli\n"
        "from tests.helpers import samples\n"
    )
    assert imported_test_modules(shared) == []
