"""Golden tests: every folder under fixtures/golden/ is a case rendered by the real CLI.

A case holds `input.yaml` (or `input.ref`, naming a file of ../shared/fixtures/real),
`overlay.yaml`, `expected.yaml`, `changes.txt` (what the render changes, object by
object: the small expectation to review, see helpers.changes), and optionally `args`
(one CLI argument per line) and `expected.stderr`. `make fixtures`
(CNPG_RENDER_REGEN=1) rewrites the expectations for review when a change is intended.
Every test first asserts that the render succeeded and changed something, so none
can pass on an empty or untouched output."""

from __future__ import annotations

import os

import pytest

from renderer import validate
from renderer.render import cnpg_documents
from tests.helpers import CRDS, FIXTURES, REAL, REPO, changes, run_cli

GOLDEN = FIXTURES / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir()) if GOLDEN.exists() else []
REGEN = os.environ.get("CNPG_RENDER_REGEN") == "1"


def case_input(case) -> bytes:
    """`input.ref` names a real render: in ../shared/fixtures/real/, or under this
    repository's fixtures/ (the TrueCharts renders of fixtures/truecharts/)."""
    ref = case / "input.ref"
    if ref.exists():
        name = ref.read_text().strip()
        return (REPO / name if name.startswith("fixtures/") else REAL / name).read_bytes()
    return (case / "input.yaml").read_bytes()


def case_args(case) -> list[str]:
    args_file = case / "args"
    return args_file.read_text().split("\n") if args_file.exists() else []


def render_case(case, stdin: bytes | None = None):
    """The case rendered by the real CLI; it must succeed and change the input."""
    args = ["render", "--overlay", str(case / "overlay.yaml"), *[a for a in case_args(case) if a]]
    given = case_input(case) if stdin is None else stdin
    result = run_cli(*args, stdin=given)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout and (stdin is not None or result.stdout != given), "the render changed nothing"
    return result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case_renders_as_expected(case):
    result = render_case(case)
    summary = "\n".join(changes(case_input(case), result.stdout)) + "\n"
    if REGEN:
        (case / "expected.yaml").write_bytes(result.stdout)
        (case / "changes.txt").write_text(summary)
        stderr = result.stderr.decode()
        (case / "expected.stderr").write_text(stderr) if stderr else (case / "expected.stderr").unlink(missing_ok=True)
    assert summary == (case / "changes.txt").read_text() and summary.strip()
    assert result.stdout == (case / "expected.yaml").read_bytes()
    expected_stderr = case / "expected.stderr"
    assert result.stderr.decode() == (expected_stderr.read_text() if expected_stderr.exists() else "")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case_is_idempotent(case):
    """Rendering the output again with the same overlay gives the same bytes."""
    first = render_case(case)
    second = render_case(case, stdin=first.stdout)
    assert second.stdout == first.stdout


@pytest.fixture(scope="module")
def schemas():
    return validate.Schemas.from_dir(CRDS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_output_validates_against_the_crds_and_admission_rules(case, schemas):
    objects = list(cnpg_documents((case / "expected.yaml").read_bytes()))
    assert objects
    for index, obj in objects:
        assert schemas.covers(obj), obj.get("kind")
        assert validate.check(obj, schemas, index) == []
