"""What every reader returns: a table of text cells (:class:`RawTable`) with the rows it rejected, and
the error that stops the run for a whole unusable file (:class:`InputFileError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Columns of :attr:`RawTable.rejected`: the quarantine's, less month and table.
REJECTED_COLUMNS = ("source_row", "column", "value", "reason", "record")


_HEADER_JUNK = " \t\r\n\ufeff\u00a0"


class InputFileError(Exception):
    """A file-level problem that stops the run.

    ``str(e)`` is one message naming the file and what to fix.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path.name}: {message}")


@dataclass
class RawTable:
    """One input file as text cells, plus how it was read.

    ``df`` keeps the file's header order; header names are stripped of padding
    and BOM, cells of surrounding whitespace (``" R01 "`` is ``"R01"``). Its
    index is the data-row position in the file (0 = the first row under the
    header), kept even where blank lines were dropped, so :meth:`row_number`
    always points at the row a person sees in the file.

    A file whose top rows are narrower than the rows below (title or filter
    lines above a CRM report's real header) keeps the full width: the first
    row's cells name the columns and the extra ones are ``Unnamed: N``, as
    pandas names blank header cells; ``attain.ingest.crm`` then finds the
    real header among the top rows.
    """

    df: pd.DataFrame
    path: Path
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    #: XLSX: empty sheets passed over before ``sheet`` when no sheet was named.
    skipped_sheets: tuple[str, ...] = ()
    #: Rows the reader could not read as cells (:data:`REJECTED_COLUMNS`), not in ``df``: they go to the
    #: quarantine and count among the rows read.
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REJECTED_COLUMNS)))

    def row_number(self, index: int | pd.Index | pd.Series):
        """Human row number: the header is row 1, the first data row is row 2."""
        return index + 2


def _rejected_frame(rows: list[dict]) -> pd.DataFrame:
    """The reader's rejected rows in file order (:data:`REJECTED_COLUMNS`)."""
    frame = pd.DataFrame(rows, columns=list(REJECTED_COLUMNS))
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame.sort_values("source_row", kind="stable").reset_index(drop=True)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Strip header names, make every cell a str, drop rows that are wholly blank.

    The index is kept (not reset) so row numbers still match the file.
    """
    df.columns = [str(c).strip(_HEADER_JUNK) for c in df.columns]
    if len(df.columns) == 0 or len(df) == 0:
        return df
    # Only rows whose first cell is blank can be wholly blank: test those alone (fast on 1M rows).
    maybe_blank = df.index[(df.iloc[:, 0] == "").to_numpy()]
    if len(maybe_blank):
        blank = (df.loc[maybe_blank] == "").all(axis=1)
        if blank.any():
            df = df.drop(index=blank.index[blank.to_numpy()])
    return df
