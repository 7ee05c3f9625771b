"""Reports as files: CSV (each table under its name, tables apart by an empty line) and XLSX (a
sheet per table, with the period on top). Pure: a report in, bytes out."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from hotline.reports.service import Report

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read Cyrillic right."""
    out = io.StringIO()
    writer = csv.writer(out)
    for index, table in enumerate(report.tables):
        if index:
            writer.writerow([])
        if len(report.tables) > 1:
            writer.writerow([table.name])
        writer.writerow(table.columns)
        writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    period = report.period.as_dict()
    bold = Font(bold=True)
    for table in report.tables:
        sheet = book.create_sheet(title=table.name[:31])  # Excel's limit on sheet names
        sheet.append([f"{report.name}: {period['from']} - {period['to']} ({period['timezone']})"])
        sheet.append(table.columns)
        for cell in sheet[2]:
            cell.font = bold
        for row in table.rows:
            sheet.append(row)
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
