"""record: dataclass semantics with shared methods (see renderer/records.py)."""

from __future__ import annotations

import dataclasses

import pytest

from renderer.records import record


@record(frozen=True)
class Point:
    """A frozen record."""

    x: int
    y: int = 0
    note: str = dataclasses.field(default="", compare=False, repr=False)


@record
class Box:
    """A mutable record."""

    items: list = dataclasses.field(default_factory=list)


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
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y
    assert dataclasses.replace(point, x=5) == Point(5)


def test_comparison_with_another_type_is_not_equal():
    assert Point(1) != (1, 0) and Point(1) != Box()
