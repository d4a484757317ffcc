"""`validate --crds` reads CRD patterns with RE2; the API server compiles and matches them
with Go's regexp. Here a small Go program (tests/golang.py, Debian's Go) answers
for each (pattern, value): refused or not, and matched or not; validate must say the
same, for every pattern of the real CRDs and for the syntax where RE2 and Go could
part (Perl look-arounds, `\\C`, `\\Z`, repeat counts, Unicode and POSIX classes)."""

from __future__ import annotations

import pytest

from renderer import validate, yamlcodec
from tests.golang import ask, go_stdlib  # noqa: F401  go_stdlib is a fixture
from tests.helpers import CRDS, REAL

pytestmark = pytest.mark.e2e

VALUES = ["", "a", "WARN", "abort", "demo-cnpg-main", "10Gi", "0 0 0 * * *", "s3://bucket/path", "1h30m",
          "postgresql.cnpg.io/v1", "A_b.c", "é", "192.168.0.1", "-x-", "a\nb"]
SYNTAX = [r"^(?i)(abort|warn)?$", r"^a(?i)b$", r"(?<=a)b", r"(?!a)b", r"\C", r"\\C", r"[\C]", r"\Z", r"\z",
          r"a{1000}", r"a{1001}", r"\pL+", r"\p{Greek}", r"[[:alpha:]]+", r"\Q.\E", r"(?P<n>a)", r"(a", r"a**",
          r"(?s)a.b", r"(?m)^b$", r"\d+", r"[^\x00-\x7f]", r"\x{e9}", r"(?U)a+"]


def crd_patterns() -> list[str]:
    """Every `pattern` in the real CRDs: CNPG's and kube-prometheus-stack's."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in [*sorted(CRDS.glob("*.yaml")), REAL / "kube-prometheus-stack-with-crds.yaml"]:
        for doc in yamlcodec.load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                walk(doc)
    return sorted(found)


def go_answers(binary, questions: list[tuple[str, str]]) -> list[tuple[bool, bool]]:
    return [(not a["error"], a["match"]) for a in ask(binary, "regexp", questions)]


def our_answers(questions: list[tuple[str, str]]) -> list[tuple[bool, bool]]:
    out = []
    for pattern, value in questions:
        refused = validate._re2_problem(pattern) is not None
        out.append((not refused, not refused and validate._re2(pattern).search(value) is not None))
    return out


@pytest.mark.parametrize("patterns", ["crds", "syntax"])
def test_validate_refuses_and_matches_patterns_as_go_does(go_stdlib, patterns):
    chosen = crd_patterns() if patterns == "crds" else SYNTAX
    assert len(chosen) > 20
    questions = [(p, v) for p in chosen for v in VALUES]
    ours, go = our_answers(questions), go_answers(go_stdlib, questions)
    assert [q for q, a, b in zip(questions, ours, go) if a != b] == []
    if patterns == "syntax":  # the table holds both sides of the line
        assert {accepted for accepted, _ in go} == {True, False}
