"""Atomic file writes: a reader, or a job killed half-way, never sees a half-written file.

Every writer of the project goes through `write_atomic`: the content is written to a hidden
temporary file beside the target and renamed into place (a rename within one directory is
atomic on POSIX). On any error the temporary file is removed and nothing appears under the
final name. Arguments are always (path, content).

Loading is the mirror image: `load_torch` refuses files that would need arbitrary pickle, and
records written `with_digest` are checked by `verified` against the digest of their content.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Callable

import torch


class WriteFailed(OSError):
    """A file could not be written (disk full, quota, a failing disk); nothing is under its name."""


def write_atomic(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it to `path`.

    A failed write raises `WriteFailed` naming `path` and the free space there: torch.save
    reports a full disk as "[enforce fail at inline_container.cc] unexpected pos ...", which
    names neither the file nor the cause.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:
        raise WriteFailed(getattr(error, "errno", None) or errno.EIO,
                          f"could not write {path} ({free_space(path.parent)} free there): "
                          f"{error}; nothing was written under that name") from error
    finally:
        tmp.unlink(missing_ok=True)
    return path


def free_space(directory: Path) -> str:
    try:
        return f"{shutil.disk_usage(directory).free / 2**20:.0f} MiB"
    except OSError:
        return "unknown space"


def write_text_atomic(path: Path | str, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path | str, record: Any) -> Path:
    """Indented JSON with a trailing newline; values JSON cannot hold are written as str()."""
    return write_text_atomic(path, json.dumps(record, indent=2, default=str) + "\n")


def save_torch_atomic(path: Path | str, obj: Any) -> Path:
    return write_atomic(path, lambda tmp: torch.save(obj, tmp))


# --------------------------------------------------------------------------- safe, verified loading
class UnsafeFileError(RuntimeError):
    """A file holds Python objects beyond tensors and plain data: loading it could run code."""


class CorruptFileError(RuntimeError):
    """A file's content does not match the digest written with it (or it cannot be read)."""


def load_torch(path: Path | str, map_location: str | torch.device = "cpu") -> Any:
    """torch.load with pickle limited to tensors and plain data (weights_only=True).

    Every file the project writes (prepared data, checkpoints, final.pt, samples, features,
    evaluator weights) is plain data, so a file that needs more was not written by it: it is
    refused with a message instead of being allowed to run code on the reader's machine.
    """
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeFileError(f"{path}: refused: it holds Python objects other than tensors and "
                              f"plain data, which could run code when loaded. Only load files this "
                              f"project wrote. ({str(error).splitlines()[0]})") from None


DIGEST_KEY = "content_sha256"


def content_digest(obj: Any) -> str:
    """sha256 of a nested structure of dicts, lists, tensors and plain values: its content, not
    its file (a file's bytes also depend on the name it was saved under)."""
    digest = hashlib.sha256()
    _feed(digest, obj)
    return digest.hexdigest()


def _feed(digest: "hashlib._Hash", obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu().contiguous()
        digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    elif isinstance(obj, dict):
        digest.update(f"dict {len(obj)}|".encode())
        for key in sorted(obj, key=repr):
            _feed(digest, key)
            _feed(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__} {len(obj)}|".encode())
        for item in obj:
            _feed(digest, item)
    else:
        digest.update(f"{type(obj).__name__} {obj!r}|".encode())


def with_digest(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the digest of its content added (see `verified`)."""
    return {**record, DIGEST_KEY: content_digest(record)}


def verified(record: Any, path: Path | str) -> dict[str, Any]:
    """The record loaded from `path` if its content matches the digest written with it."""
    if not isinstance(record, dict) or DIGEST_KEY not in record:
        raise CorruptFileError(f"{path}: no content digest (not written by this version, or cut short)")
    body = {k: v for k, v in record.items() if k != DIGEST_KEY}
    if content_digest(body) != record[DIGEST_KEY]:
        raise CorruptFileError(f"{path}: content does not match its digest: the file is corrupt")
    return body
