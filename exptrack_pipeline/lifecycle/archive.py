"""Write-once archive of a concluded experiment: <output>/archive/<experiment_id>/ with a SHA-256 manifest.

`freeze` writes every file into a temporary sibling folder and renames it into place in one step, so the
archive either exists complete or not at all; when the folder already exists nothing is written, ever.
`verify` recomputes every checksum against MANIFEST.sha256 (format of `sha256sum`: "<hex>  <file>").
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

MANIFEST = "MANIFEST.sha256"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of the bytes."""
    return hashlib.sha256(data).hexdigest()


def manifest_text(files: dict[str, bytes]) -> str:
    """The manifest: `<sha256>  <name>` per file, sorted by name (sha256sum's format)."""
    return "".join(f"{sha256(files[name])}  {name}\n" for name in sorted(files))


def archive_dir(archive_root: Path, experiment_id: str) -> Path:
    """The archive folder of one experiment."""
    return archive_root / experiment_id


def is_frozen(archive_root: Path, experiment_id: str) -> bool:
    """True when the experiment's archive has its manifest (it is never rewritten)."""
    return (archive_dir(archive_root, experiment_id) / MANIFEST).is_file()


def freeze(archive_root: Path, experiment_id: str, files: dict[str, bytes]) -> Path | None:
    """Write `files` (name → bytes) and the manifest once; return the folder, or None when it already existed."""
    target = archive_dir(archive_root, experiment_id)
    if target.exists():
        return None
    bad = [name for name in files if "/" in name or name.startswith(".") or name == MANIFEST]
    if bad:
        raise ValueError(f"{experiment_id}: archive file names must be plain names, got {bad}")
    archive_root.mkdir(parents=True, exist_ok=True)
    staging = archive_root / f".{experiment_id}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for name, data in files.items():
        (staging / name).write_bytes(data)
    (staging / MANIFEST).write_text(manifest_text(files))
    for path in staging.iterdir():
        path.chmod(0o444)
    os.rename(staging, target)
    return target


def verify(folder: Path) -> list[str]:
    """Problems with an archive folder: missing manifest, missing, changed or unlisted files (empty list = intact)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return [f"{folder}: {MANIFEST} is missing; the archive is incomplete. Delete the folder to re-freeze it."]
    problems = []
    listed: set[str] = set()
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but missing")
        elif sha256(path.read_bytes()) != digest:
            problems.append(f"{path}: content changed since it was archived (SHA-256 differs)")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed | {MANIFEST})
    problems += [f"{folder / name}: not in the manifest (added after archiving)" for name in extra]
    return problems
