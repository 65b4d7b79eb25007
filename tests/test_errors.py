"""Every exception class secengine defines derives from SecengineError (one hierarchy).

The test imports every module of the package and walks the classes defined
there, so a new error class that forgets the base fails here. Classes whose
name starts with ``_`` are private control flow: raised and caught inside
their own module, never seen by a caller, and exempt.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import secengine
from secengine.errors import SecengineError


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(secengine.__path__, "secengine."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_the_walk_finds_the_package_errors() -> None:
    names = {cls.__name__ for cls in _exception_classes()}
    assert {"SecengineError", "ConfigError", "SinkError", "BpfError", "ProfileError"} <= names


def test_every_error_class_derives_from_secengine_error() -> None:
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exception_classes()
        if not issubclass(cls, SecengineError)
    )
    assert outside == []


def test_builtin_bases_are_kept() -> None:
    """Callers that catch ValueError/RuntimeError keep catching what they caught."""
    from secengine.bpf.build import BuildError
    from secengine.sources.fieldmap import FieldMapError
    from secengine.sources.k8s_audit import AuditPayloadError
    from secengine.yamlbounds import YamlLimitError

    assert issubclass(AuditPayloadError, ValueError)
    assert issubclass(FieldMapError, ValueError)
    assert issubclass(YamlLimitError, ValueError)
    assert issubclass(BuildError, RuntimeError)
