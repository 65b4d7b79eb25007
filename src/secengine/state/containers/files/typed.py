"""Typed access to a parsed runtime file: a value of the wrong type is a ``wrong_type`` error.

Absent keys give the empty value of the type; present ones must have the
type the runtime writes, else :class:`~.base.FileError` ``wrong_type``
names the file and the key (a file whose shape is not the runtime's is not
trusted in part).
"""

from __future__ import annotations

from typing import Any

from secengine.state.containers.files.base import FileError

__all__ = ["boolean", "obj", "seq", "string_map", "text", "wrong"]


def wrong(path: str, key: str, want: str = "", value: Any = None) -> FileError:
    """The ``wrong_type`` error of ``key`` in ``path``."""
    if not want:
        return FileError("wrong_type", path, f"{key!r} has the wrong type")
    return FileError("wrong_type", path, f"{key!r} is a {type(value).__name__}, not {want}")


def obj(d: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """``d[key]`` as an object (``{}`` when absent or null)."""
    value = d.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong(path, key, "an object", value)
    return value


def seq(d: dict[str, Any], key: str, path: str) -> list[Any]:
    """``d[key]`` as an array (``[]`` when absent or null)."""
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong(path, key, "an array", value)
    return value


def text(d: dict[str, Any], key: str, path: str) -> str:
    """``d[key]`` as a string (``""`` when absent or null)."""
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise wrong(path, key, "a string", value)
    return value


def boolean(d: dict[str, Any], key: str, path: str) -> bool | None:
    """``d[key]`` as a boolean (None when absent or null)."""
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise wrong(path, key, "a boolean", value)
    return value


def string_map(d: dict[str, Any], key: str, path: str) -> dict[str, str]:
    """``d[key]`` as an object of strings (annotations, labels)."""
    m = obj(d, key, path)
    for k, v in m.items():
        if not isinstance(v, str):
            raise wrong(path, f"{key}.{k}", "a string", v)
    return m
