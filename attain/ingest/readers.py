"""Read one input file (CSV, XLSX or Parquet) into a table of text cells.

Every reader returns a :class:`RawTable` whose cells are all ``str`` (``""`` for
blank): parsing numbers and dates is validation's job, so that a bad cell
becomes a quarantine row naming the file, row and column instead of a crash or
a silently coerced value.

CSV files come from many places: Excel on a Chinese Windows machine saves
GB18030, Excel elsewhere cp1252 or UTF-8 with a BOM, some tools use ``;`` or tab
as separator. The encoding and delimiter are detected unless declared, and the
ones used are reported back so the run can show them.

Problems that make a whole file unusable raise :class:`InputFileError` with one
message saying which file and what to do. A problem of one CSV row never does:
a row with more fields than the header, or (in a file that is UTF-8 as a whole)
a row holding a byte that is not UTF-8, is left out of ``df`` and listed in
:attr:`RawTable.rejected` with its reason, for the quarantine.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from attain.frames import object_cells, release_arrow_memory
from attain.ingest.encodings import _UTF8_STRAY, _checked_encoding, _detect_encoding, _marked, _shown, _stray_byte_rows
from attain.ingest.raw import _HEADER_JUNK, InputFileError, RawTable, _rejected_frame, _tidy
from attain.ingest.xlsx import _plain_decimal, _read_xlsx

#: pandas' words for a row it skipped (``on_bad_lines="warn"``); its "line" counts rows, as ``row_number`` does.
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")

#: Delimiters recognised in a CSV header line.
CANDIDATE_DELIMITERS: tuple[str, ...] = (",", ";", "\t")

#: File types in order of preference when several exist for one table.
INPUT_SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".xlsx")


#: A byte that is not blank: found at once in a real file, where stripping would copy all of it.
_ANY_TEXT = re.compile(rb"[^ \t\r\n\xef\xbb\xbf]")

#: Top rows read to find the delimiter and the width: the header row plus the 20
#: rows below it where a CRM report's real header may be (``attain.ingest.crm``).
_TOP_ROWS = 21


def find_input(data_dir: Path | str, name: str) -> Path | None:
    """The file holding table ``name`` in ``data_dir``: parquet, then csv, then xlsx."""
    for suffix in INPUT_SUFFIXES:
        candidate = Path(data_dir) / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_table(
    path: Path | str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> RawTable:
    """Read a CSV, XLSX or Parquet file into a :class:`RawTable` of text cells.

    ``encoding`` and ``delimiter`` (CSV) and ``sheet`` (XLSX) override detection.
    Raises :class:`InputFileError` for a missing, empty, undecodable or
    unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"file not found in {path.parent}; check the file name and folder")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        table = _read_csv(path, encoding, delimiter)
    elif suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path, sheet)
    elif suffix == ".parquet":
        table = _read_parquet(path)
    else:
        raise InputFileError(path, "unsupported file type; save it as .csv, .xlsx or .parquet")
    if len(table.df) == 0 and len(table.rejected):
        first = table.rejected["reason"][0]
        raise InputFileError(path, f"has no row that can be read: {len(table.rejected)} rejected, the first: {first}")
    if len(table.df) == 0:
        raise InputFileError(path, "has a header line but no data rows; add the rows or remove the file")
    return table


# ---------------------------------------------------------------- CSV


