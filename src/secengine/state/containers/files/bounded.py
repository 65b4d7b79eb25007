"""Reading a runtime's files safely: bounded, without following links, inside the runtime's root.

The files are written by the container runtime, but what they contain is
the workload's (annotations, labels, mount paths), and the paths are built
from a container id read from a cgroup. :class:`RuntimeRoot` therefore
opens a file only if its directory resolves inside the root it was given
(``realpath``), with ``O_NOFOLLOW`` (the file itself is no symlink) and
``O_NONBLOCK`` (a FIFO planted there does not block), accepts only regular
files, reads at most ``max_bytes`` and parses JSON (nesting bounded by the
interpreter's recursion limit).
Each refusal raises :class:`~.base.FileError` with its reason; a file that
is simply absent gives None.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any, Final

from secengine.state.containers.files.base import FileError

__all__ = ["MAX_BYTES", "RuntimeRoot", "loads_bounded"]

#: the largest runtime file read (an OCI config.json is 10-30 kB; state.json 20 kB)
MAX_BYTES: Final = 1 << 20

_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


def loads_bounded(data: bytes, path: str) -> Any:
    """``data`` parsed as JSON, or :class:`FileError` (``not_json``, ``too_deep``).

    The size is bounded by the caller; the nesting by the interpreter: the C
    decoder counts its recursion and raises RecursionError past the limit,
    which is caught here (the decoder never overflows the C stack).
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise FileError("too_deep", path, "JSON nested too deep") from None
    except ValueError as e:
        raise FileError("not_json", path, f"not JSON ({str(e)[:80]})") from None


class RuntimeRoot:
    """A directory a runtime writes to; files are read only from inside it."""

    def __init__(self, path: str, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = os.path.abspath(path)
        self.max_bytes = max_bytes
        self._real: str | None = None

    def __repr__(self) -> str:
        return f"RuntimeRoot({self.path!r})"

    def real(self) -> str | None:
        """The root's resolved path (None while it does not exist)."""
        if self._real is None and os.path.isdir(self.path):
            self._real = os.path.realpath(self.path)
        return self._real

    def inside(self, path: str) -> bool:
        """Whether ``path`` (absolute) resolves inside the root."""
        real = self.real()
        if real is None:
            return False
        resolved = os.path.realpath(path)
        return resolved == real or resolved.startswith(real.rstrip("/") + "/")

    def join(self, *parts: str) -> str:
        """``root/parts...``; a part with a ``/`` or ``..`` is refused (it names nothing here)."""
        for part in parts:
            if not part or "/" in part or part in (".", ".."):
                raise FileError("outside_root", os.path.join(self.path, *parts), "bad path part")
        return os.path.join(self.path, *parts)

    def read(self, path: str) -> bytes | None:
        """The bytes of ``path`` (absolute, meant to be inside the root); None if absent."""
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            return None
        if not self.inside(parent):
            raise FileError("outside_root", path, f"resolves outside {self.path}")
        try:
            fd = os.open(path, _FLAGS)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise FileError("symlink", path, "is a symbolic link") from None
            raise FileError("unreadable", path, e.strerror or str(e)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise FileError("wrong_type", path, "not a regular file")
            if st.st_size > self.max_bytes:
                raise FileError("too_large", path, f"{st.st_size} bytes > {self.max_bytes}")
            chunks = []
            left = self.max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        except OSError as e:
            raise FileError("unreadable", path, e.strerror or str(e)) from None
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > self.max_bytes:
            raise FileError("too_large", path, f"more than {self.max_bytes} bytes")
        return data

    def read_json(self, path: str) -> dict[str, Any] | None:
        """``path`` parsed as a JSON object; None if absent, :class:`FileError` if unusable."""
        data = self.read(path)
        if data is None:
            return None
        doc = loads_bounded(data, path)
        if not isinstance(doc, dict):
            raise FileError("wrong_type", path, f"a JSON {type(doc).__name__}, not an object")
        return doc
