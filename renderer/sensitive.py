"""Secret values are typed so that no message, repr or diff can leak them."""

from __future__ import annotations


class Sensitive:
    """A string that only reveals itself through `reveal()`.

    Its repr and str are a mask, so an f-string in an error message, a dataclass repr
    or a log line can never print the value by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Sensitive('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
