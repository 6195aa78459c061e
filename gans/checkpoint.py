"""Periodic training checkpoints: where they go, how they are written, which one a rerun resumes.

Checkpoints live outside the workflow's declared outputs (Snakemake deletes those before a job
starts), one file per step, written atomically with a digest of its content; a rerun takes the
newest one that loads, matches its digest and belongs to the same run identity, skipping
corrupt, unsafe or foreign ones with a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from gans.io import CorruptFileError, UnsafeFileError, load_torch, save_torch_atomic, verified, with_digest


def checkpoint_path(directory: Path | str, step: int) -> Path:
    return Path(directory) / f"step{step:08d}.pt"


def save_checkpoint(directory: Path | str, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write the checkpoint of `step` and keep only the newest `keep` ones."""
    path = save_torch_atomic(checkpoint_path(directory, step), with_digest(state))
    for old in sorted(Path(directory).glob("step*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def newest_valid_checkpoint(directory: Path | str, identity: str) -> Optional[dict[str, Any]]:
    """The newest checkpoint that loads and belongs to this exact run, or None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("step*.pt"), reverse=True):
        try:
            state = verified(load_torch(path), path)
        except (CorruptFileError, UnsafeFileError) as error:
            print(f"[train] skipping checkpoint: {error}", flush=True)
            continue
        except Exception as error:  # truncated: not even a readable archive
            print(f"[train] skipping unreadable checkpoint {path}: {error}", flush=True)
            continue
        if state.get("identity") != identity:
            print(f"[train] skipping checkpoint {path}: it belongs to other settings", flush=True)
            continue
        return state
    return None
