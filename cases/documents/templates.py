"""Document templates are data: one TOML file per document in ``templates/``.

A template holds the fixed wording of an official document and ``{placeholders}`` for what
comes from the case. Filling is strict: a placeholder the builder does not provide raises, so a
template edited on a server can never print "{reason}" to a citizen unnoticed (the tests fill
every template).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    reference: str = ""
    opening: str = ""
    paragraphs: tuple[str, ...] = ()
    closing: tuple[str, ...] = ()
    footnote: str = ""
    answers_heading: str = ""
    evidence_heading: str = ""

    def placeholders(self) -> set[str]:
        texts = (self.title, self.reference, self.opening, *self.paragraphs, *self.closing)
        return {
            name
            for text in texts
            for _, name, _, _ in string.Formatter().parse(text)
            if name is not None
        }


class DossierTemplate(BaseModel):
    """The dossier's fixed words (``templates/dossier.toml``): headings, labels, column names
    and the words for stored states."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    reference: str
    exported: str
    headings: dict[str, str]
    labels: dict[str, str]
    sentences: dict[str, str]
    columns: dict[str, list[str]]
    outcomes: dict[str, str]
    delivery: dict[str, str]
    message_kinds: dict[str, str]
    notices: dict[str, str]


@cache
def load_dossier_template() -> DossierTemplate:
    with (TEMPLATES_DIR / "dossier.toml").open("rb") as handle:
        return DossierTemplate.model_validate(tomllib.load(handle))


@cache
def load_template(name: str) -> Template:
    with (TEMPLATES_DIR / f"{name}.toml").open("rb") as handle:
        return Template.model_validate(tomllib.load(handle))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders replaced; KeyError names one the builder left out."""
    return text.format_map(_Strict(values))


class _Strict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"template placeholder {{{key}}} has no value")
