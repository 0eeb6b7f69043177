"""Dict keys and set members, checked before anything hashes them.

Hashing a tuple visits every value in it, each time: tuples do not keep their hash. So a key
must be checked (nothing unhashable, not nested deep enough to make the C hash recurse past the
stack), and what it costs must be counted for the whole pickle, not per key: one big tuple,
memoized once, can be used as a key a million times for three bytes each.
"""

from __future__ import annotations

from typing import Any

from ckpt_tui.reader.unpickle.objects import PickleDataError

HASH_DEPTH = 32
"""Deepest nesting of tuples and frozensets in one key."""
MAX_KEY_VALUES = 10_000
"""Most values (the key, and everything inside it) in one key."""
DEFAULT_KEY_STEPS = 4_000_000
"""Most values in all the tuple and frozenset keys of one pickle, each use counted."""

_UNHASHABLE = frozenset({list, dict, set, bytearray})


class KeyCheck:
    """Checks the keys of one pickle at a time, with a budget of values visited in all.

    Strings, numbers and the reader's records cost nothing (their hash is one step, and each
    use costs an opcode); a tuple or frozenset costs every value in it, at every use.
    """

    __slots__ = ("budget", "steps")

    def __init__(self, steps: int = DEFAULT_KEY_STEPS) -> None:
        self.budget = steps
        """The values all keys of a pickle may hold (see :meth:`start`)."""
        self.steps = steps
        """What is left of the budget."""

    def start(self, steps: int) -> None:
        """Begin a new pickle with ``steps`` values to spend."""
        self.budget = self.steps = steps

    def check(self, value: Any) -> None:
        """Refuse a key that is unhashable, nested too deeply, too big, or over the budget."""
        kind = type(value)
        if kind is not tuple and kind is not frozenset:
            if kind in _UNHASHABLE:
                raise PickleDataError(f"unhashable {kind.__name__} used as a key")
            return
        pending = [(value, 0)]
        seen = 1
        while pending:
            item, depth = pending.pop()
            if item and depth >= HASH_DEPTH:
                raise PickleDataError("dict key or set member nested too deeply")
            seen += len(item)
            if seen > MAX_KEY_VALUES:
                raise PickleDataError("dict key or set member nested too deeply")
            for child in item:
                kind = type(child)
                if kind is tuple or kind is frozenset:
                    pending.append((child, depth + 1))
                elif kind in _UNHASHABLE:
                    raise PickleDataError(f"unhashable {kind.__name__} used as a key")
        self.steps -= seen
        if self.steps < 0:
            raise PickleDataError(
                f"dict keys and set members hold more than {self.budget} values in all"
                " (one big key used over and over?)"
            )

    def pairs(self, items: Any) -> dict[Any, Any]:
        """A dict from a dict or a list of (key, value) pairs (``OrderedDict(items)``)."""
        if type(items) is dict:
            return dict(items)
        if type(items) not in (list, tuple):
            raise PickleDataError("expected a list of pairs")
        out: dict[Any, Any] = {}
        for pair in items:
            if type(pair) not in (list, tuple) or len(pair) != 2:
                raise PickleDataError("expected a list of pairs")
            self.check(pair[0])
            out[pair[0]] = pair[1]
        return out

    def members(self, items: Any) -> list[Any]:
        """The members of a would-be set, each checked (``set(items)``)."""
        if type(items) not in (list, tuple, set, frozenset):
            raise PickleDataError("expected a sequence")
        for item in items:
            self.check(item)
        return list(items)
