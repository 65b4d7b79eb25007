"""Our ctypes binding of libbpf: one signature table, errno -> BpfError, clear sentences."""

from __future__ import annotations

import ctypes
import errno

import pytest

from secengine.bpf import _libbpf
from secengine.bpf.errors import BpfError, BpfUnavailableError


def test_every_signature_exists_in_libbpf() -> None:
    lib = _libbpf.lib()
    for name, (argtypes, restype, _style, proto) in _libbpf.SIGNATURES.items():
        fn = getattr(lib, name)
        assert fn.argtypes == argtypes and fn.restype == restype
        assert name in proto


def test_negative_errno_becomes_a_bpf_error_with_a_hint() -> None:
    lib = _libbpf.lib()
    key = ctypes.c_uint32(0)
    value = ctypes.c_uint64(0)
    with pytest.raises(BpfError) as info:
        lib.bpf_map_lookup_elem(-1, ctypes.byref(key), ctypes.byref(value))
    assert info.value.errno == errno.EBADF
    assert info.value.call == "bpf_map_lookup_elem"
    assert "bpf_map_lookup_elem failed" in str(info.value)


def test_null_with_errno_becomes_a_bpf_error() -> None:
    with pytest.raises(BpfError, match="bpf_object__open_file failed"):
        _libbpf.lib().bpf_object__open_file(b"/nonexistent/probe.bpf.o", None)


def test_permission_errors_say_to_run_as_root() -> None:
    e = _libbpf.error_for("bpf_object__load", errno.EPERM)
    assert isinstance(e, BpfUnavailableError)
    assert "run as root" in str(e)


def test_missing_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_libbpf, "LIBRARY", "libbpf-does-not-exist.so.9")
    monkeypatch.setattr(_libbpf, "_lib", None)
    with pytest.raises(BpfUnavailableError, match="install libbpf 1.x"):
        _libbpf.lib()
