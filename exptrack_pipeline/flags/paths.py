"""Where exptrack keeps the flag file: EXPTRACK_FLAG_FILE, else <EXPTRACK_OUTPUT_DIR>/flags/flags.flagd.json."""

from __future__ import annotations

import os
from pathlib import Path

FLAG_FILE_VAR = "EXPTRACK_FLAG_FILE"


def flag_file_path(settings) -> Path:
    """The flag file of these exptrack_pipeline.config.Settings (absolute; relative paths against the current
    directory)."""
    text = os.environ.get(FLAG_FILE_VAR)
    return Path(text).expanduser().resolve() if text else Path(settings.output_dir) / "flags" / "flags.flagd.json"
