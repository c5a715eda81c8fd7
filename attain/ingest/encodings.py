"""How a CSV file's bytes are decoded: the encoding detected (or the declared one checked), and the
rows of a mostly UTF-8 file that hold a stray byte.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attain.ingest.contract import CONTRACT
from attain.ingest.raw import InputFileError
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
