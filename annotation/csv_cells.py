"""CSV cells that a spreadsheet reads as text, never as a formula (CSV injection).

Every CSV the app writes (exports, label-set files, the audit log) goes through
``csv_line``. It follows OWASP's guidance
(https://owasp.org/www-community/attacks/CSV_Injection):
- a cell that begins with ``=``, ``+``, ``-``, ``@``, tab (0x09) or carriage return (0x0D)
  gets a single quote (``'``) in front, so that it is read as text;
- the csv module quotes any cell holding a separator, quote or line break, and doubles its
  double quotes, so a value cannot open a new cell whose first character is dangerous.
OWASP names the first character only. Spreadsheets that trim leading blanks on import
(LibreOffice's "trim spaces") would still see ``  =1+1`` as a formula, so a dangerous
character after leading whitespace is neutralised too. Only text cells change; numbers
are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as it may be written to a CSV cell."""
    if isinstance(value, str) and (
        value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS)
    ):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record (with its line ending), every cell made safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(v) for v in values])
    return buffer.getvalue()
