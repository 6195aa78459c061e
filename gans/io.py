"""Atomic file writes: a reader, or a job killed half-way, never sees a half-written file.

Every writer of the project goes through `write_atomic`: the content is written to a hidden
temporary file beside the target and renamed into place (a rename within one directory is
atomic on POSIX). On any error the temporary file is removed and nothing appears under the
final name. Arguments are always (path, content).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import torch


def write_atomic(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path | str, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path | str, record: Any) -> Path:
    """Indented JSON with a trailing newline; values JSON cannot hold are written as str()."""
    return write_text_atomic(path, json.dumps(record, indent=2, default=str) + "\n")


def save_torch_atomic(path: Path | str, obj: Any) -> Path:
    return write_atomic(path, lambda tmp: torch.save(obj, tmp))
