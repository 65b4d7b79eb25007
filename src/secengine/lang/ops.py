"""What each comparison operator means, on Python values (libsinsp ``filter_compare.cpp``).

This is the reference semantics: the interpreter calls these functions, and
the compiler inlines equivalent expressions for the common operators and
calls these for the rest. Inputs are values already extracted (never
:data:`~secengine.events.MISSING`) and literals already parsed by the checker.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from secengine.lang.fielddefs import FieldKind
from secengine.lang.regex import Regex

__all__ = [
    "SCALAR_OPS",
    "as_bytes",
    "compare",
    "compile_glob",
    "ip_matcher",
    "ip_of",
    "pmatch",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str, casefold: bool = False) -> re.Pattern[str]:
    """Translate a C ``fnmatch`` pattern (flags 0: ``*`` crosses ``/``) into a regex.

    The translation is linear-time to match, however hostile the pattern: the
    text between stars has a fixed length, so the leftmost place of each middle
    part is always a right one, and each is matched inside an atomic group
    (``(?>.*?part)``) that is never retried. The naive ``.*a.*a.*b`` takes
    time that grows with the value's length to the power of the stars.
    Matching is O(len(value) * len(pattern)), as in Python's own ``fnmatch``.
    """
    parts: list[list[str]] = [[]]  # the regex pieces between stars
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            parts.append([])
        elif c == "?":
            parts[-1].append(".")
        elif c == "\\" and i < n:
            parts[-1].append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            j = i
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                parts[-1].append(re.escape(c))
            else:
                body = pattern[i:j]
                i = j + 1
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                parts[-1].append("[" + ("^" if neg else "") + body + "]")
        else:
            parts[-1].append(re.escape(c))
    texts = ["".join(p) for p in parts]
    if len(texts) == 1:
        regex = texts[0]
    else:
        first, *middle, last = texts
        regex = first + "".join(f"(?>.*?{m})" for m in middle if m) + ".*" + last
    flags = re.DOTALL | (re.IGNORECASE if casefold else 0)
    return re.compile(regex, flags)


def _components(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


@functools.lru_cache(maxsize=4096)
def _pmatch_patterns(patterns: tuple[str, ...]) -> tuple[tuple[Any, ...], ...]:
    compiled = []
    for p in patterns:
        comps: list[str | re.Pattern[str]] = []
        for c in _components(p):
            if any(ch in c for ch in "*?["):
                comps.append(compile_glob(c))
            else:
                comps.append(c)
        compiled.append(tuple(comps))
    return tuple(compiled)


def pmatch(value: str, patterns: tuple[str, ...]) -> bool:
    """True if some pattern's path components are a prefix of ``value``'s components."""
    vcomps = _components(value)
    for pcomps in _pmatch_patterns(patterns):
        if len(pcomps) > len(vcomps):
            continue
        for pc, vc in zip(pcomps, vcomps):
            if isinstance(pc, str):
                if pc != vc:
                    break
            elif pc.fullmatch(vc) is None:
                break
        else:
            return True
    return False


@functools.lru_cache(maxsize=65536)
def ip_of(value: Any) -> IPAddress | None:
    """Parse an extracted IP value (text or integer); None if it is not an address."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _ip_key(value: Any) -> tuple[int, int] | None:
    addr = ip_of(value)
    return None if addr is None else (addr.version, int(addr))


def ip_matcher(
    literals: tuple[Any, ...], *, negate: bool = False, many: bool = False
) -> Callable[[Any], bool]:
    """A fast test "address ``v`` equals one of these addresses or lies in one of these networks".

    Same meaning as ``compare("=", FieldKind.IP, v, lit)`` for any ``lit`` (or
    ``!=`` with ``negate``), with the literals reduced once to (version,
    network, mask) integers and the extracted text parsed once per distinct
    address (cached). With ``many``, ``v`` is a list and the test holds if it
    holds for any element (``fd.ip``: either end of the connection).
    """
    nets = []
    for lit in literals:
        if isinstance(lit, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            nets.append((lit.version, int(lit.network_address), int(lit.netmask)))
        else:
            full = (1 << lit.max_prefixlen) - 1
            nets.append((lit.version, int(lit), full))
    table = tuple(nets)
    key_of = _ip_key
    seen: dict[Any, bool] = {}  # answers per distinct address text, bounded below

    def compute(v: Any) -> bool:
        key = key_of(v)
        if key is None:
            return False
        version, x = key
        for nver, net, mask in table:
            if version == nver and x & mask == net:
                return not negate
        return negate

    def one(v: Any) -> bool:
        try:
            return seen[v]
        except KeyError:
            answer = compute(v)
            if len(seen) < 65536:
                seen[v] = answer
            return answer
        except TypeError:  # an unhashable value cannot be an address
            return False

    if not many:
        return one

    def any_of(values: Any) -> bool:
        for v in values:
            if one(v):
                return True
        return False

    return any_of


def as_bytes(value: Any) -> bytes:
    """Buffer fields may hold bytes or text (field-map events); compare them as bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def _ip_eq(v: Any, lit: object) -> bool:
    addr = ip_of(v)
    if addr is None:
        return False
    if isinstance(lit, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return addr.version == lit.version and addr in lit
    return addr == lit


def compare(op: str, kind: FieldKind, v: Any, lit: Any) -> bool:
    """Apply a scalar operator to one extracted value and one parsed literal."""
    if kind is FieldKind.IP or kind is FieldKind.NET:
        if op in ("=", "==", "in", "intersects"):
            return _ip_eq(v, lit)
        if op == "!=":
            return not _ip_eq(v, lit)
        raise ValueError(op)
    if kind is FieldKind.BUFFER:
        b = as_bytes(v)
        lb = lit if isinstance(lit, bytes) else as_bytes(lit)
        if op in ("=", "==", "in", "intersects"):
            return b == lb
        if op == "!=":
            return b != lb
        if op in ("contains", "bcontains"):
            return lb in b
        if op in ("startswith", "bstartswith"):
            return b.startswith(lb)
        if op == "endswith":
            return b.endswith(lb)
        raise ValueError(op)
    fn = SCALAR_OPS[op]
    return fn(v, lit)


def _regex(v: str, lit: Regex) -> bool:
    return lit.fullmatch(v)


SCALAR_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda v, lit: v == lit,
    "==": lambda v, lit: v == lit,
    "!=": lambda v, lit: v != lit,
    "<": lambda v, lit: v < lit,
    "<=": lambda v, lit: v <= lit,
    ">": lambda v, lit: v > lit,
    ">=": lambda v, lit: v >= lit,
    "in": lambda v, lit: v == lit,
    "intersects": lambda v, lit: v == lit,
    "contains": lambda v, lit: lit in v,
    "icontains": lambda v, lit: lit.lower() in v.lower(),
    "startswith": lambda v, lit: v.startswith(lit),
    "endswith": lambda v, lit: v.endswith(lit),
    "glob": lambda v, lit: compile_glob(lit).fullmatch(v) is not None,
    "iglob": lambda v, lit: compile_glob(lit, True).fullmatch(v) is not None,
    "regex": _regex,
    "pmatch": lambda v, lit: pmatch(v, (lit,)),
}
