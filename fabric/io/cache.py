"""A per-file cache of loaded documents for the command line.

Reading a large topology is most of the cost of a question about it: the YAML of a hub with
5,000 spokes (2 MB) takes ~3 s to parse and check, the answer itself a few milliseconds. The
command line therefore keeps what it loaded, pickled, keyed by everything the result depends on:

* the input file's bytes and its resolved path (import findings name the file),
* the ARM parameters file's bytes and the ``--parameter`` values, when given,
* the vnetsim version and the size and modification time of every source file of the
  ``fabric`` package (an edited loader, or an upgrade, never reads an older result).

Only regular files of at least ``MIN_BYTES`` are cached (a small file loads faster than a cache
entry can be checked); Terraform directories and ``-var`` values are never cached.

Where: ``$VNETSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/vnetsim``, else ``~/.cache/vnetsim``;
``VNETSIM_CACHE=off`` turns it off. Safety: the folder is created private (0700), and an entry is
read only from a folder that only its owner (this user) can write, and only when the entry is
this user's own file: a pickle is code, so the cache never reads what someone else could have
written. At most ``MAX_ENTRIES`` entries are kept (the least recently written go first). Any
problem with the cache (unreadable, corrupt, full disk) falls back to loading the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MIN_BYTES = 64 * 1024  # below this, parsing is about as fast as reading a cache entry
MAX_ENTRIES = 32
FORMAT = b"vnetsim-document-cache-1"  # bump when the entry layout changes
_SUFFIX = ".pickle"


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    if os.environ.get("VNETSIM_CACHE", "").strip().lower() in ("0", "off", "no", "false"):
        return None
    explicit = os.environ.get("VNETSIM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vnetsim"


def _code_fingerprint() -> bytes:
    """The version and the (path, size, mtime) of every ``fabric`` source file."""
    import fabric

    root = Path(fabric.__file__).parent
    digest = hashlib.sha256(str(fabric.__version__).encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.digest()


def entry_key(path: Path, parameters: Path | None, parameter_values: dict | None) -> str | None:
    """The cache key of loading ``path`` with these options, or None when it is not cached."""
    try:
        if not path.is_file() or path.stat().st_size < MIN_BYTES:
            return None
        if path.suffix == ".tf":  # it reads its folder's tfvars and modules too: never cached
            return None
        digest = hashlib.sha256(FORMAT)
        digest.update(_code_fingerprint())
        digest.update(str(path.resolve()).encode() + b"\0")
        digest.update(path.read_bytes())
        if parameters is not None:
            digest.update(b"\0parameters\0" + parameters.read_bytes())
        if parameter_values:
            import json

            text = json.dumps(parameter_values, sort_keys=True, default=repr)
            digest.update(b"\0values\0" + text.encode())
    except (OSError, ValueError):
        return None  # unreadable: let the loader report it
    return digest.hexdigest()


def _private(folder: Path) -> bool:
    """True when ``folder`` is ours and nobody else can write into it."""
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path) -> Any:
    """The object stored in ``entry``, or None (missing, not ours, or unreadable)."""
    try:
        info = entry.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        if not _private(entry.parent):
            return None
        with entry.open("rb") as stream:
            return pickle.load(stream)
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or stale entry (any unpickling error): drop it, load the file
        with contextlib.suppress(OSError):
            entry.unlink()
        return None


def _write(folder: Path, entry: Path, value: Any) -> None:
    """Store ``value`` in ``entry`` atomically; prune the oldest entries beyond MAX_ENTRIES."""
    import tempfile  # only when an entry is written (start-up)

    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        entries = sorted(folder.glob("*" + _SUFFIX), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-MAX_ENTRIES]:
            with contextlib.suppress(OSError):
                old.unlink()
    except (OSError, pickle.PicklingError, RecursionError):
        return  # the cache is an optimisation: a full disk or a read-only home is no error


def cached(key: str | None, load: Callable[[], T]) -> T:
    """``load()``, or the result stored under ``key`` by an earlier call (None: no caching)."""
    folder = cache_dir()
    if key is None or folder is None:
        return load()
    entry = folder / (key + _SUFFIX)
    found = _read(entry)
    if found is not None:
        return found
    value = load()
    _write(folder, entry, value)
    return value
