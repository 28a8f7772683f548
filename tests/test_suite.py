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


PROCESS_HELPERS = {
    "tests.support": {"BotProcess", "start_bot"},
    "tests.scale_support": {"replica", "replicas_behind_balancer"},
}


def test_every_module_that_starts_bot_py_is_marked_slow() -> None:
    """`./test.sh -m "not slow"` is the quick loop; a process test left unmarked would make it
    slow again (CI runs everything either way)."""
    unmarked = []
    for path in sorted(TESTS.glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        starts_bot = any(
            isinstance(node, ast.ImportFrom)
            and node.module in PROCESS_HELPERS
            and PROCESS_HELPERS[node.module] & {alias.name for alias in node.names}
            for node in ast.walk(tree)
        )
        marked = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
            and "mark.slow" in (ast.get_source_segment(source, node.value) or "")
            for node in tree.body
        )
        if starts_bot and not marked:
            unmarked.append(path.name)
    assert unmarked == []
