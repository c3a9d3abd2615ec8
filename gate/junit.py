"""JUnit XML for CI systems: one testcase per threshold and per regression check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from domain.thresholds import format_value
from gate.evaluate import Outcome, Regression, SloOutcome


def _case(suite: ET.Element, classname: str, name: str, failure: str | None, output: str,
          skipped: bool = False) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if skipped:
        ET.SubElement(case, "skipped", message=output)
    elif failure is not None:
        ET.SubElement(case, "failure", message=failure, type="breach").text = failure
    ET.SubElement(case, "system-out").text = output


def build(outcomes: list[Outcome], regressions: list[Regression], results: str,
          max_regression: float | None, slos: list[SloOutcome] | None = None) -> ET.ElementTree:
    slos = slos or []
    failures = (sum(not o.passed for o in outcomes) + sum(r.regressed for r in regressions)
                + sum(not s.compliant for s in slos))
    tests = len(outcomes) + len(regressions) + len(slos)
    skipped = sum(o.skipped for o in outcomes)
    root = ET.Element("testsuites", name="yanxiu check", tests=str(tests), failures=str(failures))
    suite = ET.SubElement(root, "testsuite", name=f"yanxiu check {results}", tests=str(tests),
                          failures=str(failures), errors="0", skipped=str(skipped), time="0")
    for o in outcomes:
        if o.skipped:
            _case(suite, "thresholds", o.threshold.text, None, f"no metric {o.threshold.metric}", True)
            continue
        actual = "n/a" if o.actual is None else format_value(o.actual, o.threshold.unit)
        text = f"{o.threshold.metric} = {actual}"
        if o.range is not None:
            text += (f" at {o.judged_at} of its 90% range [{format_value(o.range.p05, o.threshold.unit)}, "
                     f"{format_value(o.range.p95, o.threshold.unit)}] (central "
                     f"{format_value(o.range.central, o.threshold.unit)})")
        _case(suite, "thresholds", o.threshold.text, None if o.passed else f"breach: {text}", text)
    for s in slos:
        _case(suite, "slo", s.name, None if s.compliant else f"missed: {s.detail}", s.detail)
    for r in regressions:
        text = f"{r.metric}: baseline {r.baseline:.6g}, now {r.current:.6g}, {r.describe()}"
        limit = f" (limit {max_regression:.1%})" if max_regression is not None else ""
        _case(suite, "regression", r.metric, f"regression: {text}{limit}" if r.regressed else None, text)
    ET.indent(root)
    return ET.ElementTree(root)


def write(path: str | Path, tree: ET.ElementTree) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
