"""Every text a user can see has a Chinese translation (Chinese is the default language)."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from scripts.compile_locales import compile_all, merge_fragments

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot.py", "handlers", "cases", "scheduling")
MARKERS = {"_", "_t", "t", "N_", "__", "gettext", "lazy_gettext"}


def _msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    for file in files:
        tree = ast.parse(file.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in MARKERS:
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[arg.value] = f"{file.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_marked_text_has_a_chinese_translation() -> None:
    catalog = merge_fragments(ROOT / "locales" / "src" / "zh", "zh")
    missing = {msg: where for msg, where in _msgids().items() if msg not in catalog}
    assert not missing, "no Chinese for:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())


def test_placeholders_survive_translation() -> None:
    catalog = merge_fragments(ROOT / "locales" / "src" / "zh", "zh")
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    wrong = [m.id for m in catalog if m.id and m.string and fields(m.id) != fields(str(m.string))]
    assert not wrong, f"placeholders differ in: {wrong}"


def test_catalogues_compile(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "locales" / "src", tmp_path / "src")
    counts = compile_all(tmp_path)
    assert counts["zh"] > 10
    with (tmp_path / "zh" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        assert handle.read(4)  # a real file was written


def test_fragments_are_valid_po() -> None:
    for path in (ROOT / "locales" / "src" / "zh").glob("*.po"):
        with path.open("rb") as handle:
            read_po(handle, locale="zh")