def _read_csv(path: Path, encoding: str | None, delimiter: str | None) -> RawTable:
    raw = path.read_bytes()
    if not _ANY_TEXT.search(raw):
        raise InputFileError(path, "is empty: it has no header line and no rows")
    if raw.startswith(b"PK\x03\x04"):
        raise InputFileError(
            path, f"is not a CSV file but an Excel workbook (or another zip file); rename it to {path.stem}.xlsx"
        )
    enc = _checked_encoding(path, raw, encoding) if encoding else _detect_encoding(path, raw)
    # UTF-8 with stray bytes: the parsers read a copy in which each stray byte is a marker character.
    source: Path | io.BytesIO = path
    if enc == _UTF8_STRAY:
        enc = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
        raw = _marked(raw)
        source = io.BytesIO(raw)
    top = _top_lines(raw, enc)
    sep = delimiter or _detect_delimiter(next((line for line in top if _delimited(line)), top[0]))
    width = _top_width(top, sep)
    read = None
    if width is None:
        if source is path:  # Arrow reads the file itself: not holding a second copy of it saves 1 GB at 10M rows
            del raw
        read = _arrow_csv(source, enc, sep, top[0])
        if read is None and source is path:
            raw = path.read_bytes()
    if read is None:
        padded = enc.startswith("utf-16") or _has_padding(raw, sep)  # the byte test reads single-byte text only
        del raw
        df, skipped = _pandas_csv(source, enc, sep, width, path)
        wide = _wide_rows(path, source, enc, sep, skipped)
        if padded:
            df = df.apply(_trim)
    else:
        df, wide = read
    rejected = [_wide_reject(index, cells, list(df.columns), sep) for index, cells in wide]
    if source is not path:
        df, stray = _stray_byte_rows(path, df)
        rejected += stray
    df = _tidy(df)
    return RawTable(df=df, path=path, encoding=enc, delimiter=sep, sheet=None, rejected=_rejected_frame(rejected))


def _pandas_csv(
    source: Path | io.BytesIO, encoding: str, sep: str, width: int | None, path: Path | None = None
) -> tuple[pd.DataFrame, dict]:
    """The file read by pandas' C parser: any encoding, title lines above the header, its own error words.

    ``source`` is the file's path, or a copy of its bytes with ``path`` the file it came from.
    Returns the frame and the rows pandas skipped for having more fields than the header (row number ->
    field count); the frame's index keeps their places free, so row numbers still match the file. A row with
    fewer fields is read with its missing cells blank (a required one is then quarantined as blank).
    """
    # Reading from the path (not a decoded copy) lets the C parser stream: ~2x faster.
    options = {
        "sep": sep,
        "encoding": encoding,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
        "engine": "c",
        "on_bad_lines": "warn",
    }
    if path is None:
        assert isinstance(source, Path)  # a copy of the bytes always comes with the file it came from
        path = source
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            if width is None:
                df = pd.read_csv(source, **options)
            else:
                df = pd.read_csv(source, header=None, names=list(range(width)), **options)
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "is empty: it has no header line and no rows") from None
    except pd.errors.ParserError as exc:
        raise InputFileError(
            path,
            f"cannot be read as a {delimiter_name(sep)}-separated file ({exc}); "
            "check that values containing the separator are in double quotes",
        ) from None
    skipped = {
        int(match[1]): int(match[3])
        for warning in caught
        if issubclass(warning.category, pd.errors.ParserWarning)
        for match in _SKIPPED_LINE.finditer(str(warning.message))
    }
    if skipped:
        # Row n (1 = the header) is position n - 2 under the header, n - 1 when the header is read as a row.
        first = 2 if width is None else 1
        df.index = pd.Index(np.delete(np.arange(len(df) + len(skipped)), [n - first for n in skipped]))
    if width is not None:
        df = _with_first_row_as_header(df)
    return df, skipped


def _wide_rows(path: Path, source: Path | io.BytesIO, encoding: str, sep: str, skipped: dict) -> list[tuple]:
    """The cells of the rows pandas skipped for having too many fields: (index under the header, cells).

    pandas names them by row number only, so the text is parsed once more up to the last of them (only
    for a file that has such rows).
    """
    if not skipped:
        return []
    data = source.getvalue() if isinstance(source, io.BytesIO) else path.read_bytes()
    text = io.StringIO(data.decode(encoding), newline="")
    found = []
    for number, cells in enumerate(csv.reader(text, delimiter=sep), start=1):
        if number in skipped:
            if len(cells) != skipped[number]:  # the two parsers disagree: do not guess which row it is
                raise InputFileError(
                    path,
                    f"row {number} has {skipped[number]} fields, more than the header has, and its cells cannot "
                    "be told apart; check that values containing the separator are in double quotes",
                )
            found.append((number - 2, cells))
            if len(found) == len(skipped):
                break
    return found


