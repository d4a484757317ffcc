"""Records are visible to type checkers: `renderer.records.record` is a
`dataclass_transform`, so mypy checks a record's constructor as it would a dataclass's.
(`make lint` runs mypy over the package; this shows the checks it relies on can fail.)"""

import pytest

mypy_api = pytest.importorskip("mypy.api")

RECORD = """
from renderer.records import field, record

@record(frozen=True)
class Point:
    x: int
    label: str = "origin"
    tags: list[str] = field(default_factory=list)
"""


def mypy_errors(code: str, tmp_path) -> list[str]:
    config = tmp_path / "mypy.ini"  # the project's config names the package to check, which -c cannot go with
    config.write_text("[mypy]\nignore_missing_imports = True\n")
    out, _, _ = mypy_api.run(["--config-file", str(config), "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                              "-c", RECORD + code])
    return [line for line in out.splitlines() if ": error:" in line]


def test_a_record_constructed_as_declared_type_checks(tmp_path):
    assert mypy_errors("Point(1)\nPoint(x=2, label='a', tags=['b'])\n", tmp_path) == []


def test_a_record_given_a_wrong_type_is_a_type_error(tmp_path):
    errors = mypy_errors("Point(x='one')\n", tmp_path)
    assert len(errors) == 1 and 'incompatible type "str"; expected "int"' in errors[0]


def test_a_record_missing_a_required_field_is_a_type_error(tmp_path):
    errors = mypy_errors("Point(label='a')\n", tmp_path)
    assert len(errors) == 1 and 'Missing positional argument "x"' in errors[0]


def test_a_frozen_record_cannot_be_assigned(tmp_path):
    errors = mypy_errors("p = Point(1)\np.x = 2\n", tmp_path)
    assert len(errors) == 1 and "read-only" in errors[0]
