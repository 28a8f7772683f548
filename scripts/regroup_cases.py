"""Regroup the flat cases/ folder into domain subpackages (issue 8, item 4), and port code to it.

Branches written against the flat layout import the old names; after merging one, run::

    .venv/bin/python scripts/regroup_cases.py --rewrite bot.py settings.py handlers scheduling \
        cases tests benchmarks scripts README.md

``--move`` does the ``git mv``s (once, on the branch that regroups). ``--rewrite`` ports
references in the given files and trees: ``from cases.clocks import``, ``import cases.clocks``,
``cases.clocks.x`` (monkeypatch targets, :mod: references), ``from cases import clocks`` and
paths such as ``cases/clocks.py``. Names are matched as whole dotted names (``cases.clock`` is
not a prefix of ``cases.clocks``), and a second run changes nothing.

Three old modules share their name with a new package (``cases.intake``, ``cases.litigation``,
``cases.procedures``): ``from cases.intake import forms`` (all names are submodules of the new
package) is new and left alone; ``from cases.intake import IntakeService`` is old and rewritten.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAPPING: dict[str, str] = {
    # the law: calendar, deadline rules, citations
    "cases.calendar": "cases.law.calendar",
    "cases.deadlines": "cases.law.deadline_rules",
    "cases.citations": "cases.law.citations",
    # the organisation: places and agencies, routing, people and roles
    "cases.organisation": "cases.org.organisation",
    "cases.routing": "cases.org.routing",
    "cases.users": "cases.org.users",
    # intake: forms, parsers, drafts and submission, the case file as filed
    "cases.forms": "cases.intake.forms",
    "cases.validation": "cases.intake.validation",
    "cases.intake": "cases.intake.service",
    "cases.case_file": "cases.intake.case_file",
    # procedures: statuses, transitions, the executor, running deadlines, history, privacy
    "cases.procedures": "cases.procedures.statuses",
    "cases.transitions": "cases.procedures.transitions",
    "cases.staff": "cases.procedures.actions",
    "cases.clocks": "cases.procedures.case_clocks",
    "cases.history": "cases.procedures.history",
    "cases.privacy": "cases.procedures.privacy",
    "cases.followup": "cases.procedures.followup",  # after closure: rating, 复查 (issue 11)
    # 局长接待日: reception sessions and bookings (issue 9)
    "cases.booking": "cases.reception.booking",
    # litigation (行政应诉)
    "cases.litigation": "cases.litigation.court_cases",
    # storage and plumbing
    "cases.db": "cases.store.db",
    "cases.migrate": "cases.store.migrate",
    "cases.fsm": "cases.store.fsm_records",
    "cases.updates": "cases.store.processed_updates",
    "cases.clock": "cases.store.time",
    # translation outside aiogram (not to be confused with handlers/texts.py)
    "cases.texts": "cases.i18n",
}

# Old modules split in two: names that left the new module for another one.
NAME_MOVES: dict[str, tuple[str, frozenset[str]]] = {
    # cases/staff.py: the staff view and access rules went to access.py; the executor stayed.
    "cases.procedures.actions": (
        "cases.procedures.access",
        frozenset(
            {
                "ROLE_MAY_OPEN",
                "ROLE_SEES_IN_FULL",
                "SENSITIVE_ROLES",
                "EXTENSION_RULES",
                "EXTENDABLE_RULES",
                "StaffEvent",
                "StaffCaseView",
                "staff_case_view",
                "free_text_masker",
                "may_open_case",
                "_may_open",
                "extendable_deadline",
                "review_period_ended",
                "supply_period_ended",
                "extension_left",
                "may_approve_extension",
                "available_actions",
                "_guard_passes",
                "StaffCaseLine",
                "open_cases_for",
            }
        ),
    ),
}

# What each new package holds (its __init__ docstring).
PACKAGE_DOCS = {
    "cases.law": "The law as data: the legal calendar, the deadline rules and how they are cited.",
    "cases.org": (
        "The county's organisation: places and agencies, where a matter goes, users and roles."
    ),
    "cases.intake": (
        "Intake: the three forms, the parsers for what citizens type, drafts and submission."
    ),
    "cases.procedures": (
        "A case once filed: statuses, the transition table and its executor,\n"
        "running deadlines, history, privacy.\n"
    ),
    "cases.litigation": "行政应诉: court cases against county agencies, defences and hearings.",
    "cases.reception": "局长接待日: reception sessions, bookings, the waitlist and the roster.",
    "cases.store": (
        "Storage: the SQLite database, migrations, FSM and processed-update records, time."
    ),
}

# Folders moved as they are (not modules).
MOVED_DIRS = {"cases/migrations": "cases/store/migrations"}

NEW_PACKAGES = sorted({new.rsplit(".", 1)[0] for new in MAPPING.values() if new.count(".") > 1})
NEW_NAMES = set(MAPPING.values()) | set(NEW_PACKAGES) | {to for to, _ in NAME_MOVES.values()}

# Not .sql: applied migrations keep their text (comments may name old paths; that is history).
REWRITE_SUFFIXES = {".py", ".md", ".toml", ".sh", ".txt", ".cfg", ".ini", ".po"}
SKIP_DIRS = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache", "node_modules"}

_FROM_RE = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<mod>cases(?:\.\w+)*)[ \t]+import[ \t]+"
    r"(?P<names>\([^)]*\)|[^\n]*)",
    re.MULTILINE,
)
_DOTTED_RE = re.compile(r"(?<![\w.])cases(?:\.\w+)+")
_PATH_RE = re.compile(r"(?<![\w/.-])cases/(\w+)\.py\b")
_DIR_RE = {old: re.compile(rf"(?<![\w/.-]){re.escape(old)}(?=/|\b)") for old in MOVED_DIRS}


def _path_of(module: str, *, package: bool = False) -> Path:
    rel = Path(*module.split("."))
    return ROOT / (rel / "__init__.py" if package else rel.with_suffix(".py"))


def move() -> None:
    """git mv every module and folder to its new place; create the package __init__ files."""
    for package in NEW_PACKAGES:
        init = _path_of(package, package=True)
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
    # Old modules whose name becomes a package: move them aside first.
    clashing = [old for old in MAPPING if old in NEW_PACKAGES]
    for old in clashing:
        src = _path_of(old)
        _git_mv(src, src.with_name(src.stem + "_tmp_regroup.py"))
    for old_dir, new_dir in MOVED_DIRS.items():
        _git_mv(ROOT / old_dir, ROOT / new_dir)
    for old, new in MAPPING.items():
        src = _path_of(old)
        if old in clashing:
            src = src.with_name(src.stem + "_tmp_regroup.py")
        _git_mv(src, _path_of(new))
    for package in NEW_PACKAGES:
        init = _path_of(package, package=True)
        if not init.exists():
            init.write_text(f'"""{PACKAGE_DOCS[package]}"""\n', encoding="utf-8")
            subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)


def _git_mv(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "mv", str(src), str(dst)], cwd=ROOT, check=True)


def _split_names(names: str) -> list[tuple[str, str | None]]:
    body = names.strip()
    if body.startswith("("):
        body = body[1:-1]
    body = re.sub(r"#[^\n]*", "", body)
    out: list[tuple[str, str | None]] = []
    for item in body.replace("\n", " ").split(","):
        parts = item.split()
        if not parts:
            continue
        out.append((parts[0], parts[2] if len(parts) == 3 and parts[1] == "as" else None))
    return out


def _rewrite_from(match: re.Match[str]) -> str:
    mod, names, indent = match["mod"], match["names"], match["indent"]
    if "#" in names and not names.lstrip().startswith("("):
        names_only = names.split("#", 1)[0]
    else:
        names_only = names
    if mod == "cases":
        items = _split_names(names_only)
        kept: list[str] = []
        lines: list[str] = []
        for name, alias in items:
            new = MAPPING.get(f"cases.{name}")
            if new is None:
                kept.append(name if alias is None else f"{name} as {alias}")
                continue
            package, leaf = new.rsplit(".", 1)
            local = alias or name
            lines.append(
                f"{indent}from {package} import {leaf}" + ("" if local == leaf else f" as {local}")
            )
        if not lines:
            return match[0]
        if kept:
            lines.insert(0, f"{indent}from cases import {', '.join(kept)}")
        return "\n".join(lines)
    if mod in MAPPING and mod in NEW_PACKAGES:
        items = _split_names(names_only)
        new_style = [f"{mod}.{name}" in NEW_NAMES for name, _ in items]
        if all(new_style):
            return match[0]
        if any(new_style):
            raise SystemExit(f"ambiguous import, fix by hand: {match[0]!r}")
        return match[0].replace(mod, MAPPING[mod], 1)
    return match[0]  # the dotted pass handles the module name


def _rewrite_dotted(match: re.Match[str]) -> str:
    text = match[0]
    parts = text.split(".")
    old_len = 0
    for i in range(len(parts), 1, -1):
        if ".".join(parts[:i]) in MAPPING:
            old_len = i
            break
    if old_len == 0:
        return text
    for j in range(len(parts), old_len, -1):
        if ".".join(parts[:j]) in NEW_NAMES:
            return text  # already a new name (cases.intake.service.x)
    old = ".".join(parts[:old_len])
    if old_len == len(parts) and old in NEW_PACKAGES:
        rest = match.string[match.end() :]
        if re.match(r"[ \t]+import\b", rest):
            return text  # `from cases.intake import ...`: decided by the from pass
    return ".".join([MAPPING[old], *parts[old_len:]])


def _rewrite_path(match: re.Match[str]) -> str:
    new = MAPPING.get(f"cases.{match[1]}")
    return match[0] if new is None else new.replace(".", "/") + ".py"


def _import_line(indent: str, module: str, names: list[str]) -> str:
    line = f"{indent}from {module} import {', '.join(names)}"
    if len(line) <= 99:
        return line
    inner = "".join(f"{indent}    {name},\n" for name in names)
    return f"{indent}from {module} import (\n{inner}{indent})"


def _split_moved(match: re.Match[str]) -> str:
    mod = match["mod"]
    if mod not in NAME_MOVES:
        return match[0]
    target, moved = NAME_MOVES[mod]
    names = match["names"]
    items = _split_names(names if names.lstrip().startswith("(") else names.split("#", 1)[0])
    spelled = [name if alias is None else f"{name} as {alias}" for name, alias in items]
    going = [s for s, (name, _) in zip(spelled, items, strict=True) if name in moved]
    if not going:
        return match[0]
    staying = [s for s, (name, _) in zip(spelled, items, strict=True) if name not in moved]
    lines = [_import_line(match["indent"], target, going)]
    if staying:
        lines.append(_import_line(match["indent"], mod, staying))
    return "\n".join(lines)


def _move_dotted_name(match: re.Match[str]) -> str:
    for module, (target, moved) in NAME_MOVES.items():
        if match[0].startswith(module + "."):
            name = match[0][len(module) + 1 :].split(".", 1)[0]
            if name in moved:
                return target + match[0][len(module) :]
    return match[0]


def rewrite_text(text: str) -> str:
    text = _FROM_RE.sub(_rewrite_from, text)
    text = _DOTTED_RE.sub(_rewrite_dotted, text)
    text = _FROM_RE.sub(_split_moved, text)
    text = _DOTTED_RE.sub(_move_dotted_name, text)
    text = _PATH_RE.sub(_rewrite_path, text)
    for old, pattern in _DIR_RE.items():
        text = pattern.sub(MOVED_DIRS[old], text)
    return text


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            for sub in sorted(path.rglob("*")):
                wanted = sub.is_file() and sub.suffix in REWRITE_SUFFIXES
                if wanted and not SKIP_DIRS.intersection(sub.parts):
                    out.append(sub)
        else:
            print(f"skipped (not found): {raw}", file=sys.stderr)
    return out


def rewrite(paths: list[str]) -> int:
    changed = 0
    for path in _files(paths):
        if path.resolve() == Path(__file__).resolve():
            continue  # the mapping itself names the old modules
        text = path.read_text(encoding="utf-8")
        new = rewrite_text(text)
        for module in NAME_MOVES:
            package, leaf = module.rsplit(".", 1)
            if re.search(rf"from {re.escape(package)} import [^\n]*\b{leaf}\b", new):
                print(f"check by hand: {path} uses {module} as a module object", file=sys.stderr)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
            print(f"rewrote {path}")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--move", action="store_true", help="git mv the modules (once)")
    parser.add_argument("--rewrite", nargs="*", metavar="PATH", help="files or trees to port")
    args = parser.parse_args()
    if not args.move and args.rewrite is None:
        parser.error("give --move and/or --rewrite PATHS")
    if args.move:
        move()
    if args.rewrite:
        print(f"{rewrite(args.rewrite)} file(s) changed")


if __name__ == "__main__":
    main()
