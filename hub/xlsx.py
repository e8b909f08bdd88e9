"""Spreadsheets the workspace hands out (the outreach list, the police list): one writer, every cell neutralised.

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return, which some programs strip before looking) would be read as a formula
by Excel or LibreOffice: a name typed at a kiosk could then run a command on
the district office's computer (CSV/XLSX injection). ``neutral`` prefixes such
text with an apostrophe, shown as text and never evaluated, and every cell
this module writes is a string cell or a number, never a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Characters an XLSX file cannot hold (openpyxl refuses them); each becomes U+FFFD so the export still succeeds."""


def neutral(value: object) -> object:
    """The value as a cell may hold it safely: numbers stay numbers, None stays empty, text that could start a
    formula gets a leading apostrophe, characters a worksheet cannot hold become U+FFFD, line ends become LF (what
    the file keeps of a CR)."""
    if type(value) is str and value.isprintable() and not value.startswith(FORMULA_STARTS):
        return value  # the common case, quickly: no control character, no line end, no formula start
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, (int, float)):
        return value
    text = CONTROL.sub("\ufffd", str(value)).replace("\r\n", "\n").replace("\r", "\n")  # XML keeps no CR
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title, the header row and the data rows; ``widths`` in characters, per column."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Sequence[int] = ()


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The XLSX file of these sheets (write-only, so a long list streams), every cell passed through ``neutral``
    and typed as a string or a number (openpyxl would otherwise store a text starting with "=" as a formula)."""
    import openpyxl  # here: the hub's other programs never load it (see hub/roster/files.py)
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    for sheet in sheets:
        out = book.create_sheet(title=sheet.title[:31])
        for index, width in enumerate(sheet.widths):
            out.column_dimensions[openpyxl.utils.get_column_letter(index + 1)].width = width
        out.append([text_cell(out, WriteOnlyCell, name) for name in sheet.header])
        for row in sheet.rows:
            out.append([text_cell(out, WriteOnlyCell, value) for value in row])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def text_cell(sheet, cell_type, value: object):
    value = neutral(value)
    cell = cell_type(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # a string, whatever it looks like: never a formula
    return cell


# -- one large sheet, written directly -----------------------------------------------------------------------------------
# openpyxl (without lxml) spends about 15 µs a cell: a day's national-platform line list (40,000 doses, 17 columns)
# would take 10 s. ``stream_workbook`` writes the same kind of file (string and number cells only, each value through
# ``neutral``) straight as XML into the zip, about 1 µs a cell.

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{PACKAGE_RELS}">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{RELS}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
        '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
ROWS_PER_WRITE = 1000
NOT_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")
"""What XML 1.0 cannot hold beyond CONTROL (which ``neutral`` replaces): each becomes U+FFFD too."""


def stream_workbook(sheet: Sheet, *, neutralised: bool = False) -> bytes:
    """The XLSX file of one sheet, written without openpyxl: every value through ``neutral`` (``neutralised``: the
    caller's rows went through it already, as a long list built so does: hub/reports/export.py), text as inline
    strings (never a formula), numbers as numbers."""
    import zipfile
    from xml.sax.saxutils import quoteattr

    rows = sheet.rows if neutralised else ([neutral(value) for value in row] for row in sheet.rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in PARTS.items():
            book.writestr(name, XML_HEAD + text)
        title = quoteattr(NOT_XML.sub("\ufffd", sheet.title[:31]))
        book.writestr("xl/workbook.xml", XML_HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet name='
                      f'{title} sheetId="1" r:id="rId1"/></sheets></workbook>')
        with book.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write((XML_HEAD + f'<worksheet xmlns="{MAIN}">' + columns_xml(sheet.widths) + "<sheetData>").encode())
            lines = rows_xml([[neutral(name) for name in sheet.header], *rows])
            for first in range(0, len(lines), ROWS_PER_WRITE):  # the zip's deflate, called for a chunk, not a row
                part.write("".join(lines[first:first + ROWS_PER_WRITE]).encode("utf-8"))
            part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def columns_xml(widths: Sequence[int]) -> str:
    if not widths:
        return ""
    return "<cols>" + "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>'
                              for n, w in enumerate(widths, start=1)) + "</cols>"


def rows_xml(rows: Sequence[Sequence[object]]) -> list[str]:
    """Each row of neutral cells as XML, numbered from 1: laid out by a template per sequence of cell types, its texts
    checked together and escaped one by one only when one needs it (a day's line list has 700,000 cells)."""
    templates: dict[tuple[type, ...], str] = {}
    lines = []
    for number, row in enumerate(rows, start=1):
        kinds = tuple(map(type, row))
        template = templates.get(kinds) or templates.setdefault(kinds, row_template(kinds))
        texts = "".join([value for value in row if type(value) is str])
        if safe_text(texts) != texts:
            row = [safe_text(value) if type(value) is str else value for value in row]
        lines.append(template % (number, *row))
    return lines


def row_template(kinds: tuple[type, ...]) -> str:
    """A row's XML with a %-field per cell (no reference: the position is the cell's), after the row's number: text
    inline, numbers as numbers."""
    cells = ['<c t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>' if kind is str else "<c><v>%r</v></c>"
             for kind in kinds]
    return '<row r="%d">' + "".join(cells) + "</row>"


def safe_text(text: str) -> str:
    """Text as XML character data: &, < and > escaped, what XML cannot hold replaced."""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return NOT_XML.sub("\ufffd", text) if NOT_XML.search(text) else text
