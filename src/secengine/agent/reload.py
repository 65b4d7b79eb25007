"""What a reload keeps, and the watcher that reloads when a rules or configuration file changes.

A reload builds a complete new engine (:func:`~secengine.assembly.engine_from_config`)
before anything changes; only the rule-related keys of the new configuration
are kept (:func:`kept_config`: the rules, the engine keys and the alert
formatting keys, which the new engine and the sinks' renderers take together,
see :meth:`~secengine.agent.evaluation.Evaluator.set_engine`); everything
else needs a restart.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from secengine.assembly import FORMATTER_KEYS
from secengine.config import AgentConfig, rules_file_paths

__all__ = ["RELOADED_KEYS", "FileWatcher", "fingerprint", "kept_config", "watched_files"]

_log = logging.getLogger("secengine.agent")

#: The configuration keys a reload takes from the new file: what the engine is built from
#: (rules, their selection and matching, the alert formatting) and the rate limiter.
RELOADED_KEYS = (
    "rules_files",
    "rules",
    "priority",
    "rule_matching",
    "append_output",
    "outputs",
    *FORMATTER_KEYS,
)


def kept_config(current: AgentConfig, new: AgentConfig) -> AgentConfig:
    """``current`` with ``new``'s rule-related keys (and warnings); the rest needs a restart."""
    keep = current.model_copy(update={k: getattr(new, k) for k in RELOADED_KEYS})
    keep._path = current.path
    keep._warnings = new._warnings
    return keep


def watched_files(cfg: AgentConfig) -> list[str]:
    """The rules files and directories, the files in them, and the configuration file."""
    paths = list(cfg.rules_files) + rules_file_paths(cfg)
    if cfg.path is not None:
        paths.append(cfg.path)
    return sorted(set(paths))


def fingerprint(paths: list[str], known: dict[str, Any] | None = None) -> dict[str, Any]:
    """(mtime, size, inode[, listing]) of every path; ``known`` entries are kept."""
    out: dict[str, Any] = {}
    for path in paths:
        if known is not None and path in known:
            out[path] = known[path]
            continue
        try:
            st = os.stat(path)
            entry: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
            if os.path.isdir(path):
                entry = (entry, tuple(sorted(os.listdir(path))))
        except OSError:
            entry = None
        out[path] = entry
    return out


class FileWatcher:
    """A thread that calls ``reload`` when a watched file changes (``watch_config_files``).

    ``config`` returns the configuration in force (a reload may change the
    rules files watched); ``seen`` is the fingerprint taken before the rules
    were first read, so a change made meanwhile is seen.
    """

    def __init__(
        self,
        config: Callable[[], AgentConfig],
        reload: Callable[[], object],
        stop: threading.Event,
        interval: float,
    ) -> None:
        self._config = config
        self._reload = reload
        self._stop = stop
        self._interval = interval
        self._thread: threading.Thread | None = None

    def snapshot(self, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fingerprint of the files watched now."""
        return fingerprint(watched_files(self._config()), known)

    def start(self, seen: dict[str, Any]) -> None:
        self._thread = threading.Thread(
            target=self._watch, args=(seen,), name="secengine-watch", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _watch(self, seen: dict[str, Any]) -> None:
        while not self._stop.wait(self._interval):
            now = self.snapshot()
            if now != seen:
                _log.info("a configuration or rules file changed: reloading the rules")
                self._reload()
                # files the reload now reads start from what was seen before it read them,
                # so a change made during the reload triggers another one
                seen = self.snapshot(known=now)
