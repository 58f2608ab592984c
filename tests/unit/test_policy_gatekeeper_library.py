"""Real Gatekeeper library templates (tests/fixtures/gatekeeper-library, see SOURCES.md there) through the
policy gate: every case of each library ``suite.yaml`` (gator's test format) gives the violations the library
expects — count and message — with the constraint's parameters and match, and ``data.inventory`` for the
referential uniqueingresshost template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit.model import ObjectRef
from portkit.policy import OpaUnavailableError, check_policies, ensure_opa, load_policies

LIBRARY = Path(__file__).resolve().parents[1] / "fixtures" / "gatekeeper-library" / "library" / "general"


def cases() -> list[Any]:
    out = []
    for suite_path in sorted(LIBRARY.glob("*/suite.yaml")):
        suite = yaml.safe_load(suite_path.read_text())
        for test in suite["tests"]:
            for case in test["cases"]:
                out.append(
                    pytest.param(
                        suite_path.parent, test, case, id=f"{suite_path.parent.name}/{test['name']}/{case['name']}"
                    )
                )
    return out


@pytest.fixture(scope="module")
def opa() -> Path:
    try:
        return ensure_opa(progress=lambda message: None)
    except OpaUnavailableError as exc:
        pytest.fail(f"the opa binary could not be built: {exc}")


def test_the_fixtures_are_there() -> None:
    names = {p.parent.name for p in LIBRARY.glob("*/suite.yaml")}
    assert names == {"allowedrepos", "block-loadbalancer-services", "requiredlabels", "uniqueingresshost"}
    assert len(cases()) >= 15


@pytest.mark.parametrize(("directory", "test", "case"), cases())
def test_gatekeeper_library_suite_case(opa: Path, directory: Path, test: dict[str, Any], case: dict[str, Any]) -> None:
    policies = load_policies([directory / test["template"], directory / test["constraint"]])
    assert len(policies.templates) == 1 and len(policies.constraints) == 1
    reviewed = yaml.safe_load((directory / case["object"]).read_text())
    others = [yaml.safe_load((directory / p).read_text()) for p in case.get("inventory", [])]
    result = check_policies([reviewed, *others], policies, opa=opa)
    mine = [v for v in result.violations if v.ref == ObjectRef.from_obj(reviewed)]
    assert all(v.engine == "gatekeeper" and v.action == "deny" for v in mine)
    for assertion in case["assertions"]:
        wanted = assertion.get("violations")
        pattern = assertion.get("message")
        hits = [v for v in mine if pattern is None or re.search(pattern, v.message)]
        if wanted in (True, "yes"):
            assert hits, (case["name"], [v.message for v in mine])
        elif wanted in (False, "no"):
            assert not hits, (case["name"], [v.message for v in hits])
        else:
            assert len(hits) == int(wanted), (case["name"], [v.message for v in mine])
