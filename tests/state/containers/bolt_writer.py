"""A minimal BoltDB writer for the tests: nested buckets of keys, as podman's libpod stores them.

Writes the layout ``go.etcd.io/bbolt`` reads (two meta pages with their
FNV-1a checksum, then one leaf page, with overflow pages, per bucket;
buckets are never inline), enough to build ``libpod/bolt_state.db`` holding
``ctr/<id>/config`` without podman, or containerd's ``meta.db``. A bucket
with more than ``leaf_items`` keys is split into leaves under one branch
page, as bbolt splits a full page.
"""

from __future__ import annotations

import struct
from typing import Union

PAGE = 4096
Tree = dict[bytes, Union[bytes, "Tree"]]


def _fnv64a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class _Pages:
    def __init__(self, leaf_items: int) -> None:
        self.pages: list[bytes] = [b"", b""]  # the meta pages, written last
        self.leaf_items = leaf_items

    def leaf(self, items: list[tuple[int, bytes, bytes]]) -> int:
        """Write one leaf page (+ overflow) of (flags, key, value); returns its page id."""
        pgid = len(self.pages)
        head = 16 + 16 * len(items)
        elems = b""
        data = b""
        for i, (flags, key, value) in enumerate(items):
            pos = head + len(data) - (16 + 16 * i)
            elems += struct.pack("<IIII", flags, pos, len(key), len(value))
            data += key + value
        body = elems + data
        size = 16 + len(body)
        count = max(1, -(-size // PAGE))
        raw = struct.pack("<QHHI", pgid, 0x02, len(items), count - 1) + body
        self.pages.append(raw.ljust(count * PAGE, b"\0"))
        self.pages.extend([b""] * (count - 1))  # the overflow pages are part of this one
        return pgid

    def branch(self, children: list[tuple[bytes, int]]) -> int:
        """Write one branch page of (first key, child page id); returns its page id."""
        pgid = len(self.pages)
        head = 16 * len(children)
        elems, data = b"", b""
        for i, (key, child) in enumerate(children):
            elems += struct.pack("<IIQ", head + len(data) - 16 * i, len(key), child)
            data += key
        raw = struct.pack("<QHHI", pgid, 0x01, len(children), 0) + elems + data
        assert len(raw) <= PAGE, "branch page too full for this writer"
        self.pages.append(raw.ljust(PAGE, b"\0"))
        return pgid

    def bucket(self, tree: Tree) -> int:
        items = []
        for key in sorted(tree):
            value = tree[key]
            if isinstance(value, dict):
                root = self.bucket(value)
                items.append((0x01, key, struct.pack("<QQ", root, 0)))
            else:
                items.append((0x00, key, value))
        if len(items) <= self.leaf_items:
            return self.leaf(items)
        step = self.leaf_items
        chunks = [items[i : i + step] for i in range(0, len(items), step)]
        return self.branch([(chunk[0][1], self.leaf(chunk)) for chunk in chunks])


def write(path: str, tree: Tree, *, txid: int = 7, leaf_items: int = 1 << 30) -> None:
    """Write ``tree`` (bucket name -> sub-tree, key -> value) as a BoltDB file."""
    pages = _Pages(leaf_items)
    root = pages.bucket(tree)
    npages = len(pages.pages)
    for index in (0, 1):
        body = struct.pack("<IIIIQQQQQ", 0xED0CDAED, 2, PAGE, 0, root, 0, 0, npages, txid - index)
        meta = struct.pack("<QHHI", index, 0x04, 0, 0) + body + struct.pack("<Q", _fnv64a(body))
        pages.pages[index] = meta.ljust(PAGE, b"\0")
    with open(path, "wb") as fh:
        fh.writelines(pages.pages)
