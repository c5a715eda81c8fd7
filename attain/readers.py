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
import datetime as dt
import html
import io
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from attain.settings import how_to_set

#: Encodings tried, in order, when a CSV does not declare one. UTF-8 first (the
#: BOM decides between "utf-8" and "utf-8-sig"), then GB18030 (Chinese Excel),
#: then cp1252 (Western Excel), then Latin-1 for Western text holding a byte
#: cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D). Each is tried with
#: strict decoding; Latin-1 decodes any byte, so it only counts when cp1252 fails.
CANDIDATE_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "cp1252", "latin-1")

#: In a file read as UTF-8 that holds a few bytes which are not UTF-8, each such
#: byte ``b`` is read as the private-use character ``_MARK_BASE + b`` (valid UTF-8,
#: so the fast parsers still read the file); the rows holding one are rejected.
_MARK_BASE = 0x10FE00
_MARKS = {0xDC00 + b: _MARK_BASE + b for b in range(0x80, 0x100)}  # surrogateescape -> mark
_MARKED = re.compile(f"[{chr(_MARK_BASE + 0x80)}-{chr(_MARK_BASE + 0xFF)}]")

#: Columns of :attr:`RawTable.rejected`: the quarantine's, less month and table.
REJECTED_COLUMNS = ("source_row", "column", "value", "reason", "record")

#: pandas' words for a row it skipped (``on_bad_lines="warn"``); its "line" counts rows, as ``row_number`` does.
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")

#: Delimiters recognised in a CSV header line.
CANDIDATE_DELIMITERS: tuple[str, ...] = (",", ";", "\t")

#: File types in order of preference when several exist for one table.
INPUT_SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".xlsx")

_HEADER_JUNK = " \t\r\n\ufeff\u00a0"

#: A byte that is not blank: found at once in a real file, where stripping would copy all of it.
_ANY_TEXT = re.compile(rb"[^ \t\r\n\xef\xbb\xbf]")

#: Top rows read to find the delimiter and the width: the header row plus the 20
#: rows below it where a CRM report's real header may be (``attain.crm_profiles``).
_TOP_ROWS = 21


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
    pandas names blank header cells; ``attain.crm_profiles`` then finds the
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
    read = _arrow_csv(source, enc, sep, top[0]) if width is None else None
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
    df = pd.DataFrame({name: _object_cells(pc.utf8_trim_whitespace(arrow[name])) for name in names}, copy=False)
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


def _rejected_frame(rows: list[dict]) -> pd.DataFrame:
    """The reader's rejected rows in file order (:data:`REJECTED_COLUMNS`)."""
    frame = pd.DataFrame(rows, columns=list(REJECTED_COLUMNS))
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame.sort_values("source_row", kind="stable").reset_index(drop=True)


def _object_cells(column: pa.ChunkedArray) -> np.ndarray:
    """An Arrow string column as the object array of ``str`` the validators expect.

    A column repeating a few values (stage, dates) gets one ``str`` per distinct value, shared by its rows:
    faster than one per cell and a fraction of the memory.
    """
    head = column.slice(0, 10_000)
    if pc.count_distinct(head).as_py() >= len(head) // 2:
        return column.to_numpy()
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.dictionary.to_numpy(zero_copy_only=False)[encoded.indices.to_numpy(zero_copy_only=False)]


def _checked_encoding(path: Path, raw: bytes, encoding: str) -> str:
    """The declared encoding, normalised, after checking the bytes decode with it."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InputFileError(path, f"unknown encoding {encoding!r}; use for example utf-8, gb18030 or cp1252") from None
    if name == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        name = "utf-8-sig"
    try:
        raw.decode(name)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            path,
            f"is not valid {encoding} (byte {exc.start}: {raw[exc.start : exc.start + 4]!r}); "
            "check the declared encoding or save the file as UTF-8",
        ) from None
    return name


def _detect_encoding(path: Path, raw: bytes) -> str:
    """The first candidate encoding that decodes ``raw`` strictly.

    UTF-8 is unambiguous (random non-UTF-8 text almost never decodes as UTF-8);
    a file that is UTF-8 as a whole but for a few stray bytes is ``_UTF8_STRAY``
    (read as UTF-8, the rows holding them rejected). GB18030 and cp1252 (or
    Latin-1) can both decode some byte strings; when both do, ``_tie_break`` chooses. A UTF-16 byte-order mark (Excel's "Unicode Text"
    export) is taken at its word.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            raw.decode("utf-16")
            return "utf-16"
        except UnicodeDecodeError:
            pass
    if raw.startswith(codecs.BOM_UTF8):
        try:
            raw.decode("utf-8-sig")
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:4096]:
        return _utf16_without_bom(path, raw)
    decodable = []
    for enc in CANDIDATE_ENCODINGS:
        if enc == "latin-1" and "cp1252" in decodable:
            break
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            if enc == "utf-8" and _mostly_utf8(raw):
                return _UTF8_STRAY
            continue
        if enc == "utf-8":
            return enc
        decodable.append(enc)
    if len(decodable) == 1:
        return decodable[0]
    return _tie_break(raw, decodable)


