"""Rules the test suite keeps about itself."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def test_test_modules_import_helpers_from_tests_support_not_from_each_other() -> None:
    """Importing another test module runs its module-level code and, with pytest, can register
    its tests and fixtures twice; shared helpers live in tests/support.py."""
    offenders = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if last.startswith("test_") or last == "conftest":
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
