"""Atomic writes of the flag file: a reader (flagd, an in-process provider) sees the old file or the new one, never
half."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_text(text: str) -> str:
    """Hex SHA-256 of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str | None:
    """The hash of the file's bytes, None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to a temporary file in the same folder, fsync it, rename it over `path`, fsync the folder.

    rename(2) within one file system replaces the name atomically, so a reader opening `path` gets one whole file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
