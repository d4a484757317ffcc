"""record: dataclass semantics with shared methods and no `dataclasses` (see renderer/records.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from renderer.records import FrozenInstanceError, field, fields, record, replace


@record(frozen=True)
class Point:
    """A frozen record."""

    x: int
    y: int = 0
    note: str = field(default="", compare=False, repr=False)


@record
class Box:
    """A mutable record."""

    items: list = field(default_factory=list)


def test_repr_shows_fields_marked_for_repr():
    assert repr(Point(1, 2, "hidden")) == "Point(x=1, y=2)"


def test_equality_and_hash_follow_compared_fields():
    assert Point(1, 2, "a") == Point(1, 2, "b") and hash(Point(1, 2, "a")) == hash(Point(1, 2, "b"))
    assert Point(1, 2) != Point(2, 1)
    assert Box([1]) == Box([1]) and Box([1]) != Box([2])


def test_mutable_records_are_unhashable_like_dataclasses():
    with pytest.raises(TypeError):
        hash(Box())


def test_frozen_fields_cannot_change_or_go():
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2
    with pytest.raises(FrozenInstanceError):
        del point.y
    assert replace(point, x=5) == Point(5)


def test_comparison_with_another_type_is_not_equal():
    assert Point(1) != (1, 0) and Point(1) != Box()


def test_construction_takes_positions_keywords_defaults_and_factories():
    assert (Point(1, y=2).y, Point(x=3).note, Box().items is not Box().items) == (2, "", True)
    assert [f.name for f in fields(Point)] == ["x", "y", "note"]
    for bad in (lambda: Point(), lambda: Point(1, 2, "n", 4), lambda: Point(1, x=1), lambda: Point(1, z=1)):
        with pytest.raises(TypeError):
            bad()


def test_a_subclass_record_has_its_base_fields_first():
    @record
    class Labelled(Box):
        label: str = "x"

    assert [f.name for f in fields(Labelled)] == ["items", "label"] and Labelled([1], "y").label == "y"


def test_the_plain_render_path_imports_neither_dataclasses_nor_inspect():
    code = ("import sys; from renderer.entry import plain_render; import renderer.render, renderer.overlay; "
            "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_a_dataclasses_field_is_refused_where_it_would_silently_become_the_default():
    import dataclasses

    with pytest.raises(TypeError, match=re.escape("renderer.records.field")):
        @record
        class Wrong:
            items: list = dataclasses.field(default_factory=list)


def test_post_init_runs_after_the_fields_are_set():
    @record(frozen=True)
    class Normalised:
        name: str

        def __post_init__(self) -> None:
            object.__setattr__(self, "name", self.name.lower())

    assert Normalised("ABC").name == "abc"
