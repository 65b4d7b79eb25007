"""Synchronous readers of the files each runtime writes before it starts a container.

- :mod:`.base`: the reader interface and its error;
"""

from secengine.state.containers.files.base import FileError, RuntimeFiles

__all__ = ["FileError", "RuntimeFiles"]
