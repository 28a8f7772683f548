"""Lay a :class:`~cases.documents.model.Document` out as an A4 PDF.

The font is Noto Serif SC (a 宋体-like serif, as official documents are set) from the
``pylopdf-fonts-zh-cn`` package (SIL Open Font License), which the statistics charts use too, so
Chinese renders as characters on a fresh machine without system fonts; fpdf2 embeds only the
glyphs used, so a notice stays a few kilobytes. Every page carries the case number in its
header and "第 n 页 共 N 页" in its footer: 案卷评查 reads loose pages.

Rendering parses an 11 MB font and is CPU work: call :func:`render_pdf` off the
event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from pylopdf_fonts_zh_cn import serif_path

from cases.documents.model import Document, Fields, Heading, Paragraph, Signature, Table

FONT = "noto-serif-sc"
BODY_SIZE = 11
LINE = 7


class _Paper(FPDF):
    def __init__(self, document: Document) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._document = document
        self.set_margins(22, 22, 22)
        self.set_auto_page_break(auto=True, margin=20)
        self.add_font(FONT, fname=str(serif_path()))
        self.set_title(document.title)
        self.set_subject(document.case_number)
        self.set_creator("gucheng-disputes")

    def header(self) -> None:
        self.set_font(FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 5, f"案件编号 {self._document.case_number}", align="R")
        self.ln(8)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 5, f"第 {self.page_no()} 页  共 {{nb}} 页", align="C")
        self.set_text_color(0)


def render_pdf(document: Document) -> bytes:
    pdf = _Paper(document)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FONT, size=18)
    pdf.multi_cell(0, 10, document.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.reference:
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 6, document.reference, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    for block in document.blocks:
        if isinstance(block, Heading):
            pdf.ln(2)
            pdf.set_font(FONT, size=13)
            pdf.multi_cell(0, 8, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif isinstance(block, Paragraph):
            pdf.set_font(FONT, size=BODY_SIZE)
            text = ("\u3000\u3000" if block.indent else "") + block.text
            pdf.multi_cell(0, LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif isinstance(block, Fields):
            pdf.set_font(FONT, size=BODY_SIZE)
            for label, value in block.rows:
                pdf.multi_cell(0, LINE, f"{label}{value}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif isinstance(block, Table):
            pdf.set_font(FONT, size=9)
            with pdf.table(
                col_widths=tuple(block.widths),
                text_align="LEFT",
                line_height=5,
                first_row_as_headings=True,
                repeat_headings=1,
                # One weight of the font is embedded: headings are shaded, not bold.
                headings_style=FontFace(emphasis="", fill_color=(230, 230, 230)),
            ) as table:
                table.row(block.columns)
                for values in block.rows:
                    table.row(values)
        elif isinstance(block, Signature):
            pdf.ln(8)
            pdf.set_font(FONT, size=BODY_SIZE)
            for line in block.lines:
                pdf.multi_cell(0, LINE, line, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    return bytes(pdf.output())
