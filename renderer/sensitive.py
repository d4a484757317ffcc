"""Secret values are typed so that no message, repr or diff can leak them.

Every secret read in this process is also remembered, so that the one place that
writes messages (`renderer.guard`) can mask it in any text it is about to print,
whatever path the text took to get there (an exception from a library, a value
echoed by a YAML error): a second line of defence behind the type."""

from __future__ import annotations

MASK = "****"
# Shorter values would mask ordinary words in messages; a secret that short is no secret.
_MIN_REMEMBERED = 4
_seen: set[str] = set()


class Sensitive:
    """A string that only reveals itself through `reveal()`.

    Its repr and str are a mask, so an f-string in an error message, a dataclass repr
    or a log line can never print the value by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        if len(value) >= _MIN_REMEMBERED:
            _seen.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Sensitive('{MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def redact(text: str) -> str:
    """`text` with every secret value read so far replaced by the mask (longest first,
    so a secret that contains another is masked whole)."""
    for value in sorted(_seen, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text
