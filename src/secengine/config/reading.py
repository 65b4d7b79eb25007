"""Reading a configuration file: YAML (bounded) → plain values, with each key's line and column.

``${NAME}`` in a string value is replaced by the environment variable
``NAME`` (``$${`` is a literal ``${``), as Falco does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from secengine.config.problems import ConfigFileError, Marks
from secengine.yamlbounds import YamlLimitError, compose_all

__all__ = ["load_yaml", "plain", "read_file"]

_ENV = re.compile(r"\$\$\{|\$\{([^}]*)\}")


def _expand_env(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        return os.environ.get(m.group(1), "")

    return _ENV.sub(sub, text)


def plain(node: Any, path: tuple[Any, ...], marks: Marks) -> Any:
    """ruamel's nodes → plain Python values, recording each key's (line, column)."""
    lc = getattr(node, "lc", None)
    if isinstance(node, Mapping):
        out: dict[Any, Any] = {}
        for k, v in node.items():
            key = str(k) if not isinstance(k, (str, int)) else k
            if lc is not None:
                try:
                    line, col = lc.key(k)
                    marks[path + (key,)] = (line + 1, col + 1)
                except (KeyError, TypeError):
                    pass
            out[key] = plain(v, path + (key,), marks)
        return out
    if isinstance(node, list):
        items = []
        for i, v in enumerate(node):
            if lc is not None:
                try:
                    line, col = lc.item(i)
                    marks[path + (i,)] = (line + 1, col + 1)
                except (KeyError, TypeError):
                    pass
            items.append(plain(v, path + (i,), marks))
        return items
    if isinstance(node, str):
        return _expand_env(str(node))
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def load_yaml(text: str) -> Any:
    """The YAML value of ``text``, its aliases and depth bounded first (``yamlbounds``):
    the values are walked into plain dicts and lists, which would expand a billion laughs."""
    compose_all(YAML(typ="safe", pure=True), text)
    return YAML(typ="rt").load(text)


def read_file(path: str, marks: Marks) -> dict[str, Any]:
    """The mapping in file ``path`` as plain values; ``marks`` receives each key's position."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        reason = f"cannot read the configuration file: {e.strerror or e}"
        raise ConfigFileError([(path, "", reason)]) from e
    try:
        data = load_yaml(text)
    except YamlLimitError as e:
        raise ConfigFileError([(e.where(path), "", e.message)]) from None
    except MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        raise ConfigFileError([(where, "", f"invalid YAML: {e.problem}")]) from e
    except YAMLError as e:
        raise ConfigFileError([(path, "", f"invalid YAML: {e}")]) from e
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigFileError([(path, "", "the configuration must be a YAML mapping")])
    return plain(data, (), marks)  # type: ignore[no-any-return]
