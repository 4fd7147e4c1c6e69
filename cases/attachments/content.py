"""Which files may be attached, told from their bytes: the name and the browser's claimed type
are never trusted. A small explicit signature table (each format's first bytes as its
specification fixes them) plus two checks that need the whole file: Office documents are ZIP
archives holding their main part, and plain text is UTF-8 without control characters.

A table of our own, rather than a library, because the allow-list is short and every entry must
be exact: a guess ("looks like text") must never let HTML or a script through as something else.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Kind:
    """An allowed kind of file: its media type, the extension it is saved with, its name."""

    content_type: str
    extension: str
    label: str


PDF = Kind("application/pdf", ".pdf", "PDF")
PNG = Kind("image/png", ".png", "PNG image")
JPEG = Kind("image/jpeg", ".jpg", "JPEG image")
GIF = Kind("image/gif", ".gif", "GIF image")
WEBP = Kind("image/webp", ".webp", "WebP image")
TEXT = Kind("text/plain; charset=utf-8", ".txt", "plain text")
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx",
            "Word document")
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx",
            "Excel workbook")
PPTX = Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx",
            "PowerPoint presentation")
ALLOWED = (PDF, PNG, JPEG, GIF, WEBP, TEXT, DOCX, XLSX, PPTX)
ALLOWED_TEXT = "PDF, PNG, JPEG, GIF, WebP, plain text (UTF-8), Word, Excel or PowerPoint (.docx, .xlsx, .pptx)"
EXTENSIONS = {".jpeg": JPEG, ".text": TEXT, ".log": TEXT, ".csv": TEXT}  # also fine as they are

HEAD = 16  # bytes the signatures need
ZIP_MAGIC = b"PK\x03\x04"
# The part an Office Open XML package must hold, per kind (ECMA-376 part 2).
OFFICE_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX,
                "ppt/presentation.xml": PPTX}
# Text may hold tab, line feed, form feed and carriage return; no other control character.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def by_signature(head: bytes) -> Kind | None:
    """The kind the first bytes announce (None: not one of the binary formats)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


class TextCheck:
    """Follows a file chunk by chunk and says whether all of it is clean UTF-8 text."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.ok = False
            return
        if text and _CONTROL.search(text):
            self.ok = False


def office_kind(path: Path) -> Kind | None:
    """The Office kind of a ZIP file, from the parts it lists (None: some other archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in OFFICE_PARTS.items() if part in names), None)


def download_name(filename: str, kind: Kind) -> str:
    """The file name a download is saved under: the person's name, ending as its content is."""
    stem, dot, ext = filename.rpartition(".")
    ext = f".{ext.lower()}" if dot else ""
    if ext == kind.extension or EXTENSIONS.get(ext) == kind:
        return filename
    return f"{filename}{kind.extension}"


def kind_of(content_type: str) -> Kind:
    """The allowed kind stored under a media type."""
    return next(k for k in ALLOWED if k.content_type == content_type)
