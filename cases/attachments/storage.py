"""The attachment directory: uploads stream into a temporary file (counted, hashed and checked
as they arrive), then move into place under a random key right before their row commits.

    <root>/tmp/<random>          an upload on its way in (removed whatever happens)
    <root>/<k[:2]>/<k>           the bytes of the attachment with storage key k

The temporary directory sits inside the root, so moving into place is one atomic rename.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidInput
from . import content
from .content import Kind

log = logging.getLogger("caseflow.attachments")
CHUNK = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Received:
    """An upload in its temporary file: what it is, how large, its SHA-256, its future key."""

    temp: Path
    key: str
    size: int
    sha256: str
    kind: Kind


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class AttachmentStore:
    """Files under `root`, each at most `max_bytes`."""

    def __init__(self, root: Path, max_bytes: int):
        self.root, self.max_bytes = Path(root), max_bytes

    def receive(self, source: BinaryIO) -> Received:
        """Copy `source` into a temporary file chunk by chunk; refuse (and remove it) when it is
        too large, empty or not an allowed kind of file."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        temp = tmp_dir / secrets.token_hex(16)
        try:
            return self._copy(source, temp)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _copy(self, source: BinaryIO, temp: Path) -> Received:
        digest, size, head, text = hashlib.sha256(), 0, b"", content.TextCheck()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise InvalidInput({"file": f"The file is larger than {_mb(self.max_bytes)}, "
                                                "the most an attachment may be"})
                if len(head) < content.HEAD:
                    head += chunk[:content.HEAD - len(head)]
                digest.update(chunk)
                text.feed(chunk)
                out.write(chunk)
        text.feed(b"", final=True)
        if size == 0:
            raise InvalidInput({"file": "The file is empty; choose the file to attach"})
        kind = self._kind(head, text, temp)
        return Received(temp, secrets.token_hex(16), size, digest.hexdigest(), kind)

    @staticmethod
    def _kind(head: bytes, text: content.TextCheck, temp: Path) -> Kind:
        kind = content.by_signature(head)
        if kind is None and head.startswith(content.ZIP_MAGIC):
            kind = content.office_kind(temp)
        if kind is None and text.ok:
            kind = content.TEXT
        if kind is None:
            raise InvalidInput({"file": "This kind of file cannot be attached (its content is "
                                        f"not one of: {content.ALLOWED_TEXT})"})
        return kind

    def path_of(self, key: str) -> Path:
        """Where the bytes of the attachment with this key are."""
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def place(self, received: Received) -> Path:
        """Move a received upload into place under its key."""
        final = self.path_of(received.key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.temp, final)
        return final

    def remove(self, key: str) -> None:
        """Remove an attachment's bytes; a file already gone is fine, a failure is logged."""
        try:
            self.path_of(key).unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove attachment file %s", key)

    def discard(self, received: Received) -> None:
        """Remove the temporary file of an upload that was not kept (if it is still there)."""
        received.temp.unlink(missing_ok=True)
