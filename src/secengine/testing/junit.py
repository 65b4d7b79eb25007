"""JUnit XML for CI: one ``<testsuite>`` per test file, one ``<testcase>`` per case.

The layout is the one pytest writes (``xunit2``) and CI systems read: a
failed expectation is a ``<failure>`` whose ``message`` is the one-line
summary and whose text is the full explanation; a file that cannot be
loaded, or a case that cannot run, is an ``<error>``. Missing rule coverage,
when required, is one more suite named ``rule coverage``.
"""

from __future__ import annotations

import datetime as _dt
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from secengine.testing.results import CaseResult, FileResult, RunResult

__all__ = ["junit_xml", "write_junit_xml"]


def junit_xml(run: RunResult, coverage_problems: list[str] | None = None) -> bytes:
    """The report as UTF-8 XML bytes."""
    root = ET.Element("testsuites", name="secengine test")
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    host = socket.gethostname()
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for fr in run.files:
        suite = _suite(root, fr.label, stamp, host)
        if fr.error is not None:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_classname(fr.label),
                name="(load)",
                file=fr.label,
                time="0.000",
            )
            err = ET.SubElement(case, "error", message=fr.error.splitlines()[0])
            err.text = fr.error
            _count(suite, totals, tests=1, errors=1, seconds=0.0)
            continue
        if fr.skipped is not None:  # skip_if_rules_missing: shown as skipped, not lost
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_classname(fr.label),
                name="(load)",
                file=fr.label,
                time="0.000",
            )
            ET.SubElement(case, "skipped", message=fr.skipped)
            _count(suite, totals, tests=1, skipped=1, seconds=0.0)
            continue
        for cr in fr.cases:
            _case(suite, fr, cr, totals)
    if coverage_problems:
        suite = _suite(root, "rule coverage", stamp, host)
        for problem in coverage_problems:
            case = ET.SubElement(
                suite, "testcase", classname="rule coverage", name=problem, time="0.000"
            )
            fail = ET.SubElement(case, "failure", message=problem)
            fail.text = problem
            _count(suite, totals, tests=1, failures=1, seconds=0.0)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{run.seconds:.3f}")
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


def write_junit_xml(
    path: str | Path, run: RunResult, coverage_problems: list[str] | None = None
) -> None:
    Path(path).write_bytes(junit_xml(run, coverage_problems))


def _suite(root: ET.Element, name: str, stamp: str, host: str) -> ET.Element:
    return ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests="0",
        failures="0",
        errors="0",
        skipped="0",
        time="0.000",
        timestamp=stamp,
        hostname=host,
    )


def _case(suite: ET.Element, fr: FileResult, cr: CaseResult, totals: dict[str, int]) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_classname(fr.label),
        name=cr.case.name,
        file=fr.label,
        line=str(cr.case.line),
        time=f"{cr.seconds:.3f}",
    )
    if cr.error is not None:
        err = ET.SubElement(case, "error", message=cr.summary)
        err.text = cr.report()
        _count(suite, totals, tests=1, errors=1, seconds=cr.seconds)
    elif cr.failures:
        fail = ET.SubElement(case, "failure", message=cr.summary)
        fail.text = cr.report()
        _count(suite, totals, tests=1, failures=1, seconds=cr.seconds)
    else:
        _count(suite, totals, tests=1, seconds=cr.seconds)


def _count(
    suite: ET.Element,
    totals: dict[str, int],
    *,
    tests: int = 0,
    failures: int = 0,
    errors: int = 0,
    skipped: int = 0,
    seconds: float,
) -> None:
    for key, n in (
        ("tests", tests),
        ("failures", failures),
        ("errors", errors),
        ("skipped", skipped),
    ):
        suite.set(key, str(int(suite.get(key, "0")) + n))
        totals[key] += n
    suite.set("time", f"{float(suite.get('time', '0')) + seconds:.3f}")


def _classname(label: str) -> str:
    """``rules/tests/x.ruletest.yaml`` → ``rules.tests.x`` (how CI UIs group cases)."""
    name = label.removesuffix(".ruletest.yaml")
    return name.replace("\\", "/").strip("/").replace("/", ".")
