"""A bounded, read-only lookup in a BoltDB file (podman's ``libpod/bolt_state.db``).

podman (up to 4.x by default) keeps each container's configuration, with
its name, labels, image and privileged flag, in a BoltDB database: a
B+tree of fixed-size pages, copy-on-write, with two meta pages naming the
current root. :func:`lookup` follows one path of bucket names to a key
with ``pread``: the meta page with the higher transaction id and a valid
checksum, then one branch or leaf page per level, so a lookup reads a few
pages whatever the size of the file. It visits at most ``_MAX_PAGES``
pages and returns at most ``max_value`` bytes; a page that is not what the
tree says (a torn read while podman writes, or a hostile file) is a
``FileError``, never a loop or a crash.

Layout (``go.etcd.io/bbolt``, ``page.go``/``node.go``): a page header is
``id u64, flags u16, count u16, overflow u32``; a leaf element is ``flags
u32, pos u32, ksize u32, vsize u32`` with the key at element + pos and the
value after it; a branch element is ``pos u32, ksize u32, pgid u64``. A
bucket's value is ``root pgid u64, sequence u64``, followed by the bucket's
own page when ``root`` is 0 (an inline bucket).
"""

from __future__ import annotations

import os
import struct
from typing import Final

from secengine.state.containers.files.base import FileError

__all__ = ["lookup"]

_MAGIC: Final = 0xED0CDAED
_BRANCH: Final = 0x01
_LEAF: Final = 0x02
_META: Final = 0x04
_BUCKET_LEAF: Final = 0x01
_HEADER: Final = struct.Struct("<QHHI")
_META_BODY: Final = struct.Struct("<IIIIQQQQQ")  # magic..txid (checksum follows)
_LEAF_ELEM: Final = struct.Struct("<IIII")
_BRANCH_ELEM: Final = struct.Struct("<IIQ")
_BUCKET: Final = struct.Struct("<QQ")
_MAX_PAGES: Final = 64
_MAX_DEPTH: Final = 32
_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 0x100000001B3


def _fnv64a(data: bytes) -> int:
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class _Reader:
    def __init__(self, fd: int, size: int, path: str) -> None:
        self.fd = fd
        self.size = size
        self.path = path
        self.pages = 0
        self.page_size = 4096

    def bad(self, what: str) -> FileError:
        return FileError("not_bolt", self.path, what)

    def pread(self, n: int, off: int) -> bytes:
        if off < 0 or n < 0 or off + n > self.size:
            raise self.bad(f"reference past the end of the file ({off}+{n})")
        data = os.pread(self.fd, n, off)
        if len(data) != n:
            raise self.bad("short read")
        return data

    def meta_root(self) -> int:
        best: tuple[int, int] | None = None
        size = _HEADER.size + _META_BODY.size + 8
        for index in (0, 1):
            off = index * self.page_size
            if off + size > self.size:
                break
            raw = self.pread(size, off)
            _, flags, _, _ = _HEADER.unpack_from(raw)
            body = raw[_HEADER.size : _HEADER.size + _META_BODY.size]
            magic, version, page_size, _, root, _, _, _, txid = _META_BODY.unpack(body)
            (checksum,) = struct.unpack_from("<Q", raw, _HEADER.size + _META_BODY.size)
            if flags != _META or magic != _MAGIC or version != 2 or _fnv64a(body) != checksum:
                continue
            if not 512 <= page_size <= 1 << 16:
                continue
            if index == 0:
                self.page_size = page_size
            if best is None or txid > best[0]:
                best = (txid, root)
        if best is None:
            raise self.bad("no valid meta page")
        return best[1]

    def page(self, pgid: int) -> bytes:
        self.pages += 1
        if self.pages > _MAX_PAGES:
            raise self.bad("too many pages visited")
        off = pgid * self.page_size
        head = self.pread(_HEADER.size, off)
        _, _, _, overflow = _HEADER.unpack(head)
        if overflow > 256:
            raise self.bad("page overflow too large")
        return self.pread((overflow + 1) * self.page_size, off)

    def find(self, page: bytes, key: bytes, depth: int = 0) -> tuple[int, bytes] | None:
        """(element flags, value) of ``key`` under the tree rooted at ``page``."""
        if depth > _MAX_DEPTH:
            raise self.bad("tree too deep")
        if len(page) < _HEADER.size:
            raise self.bad("truncated page")
        _, flags, count, _ = _HEADER.unpack_from(page)
        if flags & _LEAF:
            for i in range(count):
                e = _HEADER.size + i * _LEAF_ELEM.size
                if e + _LEAF_ELEM.size > len(page):
                    raise self.bad("truncated leaf")
                eflags, pos, ksize, vsize = _LEAF_ELEM.unpack_from(page, e)
                start = e + pos
                if start + ksize + vsize > len(page):
                    raise self.bad("leaf element past its page")
                if page[start : start + ksize] == key:
                    return eflags, page[start + ksize : start + ksize + vsize]
            return None
        if flags & _BRANCH:
            child = -1
            for i in range(count):
                e = _HEADER.size + i * _BRANCH_ELEM.size
                if e + _BRANCH_ELEM.size > len(page):
                    raise self.bad("truncated branch")
                pos, ksize, pgid = _BRANCH_ELEM.unpack_from(page, e)
                if e + pos + ksize > len(page):
                    raise self.bad("branch element past its page")
                if page[e + pos : e + pos + ksize] <= key:
                    child = pgid
                else:
                    break
            if child < 0:
                return None
            return self.find(self.page(child), key, depth + 1)
        raise self.bad(f"page of unexpected kind {flags:#x}")

    def bucket(self, value: bytes) -> bytes:
        """The root page of the bucket whose header is ``value``."""
        if len(value) < _BUCKET.size:
            raise self.bad("truncated bucket header")
        root, _ = _BUCKET.unpack_from(value)
        return value[_BUCKET.size :] if root == 0 else self.page(root)


def lookup(path: str, buckets: tuple[bytes, ...], key: bytes, max_value: int) -> bytes | None:
    """The value of ``key`` in the nested ``buckets`` of the BoltDB file ``path``.

    None when the file, a bucket or the key is absent; :class:`FileError` when
    the file is unusable (``symlink``, ``not_bolt``, ``too_large``, ``unreadable``).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        reason = "symlink" if e.errno == 40 else "unreadable"
        raise FileError(reason, path, e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000) == 0o100000:
            raise FileError("wrong_type", path, "not a regular file")
        r = _Reader(fd, st.st_size, path)
        page = r.page(r.meta_root())
        for name in buckets:
            found = r.find(page, name)
            if found is None:
                return None
            flags, value = found
            if not flags & _BUCKET_LEAF:
                raise r.bad(f"{name!r} is not a bucket")
            page = r.bucket(value)
        found = r.find(page, key)
        if found is None:
            return None
        if len(found[1]) > max_value:
            raise FileError("too_large", path, f"value of {key!r} over {max_value} bytes")
        return found[1]
    except OSError as e:
        raise FileError("unreadable", path, e.strerror or str(e)) from None
    finally:
        os.close(fd)