#: ``_detect_encoding``'s answer for a UTF-8 file holding a few bytes that are not UTF-8.
_UTF8_STRAY = "utf-8 with stray bytes"


def _mostly_utf8(raw: bytes) -> bool:
    """Whether bytes that are not valid UTF-8 are still UTF-8 text as a whole, with a few stray bytes.

    Judged on the whole file: its non-ASCII characters that are valid UTF-8 sequences must be at least as
    many as its bytes that are not (a cp1252 or GB18030 file has almost none of the first: accented letters
    and Chinese characters in those encodings seldom form UTF-8 sequences). A file with no valid non-ASCII
    UTF-8 at all is left to the legacy encodings, which read its ASCII identically.
    """
    text = raw.decode("utf-8", errors="surrogateescape")
    stray = len(raw) - len(text.encode("utf-8", errors="ignore"))  # each stray byte is one lone surrogate
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - stray
    return valid > 0 and valid >= stray


def _marked(raw: bytes) -> bytes:
    """UTF-8 bytes with each byte that is not UTF-8 replaced by its marker character (see ``_MARK_BASE``)."""
    return raw.decode("utf-8", errors="surrogateescape").translate(_MARKS).encode("utf-8")


def _shown(text: str) -> str:
    """Cell text with each marker shown as the byte it stands for: 'Caf\\xe9'."""
    return _MARKED.sub(lambda m: f"\\x{ord(m[0]) - _MARK_BASE:02x}", text)


def _stray_byte_rows(path: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """``df`` without its rows holding a byte that is not UTF-8, and their quarantine rows.

    The reason names the first such byte of the row, the column it sits in and its character position in
    that cell (1 = the first character), which is where a person fixing the file looks.
    """
    bad_names = [_shown(str(name)) for name in df.columns if _MARKED.search(str(name))]
    if bad_names:
        raise InputFileError(
            path,
            f"its header line has a byte that is not UTF-8 (in {bad_names[0]}); "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8')",
        )
    hit = np.zeros(len(df), dtype=bool)
    for name in df.columns:
        cells = pa.array(df[name].to_numpy(dtype=object), type=pa.string())
        hit |= pc.fill_null(pc.match_substring_regex(cells, _MARKED.pattern), False).to_numpy(zero_copy_only=False)
    if not hit.any():
        return df, []
    rejected = []
    for index, row in df.loc[hit].iterrows():
        column, cell = next((name, str(v)) for name, v in row.items() if _MARKED.search(str(v)))
        mark = _MARKED.search(cell)
        assert mark is not None  # the cell was chosen for having a marker
        number = int(index) + 2
        rejected.append(
            {
                "source_row": number,
                "column": column,
                "value": _shown(cell),
                "reason": f"row {number} has a byte (0x{ord(mark[0]) - _MARK_BASE:02X} in {column}, character "
                f"{mark.start() + 1}) that is not UTF-8 (save the file as UTF-8, or declare its encoding: "
                f"{_declare_encoding(path, 'cp1252')})",
                "record": json.dumps({k: _shown(str(v)) for k, v in row.items()}, ensure_ascii=False),
            }
        )
    return df.loc[~hit], rejected


def _utf16_without_bom(path: Path, raw: bytes) -> str:
    """``utf-16-le`` or ``utf-16-be`` for UTF-16 text saved without its byte-order mark.

    Text files hold no NUL bytes, except UTF-16, where every ASCII character
    has one: after it (little-endian) or before it (big-endian). Anything else
    with NUL bytes is not a text file.
    """
    head = np.frombuffer(raw[: 4096 - (min(len(raw), 4096) % 2)], dtype=np.uint8)
    zeros = head == 0
    odd, even = zeros[1::2].mean(), zeros[0::2].mean()
    candidate = "utf-16-le" if odd > 0.5 and even < 0.1 else "utf-16-be" if even > 0.5 and odd < 0.1 else None
    if candidate is not None:
        try:
            raw.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            pass
    raise InputFileError(
        path,
        "holds NUL bytes, so it is not a text file in a known encoding; export it again as CSV "
        f"(in Excel: 'CSV UTF-8') or declare the file's encoding for the run: {_declare_encoding(path)}",
    )


def _declare_encoding(path: Path, encoding: str = "big5") -> str:
    """How to declare the encoding of ``path``: keyed by its input table (``deals`` for a CRM export's name)."""
    from attain.validation import CONTRACT  # validation reads files with this module

    return how_to_set("encodings", {path.stem if path.stem in CONTRACT else "deals": encoding})


def _tie_break(raw: bytes, candidates: list[str]) -> str:
    """Pick among encodings that all decode ``raw``.

    GB18030 against cp1252: Chinese text is two or four high bytes per
    character, so its high bytes come in runs; Western text has an accented
    letter here and there between ASCII letters. When the runs do not settle
    it, charset-normalizer decides.
    """
    if candidates[0] == "gb18030" and len(candidates) == 2:  # against cp1252 (or Latin-1 where cp1252 fails)
        # The whole file, not its first megabyte: in ASCII data one accented name may sit far down.
        data = np.frombuffer(raw, dtype=np.uint8)
        high = np.flatnonzero(data >= 0x80)[: 1 << 16]
        if len(high):
            before = (high > 0) & (data[np.maximum(high - 1, 0)] >= 0x80)
            after = (high < len(data) - 1) & (data[np.minimum(high + 1, len(data) - 1)] >= 0x80)
            share = (before | after).mean()  # neighbour before or after also high
            if share >= 0.8:
                return "gb18030"
            if share <= 0.2:
                return candidates[1]
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 256 * 1024], cp_isolation=candidates).best()
    if best is not None and codecs.lookup(best.encoding).name in candidates:
        return codecs.lookup(best.encoding).name
    return candidates[0]


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


