"""Bounded, read-only lookups in a BoltDB file (podman's ``libpod/bolt_state.db``,
containerd's ``io.containerd.metadata.v1.bolt/meta.db``).

podman (up to 4.x by default) keeps each container's configuration, with
its name, labels, image and privileged flag, in a BoltDB database, and
containerd keeps its containers (labels, image, the CRI plugin's metadata)
and images in one: a B+tree of fixed-size pages, copy-on-write, with two
meta pages naming the current root. :class:`BoltFile` follows a path of
bucket names with ``pread``: the meta page with the higher transaction id
and a valid checksum, then one branch or leaf page per level, so a lookup
reads a few pages whatever the size of the file. :meth:`BoltFile.items`
lists a bucket's keys (all, or those with a prefix, visiting only the
branches that can hold them). One open file visits at most ``max_pages``
pages in all and returns values of at most ``max_value`` bytes; a page
that is not what the tree says (a torn read while the runtime writes, or a
hostile file) is a ``FileError``, never a loop or a crash. The runtimes
hold their own lock on the file; readers take none (bbolt's writers never
overwrite a page a committed meta page names, so a read sees a committed
tree or fails its checks).

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
from collections.abc import Callable, Iterator
from typing import Final, Self, TypeVar

from secengine.state.containers.files.base import FileError

__all__ = ["BoltFile", "lookup"]

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
#: the most keys one :meth:`BoltFile.items` returns
MAX_ITEMS: Final = 4096
_MAX_DEPTH: Final = 32
_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 0x100000001B3
T = TypeVar("T")


def _fnv64a(data: bytes) -> int:
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class _Reader:
    def __init__(self, fd: int, size: int, path: str, max_pages: int = _MAX_PAGES) -> None:
        self.fd = fd
        self.size = size
        self.path = path
        self.pages = 0
        self.max_pages = max_pages
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
        if self.pages > self.max_pages:
            raise self.bad("too many pages visited")
        off = pgid * self.page_size
        head = self.pread(_HEADER.size, off)
        _, _, _, overflow = _HEADER.unpack(head)
        if overflow > 256:
            raise self.bad("page overflow too large")
        return self.pread((overflow + 1) * self.page_size, off)

    def _kind(self, page: bytes, depth: int) -> int:
        """The page's flags (leaf or branch), after the checks every page gets."""
        if depth > _MAX_DEPTH:
            raise self.bad("tree too deep")
        if len(page) < _HEADER.size:
            raise self.bad("truncated page")
        _, flags, _, _ = _HEADER.unpack_from(page)
        if not flags & (_LEAF | _BRANCH):
            raise self.bad(f"page of unexpected kind {flags:#x}")
        return int(flags)

    def _leaf(self, page: bytes) -> Iterator[tuple[bytes, int, bytes]]:
        """(key, element flags, value) of a leaf page's elements, in key order."""
        _, _, count, _ = _HEADER.unpack_from(page)
        for i in range(count):
            e = _HEADER.size + i * _LEAF_ELEM.size
            if e + _LEAF_ELEM.size > len(page):
                raise self.bad("truncated leaf")
            eflags, pos, ksize, vsize = _LEAF_ELEM.unpack_from(page, e)
            start = e + pos
            if start + ksize + vsize > len(page):
                raise self.bad("leaf element past its page")
            yield page[start : start + ksize], eflags, page[start + ksize : start + ksize + vsize]

    def _branch(self, page: bytes) -> list[tuple[bytes, int]]:
        """(first key, child page id) of a branch page's elements, in key order."""
        _, _, count, _ = _HEADER.unpack_from(page)
        children: list[tuple[bytes, int]] = []
        for i in range(count):
            e = _HEADER.size + i * _BRANCH_ELEM.size
            if e + _BRANCH_ELEM.size > len(page):
                raise self.bad("truncated branch")
            pos, ksize, pgid = _BRANCH_ELEM.unpack_from(page, e)
            if e + pos + ksize > len(page):
                raise self.bad("branch element past its page")
            children.append((page[e + pos : e + pos + ksize], pgid))
        return children

    def find(self, page: bytes, key: bytes, depth: int = 0) -> tuple[int, bytes] | None:
        """(element flags, value) of ``key`` under the tree rooted at ``page``."""
        if self._kind(page, depth) & _LEAF:
            for k, eflags, value in self._leaf(page):
                if k == key:
                    return eflags, value
            return None
        child = -1
        for first, pgid in self._branch(page):
            if first > key:
                break
            child = pgid
        if child < 0:
            return None
        return self.find(self.page(child), key, depth + 1)

    def walk(
        self, page: bytes, prefix: bytes, out: list[tuple[bytes, int, bytes]], depth: int = 0
    ) -> None:
        """Append (key, element flags, value) of the keys under ``page`` that start with
        ``prefix``, in key order, skipping the branches that cannot hold them."""
        if self._kind(page, depth) & _LEAF:
            for key, eflags, value in self._leaf(page):
                if key.startswith(prefix):
                    if len(out) >= MAX_ITEMS:
                        raise self.bad(f"more than {MAX_ITEMS} keys")
                    out.append((key, eflags, value))
                elif key > prefix:
                    return
            return
        children = self._branch(page)
        for i, (first, pgid) in enumerate(children):
            after = children[i + 1][0] if i + 1 < len(children) else None
            if after is not None and after < prefix:
                continue  # every key of this child sorts before the prefix
            if first > prefix and not first.startswith(prefix):
                return  # this child and the next ones sort after every key with it
            self.walk(self.page(pgid), prefix, out, depth + 1)

    def bucket(self, value: bytes) -> bytes:
        """The root page of the bucket whose header is ``value``."""
        if len(value) < _BUCKET.size:
            raise self.bad("truncated bucket header")
        root, _ = _BUCKET.unpack_from(value)
        return value[_BUCKET.size :] if root == 0 else self.page(root)


