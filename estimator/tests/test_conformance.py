"""The conformance corpus of packages/contracts, judged by the validators this service runs.

Every case of `fixtures/conformance.json` goes through both of the estimator's validators (`fastjsonschema`,
which decides, and `jsonschema`, which explains) against the same generated schema files Ajv reads on the
TypeScript side (src/conformance.test.ts there). A verdict that differs from the corpus fails here, so the
two languages cannot drift apart on a value one of them accepts and the other dead-letters.
"""

from __future__ import annotations

import copy
import json
import sys
from collections import Counter
from typing import Any

import pytest

from estimator.serde import SchemaCheck, validator_for
from tests.support import CONTRACTS_DIR, REPO_ROOT

CORPUS_FILE = REPO_ROOT / "packages" / "contracts" / "fixtures" / "conformance.json"
CORPUS: dict[str, Any] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
SCHEMAS = sorted(CORPUS["documents"])


def with_field(document: Any, field: str, value: Any) -> Any:
    copied = copy.deepcopy(document)
    node = copied
    parts = field.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copied


def show(case: dict[str, Any]) -> str:
    verdict = "valid" if case["valid"] else "invalid"
    return f"{case['schema']} {case['field']} = {case['value']!r} ({case['why']}): expected {verdict}"


def test_the_corpus_holds_hundreds_of_cases(capsys: pytest.CaptureFixture[str]) -> None:
    count = len(CORPUS["cases"])
    with capsys.disabled():
        # The count in the test log, as the TypeScript side prints it (print() is banned by ruff).
        sys.stdout.write(
            f"\nconformance corpus: {count} cases over {len(SCHEMAS)} schemas (jsonschema + fastjsonschema)\n"
        )
    assert count > 500
    assert set(Counter(case["schema"] for case in CORPUS["cases"])) == set(SCHEMAS)


def test_json_escapes_of_lone_surrogates_become_one_code_point() -> None:
    lone = next(case for case in CORPUS["cases"] if case["why"] == "lone high surrogate")
    assert lone["value"] == "\ud800"
    assert len(lone["value"]) == 1
    with pytest.raises(UnicodeEncodeError):
        lone["value"].encode("utf-8")


@pytest.mark.parametrize("schema_name", SCHEMAS)
def test_both_python_validators_reach_the_corpus_verdict(schema_name: str) -> None:
    schema = json.loads((CONTRACTS_DIR / f"{schema_name}.json").read_text(encoding="utf-8"))
    explain = validator_for(schema)
    fast = SchemaCheck(schema)
    base = CORPUS["documents"][schema_name]
    assert fast.violation(base) is None
    cases = [case for case in CORPUS["cases"] if case["schema"] == schema_name]
    wrong: list[str] = []
    for case in cases:
        document = with_field(base, case["field"], case["value"])
        if explain.is_valid(document) != case["valid"]:
            wrong.append(f"jsonschema: {show(case)}")
        if (fast.violation(document) is None) != case["valid"]:
            wrong.append(f"fastjsonschema: {show(case)}")
    assert wrong == []
    assert cases