# ---------------------------------------------------------------- XLSX


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    """The named sheet, else the first sheet holding any cell (empty sheets before it are named in the table)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(
            path, f"is not a readable Excel workbook ({type(exc).__name__}: {exc}); re-save it from Excel as .xlsx"
        ) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputFileError(path, f"has no sheet named {sheet!r}; its sheets are: {', '.join(book.sheetnames)}")
        skipped: list[str] = []
        for ws in [book[sheet]] if sheet is not None else book.worksheets:
            rows = _sheet_rows(ws)
            if rows:
                break
            skipped.append(ws.title)
        else:
            where = f"sheet {sheet!r} is" if sheet is not None else f"every sheet ({', '.join(skipped)}) is"
            raise InputFileError(path, f"{where} empty; put the header line in the first row and the deals below")
        title = ws.title
        unsaved = _unsaved_formulas(book, ws)
    finally:
        book.close()
    # Leading blank rows are skipped; the index still makes row_number() the sheet's own row number.
    first = next(i for i, row in enumerate(rows) if any(row))
    width = max(len(row) for row in rows)
    header = [name or f"Unnamed: {i}" for i, name in enumerate(rows[first] + [""] * (width - len(rows[first])))]
    body = [row + [""] * (width - len(row)) for row in rows[first + 1 :]]
    df = pd.DataFrame(body, columns=header, dtype=object, index=pd.RangeIndex(first, first + len(body)))
    df, rejected = _reject_unsaved_formulas(df, unsaved)
    return RawTable(
        df=_tidy(df),
        path=path,
        encoding=None,
        delimiter=None,
        sheet=title,
        skipped_sheets=tuple(skipped),
        rejected=_rejected_frame(rejected),
    )


#: A cell holding a formula and no saved value (``<v/>`` or none): a workbook written by a program, never
#: opened and saved in Excel, which is what computes and stores formula results.
_UNSAVED_FORMULA = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)


def _unsaved_formulas(book, ws) -> dict[tuple[int, int], str]:
    """(sheet row, column position) -> formula, for each formula cell of ``ws`` without a saved value.

    openpyxl reads such a cell as empty, which validation would call blank; the sheet's XML tells them
    apart. Read from the workbook's archive (openpyxl's read-only sheet keeps its path there).
    """
    try:
        xml = book._archive.read(ws._worksheet_path)
    except (AttributeError, KeyError):  # not a read-only sheet of a zip archive: nothing to look up
        return {}
    found = {}
    for match in _UNSAVED_FORMULA.finditer(xml):
        letters, row, formula = match[1].decode(), int(match[2]), match[3]
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        found[(row, column - 1)] = "=" + html.unescape(formula.decode()) if formula else "(a shared formula)"
    return found


def _reject_unsaved_formulas(df: pd.DataFrame, unsaved: dict[tuple[int, int], str]) -> tuple[pd.DataFrame, list]:
    """``df`` without the rows holding a formula without a saved value, and their quarantine rows."""
    rows: dict[int, tuple[str, str]] = {}
    for (row, position), formula in sorted(unsaved.items()):
        index = row - 2  # the sheet's row number is index + 2 (see RawTable.row_number)
        if index in df.index and position < len(df.columns):
            rows.setdefault(index, (str(df.columns[position]), formula))
    rejected = [
        {
            "source_row": index + 2,
            "column": column,
            "value": formula,
            "reason": f"row {index + 2}, {column}: a formula without a saved value ({formula}); open the file in "
            "Excel and save it, so the value is stored",
            "record": df.loc[index].to_json(force_ascii=False),
        }
        for index, (column, formula) in rows.items()
    ]
    return (df.drop(index=list(rows)) if rows else df), rejected


def _sheet_rows(ws) -> list[list[str]]:
    """A worksheet's rows as text cells, each without its trailing blank cells; [] for an empty sheet.

    Rows keep their full width (a data row wider than the header row is not cut).
    """
    rows = []
    for values in ws.iter_rows(values_only=True):
        row = [_cell_text(v) for v in values]
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _cell_text(value: object) -> str:
    """An Excel cell value as the text validation expects: ISO dates, plain decimals."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _plain_decimal(value)
    return str(value).strip()


def _plain_decimal(value: float) -> str:
    """Shortest exact text of a float, without exponent: 1234.5, 100, 0.00001."""
    if math.isnan(value):
        return ""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


# ---------------------------------------------------------------- Parquet


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