def _arrow_csv(
    source: Path | io.BytesIO, encoding: str, sep: str, header_line: str
) -> tuple[pd.DataFrame, list[tuple]] | None:
    """The file read by Arrow's multi-threaded CSV parser (~2x faster than pandas' on 1M rows), or None.

    Used only for UTF-8 with a plain header (every name present and distinct); anything else Arrow rejects
    (a row with fewer cells, for one) returns None, so pandas reads the file as before. A row with more
    cells than the header is left out and returned with its index and cells, ``[(index, cells)]``; the
    frame's index keeps its place free. Blank lines become rows of blank cells, as with pandas, so row
    numbers match the file. Cells are trimmed by Arrow's kernel before they become Python strings; each
    column is its own block (no 2-D copy of a million rows).
    """
    if encoding not in ("utf-8", "utf-8-sig") or len(sep) != 1:
        return None
    try:
        names = next(csv.reader([header_line.lstrip("\ufeff")], delimiter=sep))
    except (csv.Error, StopIteration):
        return None
    if len(names) < 2 or "" in names or len(set(names)) != len(names):
        return None
    # (file line number, text); the threaded reader gives no numbers, so when it finds a wide row the
    # file is read again in one thread, which does: the rows used below always have theirs.
    wide: list[tuple[int, str]] = []

    def wide_row(row) -> str:
        """Skip a row with too many cells (noting it), refuse any other bad row."""
        if row.actual_columns <= row.expected_columns:
            return "error"
        wide.append((row.number, row.text))
        return "skip"

    def read(threads: bool) -> pa.Table:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        return pa_csv.read_csv(
            source,
            read_options=pa_csv.ReadOptions(use_threads=threads),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep, newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=wide_row
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        arrow = read(threads=True)
        if wide:  # the threaded reader does not number rows: read again in one thread, which does
            wide.clear()
            arrow = read(threads=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if arrow.column_names != names:
        return None
    df = pd.DataFrame({name: object_cells(pc.utf8_trim_whitespace(arrow[name])) for name in names}, copy=False)
    del arrow
    release_arrow_memory()
    if wide:
        positions = [number - 2 for number, _ in wide]
        df.index = pd.Index(np.delete(np.arange(len(df) + len(wide)), positions))
    return df, [(number - 2, next(csv.reader(io.StringIO(text, newline=""), delimiter=sep))) for number, text in wide]


def _wide_reject(index: int, cells: list[str], header: list[str], sep: str) -> dict:
    """The quarantine row of a row with more fields than the header: the value is the row as written."""
    trimmed = [_shown(cell.strip()) for cell in cells]
    record: dict[str, object] = dict(zip(header, trimmed[: len(header)], strict=True))
    record["(extra fields)"] = trimmed[len(header) :]
    return {
        "source_row": index + 2,
        "column": "",
        "value": _shown(sep.join(cells)),
        "reason": f"row {index + 2} has {len(cells)} fields, the header has {len(header)} (a value holding a "
        f"{delimiter_name(sep)} must be in double quotes)",
        "record": json.dumps(record, ensure_ascii=False),
    }


def _top_lines(raw: bytes, encoding: str) -> list[str]:
    """The first non-blank lines of the file, decoded: where the header row and its delimiter are."""
    text = raw[: 1 << 16].decode(encoding, errors="replace").lstrip("\ufeff")
    lines = [line for line in text.splitlines()[: 2 * _TOP_ROWS] if line.strip()]
    return lines[:_TOP_ROWS] or [""]


def _unquoted(line: str) -> str:
    return "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)


def _delimited(line: str) -> bool:
    """Whether the line holds a candidate delimiter outside quotes (a title line usually does not)."""
    unquoted = _unquoted(line)
    return any(d in unquoted for d in CANDIDATE_DELIMITERS)


def _detect_delimiter(header_line: str) -> str:
    """The candidate delimiter occurring most often in the header line, outside quotes."""
    unquoted = _unquoted(header_line)
    counts = {d: unquoted.count(d) for d in CANDIDATE_DELIMITERS}
    best = max(CANDIDATE_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _top_width(top: list[str], sep: str) -> int | None:
    """How many fields to read each row as, when the first row cannot simply be the header; else None.

    A CRM report with a title line above its header has a narrow first row and
    most top rows wider: the widest top row's count. A file whose first row is
    its header and whose first data row has more fields (its own problem, see
    ``_wide_rows``) is read at the header's width, so that pandas does not take
    the first column for an index.
    """
    try:
        counts = [len(row) for row in csv.reader(io.StringIO("\n".join(top)), delimiter=sep)]
    except csv.Error:  # e.g. a NUL byte: the parser proper reports the file
        return None
    if len(counts) < 2:
        return None
    rest = counts[1:]
    if sum(c > counts[0] for c in rest) > sum(c == counts[0] for c in rest):
        return max(counts)
    return counts[0] if counts[1] > counts[0] else None


def _with_first_row_as_header(df: pd.DataFrame) -> pd.DataFrame:
    """A frame read without header, re-headed by its first row; blank names become ``Unnamed: N``."""
    header = [str(v).strip(_HEADER_JUNK) or f"Unnamed: {i}" for i, v in enumerate(df.iloc[0])]
    body = df.iloc[1:]
    body.columns = header
    body.index = body.index - 1  # index 0 is again the row under the header
    return body


def _has_padding(raw: bytes, sep: str) -> bool:
    """Whether any cell may start or end with whitespace, judged on the bytes with numpy.

    Conservative (a space inside quotes next to a delimiter also counts); when
    false, trimming a million-row file cell by cell is skipped altogether.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    spaces = np.flatnonzero((data == 0x20) if sep == "\t" else ((data == 0x20) | (data == 0x09)))
    if len(spaces) == 0:
        return False
    if spaces[0] == 0 or spaces[-1] == len(data) - 1:
        return True
    neighbours = np.concatenate([data[spaces - 1], data[spaces + 1]])
    return bool(np.isin(neighbours, [ord(sep), 0x0A, 0x0D]).any())


def _trim(column: pd.Series) -> pd.Series:
    """Cells without surrounding whitespace.

    Columns repeating a few values (stage, dates) are trimmed once per distinct
    value; columns of mostly distinct values (ids, amounts) with arrow's kernel,
    ~10x faster than ``.str.strip``.
    """
    sample = column.iloc[:10_000]
    if sample.nunique() < len(sample) // 2:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        stripped = np.array([v.strip() for v in uniques], dtype=object)
        return pd.Series(stripped[codes], index=column.index, dtype=object)
    values = pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pd.Series(pc.utf8_trim_whitespace(values).to_numpy(zero_copy_only=False), index=column.index, dtype=object)


def delimiter_name(sep: str | None) -> str:
    """'comma', 'semicolon', 'tab' (else the character itself), for messages and reports."""
    names: dict[str | None, str] = {",": "comma", ";": "semicolon", "\t": "tab"}
    return names.get(sep, repr(sep))


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except Exception as exc:
        raise InputFileError(path, f"is not a readable Parquet file ({exc}); re-export it") from None
    columns = {}
    for name, col in zip(arrow.column_names, arrow.columns, strict=True):
        kind = col.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            col = pc.strftime(col.cast(pa.timestamp("s")), format="%Y-%m-%d")
            series = col.to_pandas()
        elif pa.types.is_floating(kind):
            series = col.to_pandas().map(_plain_decimal, na_action="ignore")
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            series = col.to_pandas()
        else:
            series = col.cast(pa.string()).to_pandas()
        columns[str(name).strip(_HEADER_JUNK)] = _trim(series.fillna("").astype(str))
    df = _tidy(pd.DataFrame(columns))
    return RawTable(df=df, path=path, encoding=None, delimiter=None, sheet=None)
