"""Writing result files so that a kill never leaves half of one that a later run or a user could take as finished."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


def _readable_mode(staging: str, path: Path) -> None:
    """``mkstemp`` makes the file private (0600): give the result the mode of the file it replaces, else 0644."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    os.chmod(staging, mode)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path`` (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        _readable_mode(staging, path)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, data) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextlib.contextmanager
def staged_path(path: str | os.PathLike):
    """A temporary name beside ``path``, with the same suffix (``savefig`` reads the format from it), renamed over
    ``path`` when the ``with`` block ends without an exception and removed when it raises::

        with staged_path(out / "plot.png") as staging:
            figure.savefig(staging)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(handle)
    try:
        yield Path(staging)
        _readable_mode(staging, path)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
