"""Merge the Chinese translation fragments and compile the gettext catalogues.

Each flow keeps its translations in ``locales/src/zh/<flow>.po`` so that people working on
different flows never edit the same file. This script joins them into
``locales/zh/LC_MESSAGES/messages.mo`` (and an empty English catalogue: English is the msgid
language). It refuses two fragments that translate the same msgid differently.

Run by the install step (scripts/bootstrap.sh); the .mo files are not committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def merge_fragments(source_dir: Path, locale: str) -> Catalog:
    merged = Catalog(locale=locale, domain="messages", charset="utf-8")
    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(source_dir.glob("*.po")):
        with path.open("rb") as handle:
            fragment = read_po(handle, locale=locale)
        for message in fragment:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in seen and seen[key][1] != message.string:
                raise SystemExit(f"{path.name} and {seen[key][0]} translate {key!r} differently")
            if not message.string:
                raise SystemExit(f"{path.name}: no translation for {key!r}")
            seen[key] = (path.name, message.string)
            merged.add(message.id, message.string, context=message.context)
    return merged


def compile_all(locales_dir: Path = LOCALES) -> dict[str, int]:
    counts: dict[str, int] = {}
    for locale in ("zh", "en"):
        source = locales_dir / "src" / locale
        catalog = (
            merge_fragments(source, locale)
            if source.is_dir()
            else Catalog(locale=locale, domain="messages", charset="utf-8")
        )
        target = locales_dir / locale / "LC_MESSAGES" / "messages.mo"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            write_mo(handle, catalog)
        counts[locale] = len(catalog)
    return counts


if __name__ == "__main__":
    result = compile_all()
    print("compiled catalogues:", ", ".join(f"{k}={v}" for k, v in result.items()))
    sys.exit(0)
