"""Golden tests: every folder under fixtures/golden/ is a case rendered by the real CLI.

A case holds `input.yaml` (or `input.ref`, naming a file of ../shared/fixtures/real),
`overlay.yaml`, `expected.yaml`, and optionally `args` (one CLI argument per line) and
`expected.stderr`. `make fixtures` (CNPG_RENDER_REGEN=1) rewrites the expectations for
review when a change is intended."""

from __future__ import annotations

import os

import pytest

from renderer import validate
from renderer.render import cnpg_documents
from tests.helpers import CRDS, FIXTURES, REAL, REPO, run_cli

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


def render_case(case):
    args = ["render", "--overlay", str(case / "overlay.yaml"), *[a for a in case_args(case) if a]]
    return run_cli(*args, stdin=case_input(case))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case_renders_as_expected(case):
    result = render_case(case)
    assert result.returncode == 0, result.stderr.decode()
    if REGEN:
        (case / "expected.yaml").write_bytes(result.stdout)
        stderr = result.stderr.decode()
        (case / "expected.stderr").write_text(stderr) if stderr else (case / "expected.stderr").unlink(missing_ok=True)
    assert result.stdout == (case / "expected.yaml").read_bytes()
    expected_stderr = case / "expected.stderr"
    assert result.stderr.decode() == (expected_stderr.read_text() if expected_stderr.exists() else "")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case_is_idempotent(case):
    """Rendering the output again with the same overlay gives the same bytes."""
    first = render_case(case)
    args = ["render", "--overlay", str(case / "overlay.yaml"), *[a for a in case_args(case) if a]]
    second = run_cli(*args, stdin=first.stdout)
    assert second.returncode == 0, second.stderr.decode()
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
