"""Find the data directories shipped with secengine (``grammars``, ``rules``, ``samples``).

In a wheel they live inside the package (``secengine/grammars``...); in a
source checkout or an editable install they are at the top of the repository.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(name: str) -> Path:
    """The directory ``name`` (``grammars``, ``rules`` or ``samples``) shipped with secengine."""
    packaged = Path(str(resources.files("secengine"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"secengine data directory {name!r} is missing from the installation")
