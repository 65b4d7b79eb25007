"""User and group names: from the host's ``/etc/passwd`` and ``/etc/group``, or a container's.

``user.name`` of a process in a container is looked up in *that container's*
files (through ``/proc/PID/root``), as Falco does. Each database is parsed
once and re-read when its file changes; per-container databases are kept in
a bounded LRU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from cachetools import LRUCache

__all__ = ["Account", "UserDb", "UserTable"]


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    home: str = ""
    shell: str = ""


class UserDb:
    """One root's users and groups."""

    __slots__ = ("root", "_users", "_groups", "_stamp")

    def __init__(self, root: str = "/") -> None:
        self.root = root
        self._users: dict[int, Account] = {}
        self._groups: dict[int, str] = {}
        self._stamp: tuple[float, float] | None = None

    def _paths(self) -> tuple[str, str]:
        return os.path.join(self.root, "etc/passwd"), os.path.join(self.root, "etc/group")

    def refresh(self) -> None:
        passwd, group = self._paths()
        try:
            stamp = (os.stat(passwd).st_mtime, os.stat(group).st_mtime)
        except OSError:
            stamp = (0.0, 0.0)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._users = {}
        self._groups = {}
        for line in _lines(passwd):
            parts = line.split(":")
            if len(parts) >= 7 and parts[2].isdigit():
                self._users.setdefault(int(parts[2]), Account(parts[0], parts[5], parts[6]))
        for line in _lines(group):
            parts = line.split(":")
            if len(parts) >= 3 and parts[2].isdigit():
                self._groups.setdefault(int(parts[2]), parts[0])

    @property
    def empty(self) -> bool:
        return not self._users and not self._groups

    def user(self, uid: int) -> Account | None:
        return self._users.get(uid)

    def group(self, gid: int) -> str | None:
        return self._groups.get(gid)


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#")]
    except OSError:
        return []


class UserTable:
    """The host database and per-container ones (bounded)."""

    MAX_CONTAINERS: Final = 256
    REFRESH_EVERY: Final = 5.0

    def __init__(self) -> None:
        self.host = UserDb("/")
        self.host.refresh()
        self._containers: LRUCache[str, UserDb] = LRUCache(maxsize=self.MAX_CONTAINERS)

    def db(self, container_id: str, pid: int) -> UserDb:
        if container_id == "host":
            return self.host
        db = self._containers.get(container_id)
        if db is None or db.empty:
            # read through this process's root; a process that is already gone (or not yet
            # inside the container's root) gives nothing, and the next process tries again
            db = UserDb(f"/proc/{pid}/root")
            db.refresh()
            self._containers[container_id] = db
        return db

    def refresh(self) -> None:
        self.host.refresh()
