"""A manager's pack from already-rendered PDFs: the team summary and each member's review, merged with pypdf.

Each part keeps its outline (one entry per member, their sections under it); the merged pack takes the first
part's metadata and document language. "Page X of Y" is counted over the whole pack: each page's own label
(the one text pack.css draws in the label colour) is removed and the merged pack's label is drawn in its
place, as a pagination artifact, from blank pages that carry only their label.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import cast

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

#: The fill colour of the "page X of Y" label as it appears in a page's content stream (pack.css gives the label,
#: and nothing else, the colour #6b7281), so ``strip_page_labels`` can find it.
_LABEL_FILL = re.compile(rb"(0\.419608 0\.447059 0\.505882 rg\s+)BT\b.*?\bET\b", re.DOTALL)

#: The name of the stamped "page X of Y" in a merged page's resources, and what draws it (a pagination artifact
#: for screen readers).
_LABEL_XOBJECT = "/AttainPageLabel"
_DRAW_LABEL = f"\nQ\n/Artifact BMC q {_LABEL_XOBJECT} Do Q EMC\n".encode()


def strip_page_labels(content: bytes) -> bytes:
    """A page's content stream without its "page X of Y" (the one text drawn in the label's colour).

    Raises ``ValueError`` unless the page has exactly one label: a merged pack must not print two labels,
    or a page without one."""
    stripped, found = _LABEL_FILL.subn(rb"\1", content)
    if found != 1:
        raise ValueError(f"a pack page has {found} page labels, not 1: cannot number the merged pack")
    return stripped


def _content(page: PageObject) -> bytes:
    """The page's content stream, decoded (a WeasyPrint page always has one)."""
    contents = page.get_contents()
    if contents is None:
        raise ValueError("a pack page has no content")
    return contents.get_data()


def merge_pack(parts: list[bytes], labels: Callable[[int], PdfReader]) -> bytes:
    """One PDF of ``parts`` (PDF bytes) in order: the first part's metadata and language, each part's outline,
    and on every page "page X of Y" counted over the whole: each page's own label is removed
    (``strip_page_labels``) and page X of ``labels(Y)`` (blank pages carrying only their label, made by
    ``Renderer.page_labels``) is drawn in its place."""
    readers = [PdfReader(io.BytesIO(part)) for part in parts]
    writer = PdfWriter()
    for reader in readers:
        writer.append(reader, import_outline=True)
    first = readers[0]
    writer.add_metadata({k: v for k, v in (first.metadata or {}).items() if k != "/Producer"})
    catalog = cast("DictionaryObject", first.trailer["/Root"].get_object())
    for key in ("/Lang", "/MarkInfo", "/ViewerPreferences"):
        if key in catalog:
            writer.root_object[NameObject(key)] = catalog[key].clone(writer)
    writer.page_mode = "/UseOutlines"
    stamps = labels(len(writer.pages)).pages
    for page, stamp in zip(writer.pages, stamps, strict=True):
        form = DecodedStreamObject()
        form.set_data(_content(stamp))
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): stamp.mediabox,
                NameObject("/Resources"): stamp["/Resources"].clone(writer),
            }
        )
        resources = DictionaryObject(cast("DictionaryObject", page["/Resources"].get_object()))
        xobjects = DictionaryObject(
            cast("DictionaryObject", resources.get("/XObject", DictionaryObject()).get_object())
        )
        xobjects[NameObject(_LABEL_XOBJECT)] = writer._add_object(form.flate_encode())
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
        content = DecodedStreamObject()
        content.set_data(b"q\n" + strip_page_labels(_content(page)) + _DRAW_LABEL)
        page.replace_contents(content.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