class BoltFile:
    """One BoltDB file opened for a few bounded lookups (a context manager).

    Opening it is :class:`FileError` when the file is unusable (``symlink``,
    ``wrong_type``, ``not_bolt``, ``unreadable``); :meth:`missing` says the
    file does not exist (then every lookup answers None).
    """

    def __init__(self, path: str, max_pages: int = _MAX_PAGES) -> None:
        self.path = path
        self._fd = -1
        self._reader: _Reader | None = None
        self._root = b""
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as e:
            reason = "symlink" if e.errno == 40 else "unreadable"
            raise FileError(reason, path, e.strerror or str(e)) from None
        try:
            st = os.fstat(self._fd)
            if not (st.st_mode & 0o170000) == 0o100000:
                raise FileError("wrong_type", path, "not a regular file")
            reader = _Reader(self._fd, st.st_size, path, max_pages)
            self._root = reader.page(reader.meta_root())
            self._reader = reader
        except OSError as e:
            self.close()
            raise FileError("unreadable", path, e.strerror or str(e)) from None
        except FileError:
            self.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def missing(self) -> bool:
        return self._reader is None

    def _bucket(self, buckets: tuple[bytes, ...]) -> bytes | None:
        """The root page of the nested ``buckets`` (None: one is absent)."""
        r = self._reader
        if r is None:
            return None
        page = self._root
        for name in buckets:
            found = r.find(page, name)
            if found is None:
                return None
            flags, value = found
            if not flags & _BUCKET_LEAF:
                raise r.bad(f"{name!r} is not a bucket")
            page = r.bucket(value)
        return page

    def _io(self, what: Callable[[], T]) -> T:
        try:
            return what()
        except OSError as e:
            raise FileError("unreadable", self.path, e.strerror or str(e)) from None

    def get(self, buckets: tuple[bytes, ...], key: bytes, max_value: int) -> bytes | None:
        """The value of ``key`` in the nested ``buckets`` (None: a bucket or the key is absent)."""

        def run() -> bytes | None:
            page = self._bucket(buckets)
            if page is None or self._reader is None:
                return None
            found = self._reader.find(page, key)
            if found is None:
                return None
            if found[0] & _BUCKET_LEAF:
                raise self._reader.bad(f"{key!r} is a bucket, not a value")
            if len(found[1]) > max_value:
                raise FileError("too_large", self.path, f"value of {key!r} over {max_value} bytes")
            return found[1]

        return self._io(run)

    def items(
        self, buckets: tuple[bytes, ...], max_value: int, prefix: bytes = b""
    ) -> list[tuple[bytes, bytes | None]] | None:
        """The keys of a bucket that start with ``prefix``, in order, with their values
        (None for a nested bucket); None when the bucket is absent."""

        def run() -> list[tuple[bytes, bytes | None]] | None:
            page = self._bucket(buckets)
            if page is None or self._reader is None:
                return None
            found: list[tuple[bytes, int, bytes]] = []
            self._reader.walk(page, prefix, found)
            out: list[tuple[bytes, bytes | None]] = []
            for key, flags, value in found:
                if flags & _BUCKET_LEAF:
                    out.append((key, None))
                    continue
                if len(value) > max_value:
                    raise FileError(
                        "too_large", self.path, f"value of {key!r} over {max_value} bytes"
                    )
                out.append((key, value))
            return out

        return self._io(run)


def lookup(path: str, buckets: tuple[bytes, ...], key: bytes, max_value: int) -> bytes | None:
    """The value of ``key`` in the nested ``buckets`` of the BoltDB file ``path``.

    None when the file, a bucket or the key is absent; :class:`FileError` when
    the file is unusable (``symlink``, ``not_bolt``, ``too_large``, ``unreadable``).
    """
    with BoltFile(path) as db:
        return db.get(buckets, key, max_value)
