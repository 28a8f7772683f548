"""What a document says, apart from how it is laid out on paper.

The builders (``dossier``, ``generated``) fill these from the case; ``pdf`` lays them out. A
document is a list of blocks so that the same renderer serves a one-page notice and a
forty-page dossier, and tests can check what was said without reading a PDF.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Heading(BaseModel):
    kind: Literal["heading"] = "heading"
    text: str


class Paragraph(BaseModel):
    kind: Literal["paragraph"] = "paragraph"
    text: str
    indent: bool = True
    """Chinese documents indent a body paragraph by two characters."""


class Fields(BaseModel):
    """Label: value lines (the application's answers, a notice's particulars)."""

    kind: Literal["fields"] = "fields"
    rows: list[tuple[str, str]]


class Table(BaseModel):
    kind: Literal["table"] = "table"
    columns: list[str]
    widths: list[int]
    """Relative widths of the columns."""
    rows: list[list[str]]


class Signature(BaseModel):
    """Right-aligned closing lines: the issuing body and the date, or a blank to sign."""

    kind: Literal["signature"] = "signature"
    lines: list[str]


Block = Heading | Paragraph | Fields | Table | Signature


class Document(BaseModel):
    title: str
    case_number: str
    """Printed on every page (案卷评查 reads loose pages)."""
    file_name: str
    reference: str | None = None
    """The line under the title (a document number or the case number)."""
    blocks: list[Block]

    def text(self) -> str:
        """Everything the document says, in order (for tests and logs of length only)."""
        parts = [self.title, self.reference or ""]
        for block in self.blocks:
            if isinstance(block, Heading | Paragraph):
                parts.append(block.text)
            elif isinstance(block, Fields):
                parts.extend(f"{label}{value}" for label, value in block.rows)
            elif isinstance(block, Table):
                parts.append(" ".join(block.columns))
                parts.extend(" ".join(row) for row in block.rows)
            else:
                parts.extend(block.lines)
        return "\n".join(parts)
