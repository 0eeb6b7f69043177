"""The filter language of the TUI filter box and ``list --filter`` (docs/reference.md).

Space-separated terms, all must hold::

    dbnet                 word: case-insensitive, anywhere in exp_name, architecture, backbone, path
    arch:dbnet            field:text — within one text field (numbers: equality)
    arch=dbnet            exact text (case-insensitive); != for "not exactly"
    hmean>0.8             compare a number: > >= < <= = != on hmean, precision, recall, epoch,
                          step, size (size takes 100MB / 1.5GiB / 2k suffixes)
    -last                 any term prefixed by - is negated
    "my run"  exp:"a b"   quotes keep spaces together
    safety:unsafe         the file's safety verdict, exactly: safe, unsafe, code, unchecked,
                          unreadable (safety!=safe: any other verdict)
    has:sidecar           presence: sidecar, config, issues (errors or warnings), errors,
                          warnings, security (a security issue, or an unsafe or code verdict),
                          notes (info), or any field
    is:best               the best checkpoint of each experiment (run folder) among the other
                          matches: its monitored metric in its mode, else the highest hmean

A null value never satisfies a comparison (``hmean>0.5`` and ``hmean!=0.5`` are both false for an
entry without hmean); negating the term makes it true. Use :meth:`EntryFilter.select` to apply a
whole expression (``is:best`` needs the set of entries); :meth:`EntryFilter.matches` judges one
entry on its own and ignores ``is:best``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ckpt_tui.catalog.sort import experiment_best
from ckpt_tui.model.entry import SAFETY_VALUES, CheckpointCatalogEntry
from ckpt_tui.sources.path import run_folder

Entry = CheckpointCatalogEntry
Predicate = Callable[[Entry], bool]


class FilterError(ValueError):
    """An invalid filter expression; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        """What is wrong, in one line."""
        self.position = position
        """0-based character offset into the expression."""

    def __str__(self) -> str:
        return f"{self.message} (at column {self.position + 1})"


def _text(getter: Callable[[Entry], object]) -> Callable[[Entry], str | None]:
    def get(entry: Entry) -> str | None:
        value = getter(entry)
        return None if value is None else str(value)

    return get


def _issue_text(entry: Entry) -> str | None:
    if not entry.issues:
        return None
    return " ".join(f"{i.severity} {i.code} {i.message}" for i in entry.issues)


#: Text fields: canonical name → getter.
TEXT_FIELDS: dict[str, Callable[[Entry], str | None]] = {
    "exp": _text(lambda e: e.exp_name or None),
    "arch": _text(lambda e: e.architecture),
    "backbone": _text(lambda e: e.backbone),
    "path": _text(lambda e: e.checkpoint_path),
    "monitor": _text(lambda e: e.monitor),
    "mode": _text(lambda e: e.monitor_mode),
    "source": _text(lambda e: e.source),
    "format": _text(lambda e: e.format),
    "sidecar": _text(lambda e: e.sidecar_path),
    "config": _text(lambda e: e.config_path),
    "created": _text(lambda e: e.created_at),
    "decoder": _text(lambda e: e.decoder),
    "head": _text(lambda e: e.head),
    "loss": _text(lambda e: e.loss),
    "wandb": _text(lambda e: e.wandb_run_id),
    "issue": _issue_text,
}

#: Numeric fields: canonical name → getter.
NUMBER_FIELDS: dict[str, Callable[[Entry], float | int | None]] = {
    "hmean": lambda e: e.hmean,
    "precision": lambda e: e.precision,
    "recall": lambda e: e.recall,
    "epoch": lambda e: e.epoch,
    "step": lambda e: e.global_step,
    "size": lambda e: e.size_bytes,
    "value": lambda e: e.monitor_value,
    "val_loss": lambda e: e.validation_loss,
    "max_epochs": lambda e: e.max_epochs,
}

#: Other spellings accepted for field names.
ALIASES: dict[str, str] = {
    "exp_name": "exp",
    "experiment": "exp",
    "name": "exp",
    "architecture": "arch",
    "encoder": "backbone",
    "enc": "backbone",
    "checkpoint_path": "path",
    "file": "path",
    "sidecar_path": "sidecar",
    "config_path": "config",
    "created_at": "created",
    "issues": "issue",
    "prec": "precision",
    "rec": "recall",
    "ep": "epoch",
    "global_step": "step",
    "size_bytes": "size",
    "monitor_value": "value",
    "validation_loss": "val_loss",
}

_PRESENCE: dict[str, Predicate] = {
    "sidecar": lambda e: e.sidecar_path is not None,
    "config": lambda e: e.config_path is not None,
    "issues": lambda e: any(i.severity in ("error", "warning") for i in e.issues),
    "notes": lambda e: any(i.severity == "info" for i in e.issues),
    "errors": lambda e: any(i.severity == "error" for i in e.issues),
    "warnings": lambda e: any(i.severity == "warning" for i in e.issues),
    "security": lambda e: (
        e.safety in ("unsafe", "code") or any(i.code.startswith("security") for i in e.issues)
    ),
}

_WORD_FIELDS = ("exp", "arch", "backbone", "path")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    ":": operator.eq,
}
_FIELD_TERM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(>=|<=|!=|>|<|=|:)")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")


@dataclass(frozen=True)
class Term:
    """One parsed term: a predicate, whether it is negated, and where it was typed."""

    text: str
    """The term as typed."""
    position: int
    """0-based offset of the term in the expression."""
    predicate: Predicate
    """Judges one entry (before negation)."""
    negated: bool = False
    """Whether the term started with ``-``."""

    def holds(self, entry: Entry) -> bool:
        """Whether the term holds for ``entry``, negation included."""
        return self.predicate(entry) != self.negated


@dataclass(frozen=True)
class EntryFilter:
    """A parsed filter expression. The empty filter matches everything."""

    expression: str = ""
    """The expression as typed."""
    terms: tuple[Term, ...] = ()
    """Per-entry terms, all of which must hold."""
    best: bool | None = None
    """``True`` for ``is:best``, ``False`` for ``-is:best``, ``None`` when absent."""

    @property
    def is_empty(self) -> bool:
        """Whether the filter lets every entry through."""
        return not self.terms and self.best is None

    def matches(self, entry: Entry) -> bool:
        """Whether every per-entry term holds for ``entry`` (``is:best`` is not judged here)."""
        return all(term.holds(entry) for term in self.terms)

    def select(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries the whole expression keeps, in their given order."""
        kept = [entry for entry in entries if self.matches(entry)] if self.terms else list(entries)
        if self.best is None:
            return kept
        best_ids = {id(entry) for entry in best_per_experiment(kept)}
        return [entry for entry in kept if (id(entry) in best_ids) == self.best]


def parse_filter(expr: str) -> EntryFilter:
    """Parse a filter expression; raises :class:`FilterError` pointing at the bad term."""
    terms: list[Term] = []
    best: bool | None = None
    for raw, position in _tokenize(expr):
        negated = raw.startswith("-")
        body, body_pos = (raw[1:], position + 1) if negated else (raw, position)
        if not body:
            raise FilterError("nothing after '-'", position)
        match = None if body.startswith(("'", '"')) else _FIELD_TERM.match(body)
        if match is None and body.startswith(("<", ">", "=", "!=")):
            raise FilterError(f"'{body}' needs a field before it (e.g. hmean>0.8)", body_pos)
        if match is None:
            terms.append(Term(raw, position, _word_predicate(_unquote(body)), negated))
            continue
        name, op = match.group(1), match.group(2)
        value = _unquote(body[match.end() :])
        value_pos = body_pos + match.end()
        if not value:
            raise FilterError(f"no value after '{name}{op}'", value_pos)
        key = name.lower()
        if key == "is":
            if op != ":" or value.lower() != "best":
                raise FilterError("only 'is:best' is known", body_pos)
            best = not negated
            continue
        predicate = _field_predicate(key, name, op, value, body_pos, value_pos)
        terms.append(Term(raw, position, predicate, negated))
    return EntryFilter(expression=expr, terms=tuple(terms), best=best)


def best_per_experiment(entries: Sequence[Entry]) -> list[Entry]:
    """The best entry of each experiment (run folder), in the given order.

    The rule of :func:`~ckpt_tui.catalog.sort.experiment_best`: the experiment's monitored
    metric in its mode, else the highest hmean. Ties: a file over a link, then the more recent.
    An experiment where no entry has a value has no best.
    """
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(run_folder(entry.checkpoint_path), []).append(entry)
    chosen = {id(best) for best, _ in map(experiment_best, groups.values()) if best is not None}
    return [entry for entry in entries if id(entry) in chosen]


def parse_number(text: str, *, size: bool = False) -> float:
    """A number as typed in a filter; with ``size``, unit suffixes such as ``MB``/``GiB``."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    number, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        return number
    if not size or unit not in _SIZE_UNITS:
        raise ValueError(text)
    return number * _SIZE_UNITS[unit]


def _tokenize(expr: str) -> list[tuple[str, int]]:
    """Split on whitespace outside quotes; each token with its 0-based start."""
    tokens: list[tuple[str, int]] = []
    i, n = 0, len(expr)
    while i < n:
        if expr[i].isspace():
            i += 1
            continue
        start, quote, quote_pos = i, "", i
        while i < n and (quote or not expr[i].isspace()):
            char = expr[i]
            if quote and char == quote:
                quote = ""
            elif not quote and char in "'\"":
                quote, quote_pos = char, i
            i += 1
        if quote:
            raise FilterError("unterminated quote", quote_pos)
        tokens.append((expr[start:i], start))
    return tokens


def _unquote(text: str) -> str:
    """Remove the quote characters that grouped a value (``exp:"a b"`` → ``a b``)."""
    out: list[str] = []
    quote = ""
    for char in text:
        if quote and char == quote:
            quote = ""
        elif not quote and char in "'\"":
            quote = char
        else:
            out.append(char)
    return "".join(out)


def _word_predicate(word: str) -> Predicate:
    needle = word.casefold()
    getters = [TEXT_FIELDS[name] for name in _WORD_FIELDS]

    def predicate(entry: Entry) -> bool:
        for getter in getters:
            value = getter(entry)
            if value is not None and needle in value.casefold():
                return True
        return False

    return predicate


def _field_predicate(
    key: str, name: str, op: str, value: str, position: int, value_pos: int
) -> Predicate:
    if key == "has":
        return _presence_predicate(value, value_pos)
    if key in ("safety", "safe", "verdict"):
        return _safety_predicate(name, op, value, value_pos)
    canonical = ALIASES.get(key, key)
    if canonical in NUMBER_FIELDS:
        return _number_predicate(canonical, name, op, value, value_pos)
    if canonical in TEXT_FIELDS:
        return _text_predicate(canonical, name, op, value, position)
    known = ", ".join(sorted({*TEXT_FIELDS, *NUMBER_FIELDS, "safety"}))
    raise FilterError(f"unknown field '{name}' (fields: {known})", position)


def _presence_predicate(value: str, position: int) -> Predicate:
    wanted = value.lower()
    if wanted in _PRESENCE:
        return _PRESENCE[wanted]
    canonical = ALIASES.get(wanted, wanted)
    if canonical in NUMBER_FIELDS:
        number_getter = NUMBER_FIELDS[canonical]
        return lambda entry: number_getter(entry) is not None
    if canonical in TEXT_FIELDS:
        text_getter = TEXT_FIELDS[canonical]
        return lambda entry: text_getter(entry) is not None
    raise FilterError(f"has: does not know '{value}'", position)


def _safety_predicate(name: str, op: str, value: str, position: int) -> Predicate:
    # Exact, even after ":": "safety:safe" must never match an unsafe entry by substring.
    wanted = value.lower()
    if wanted not in SAFETY_VALUES:
        raise FilterError(f"{name} is one of {', '.join(SAFETY_VALUES)}; got '{value}'", position)
    if op in (":", "="):
        return lambda entry: entry.safety == wanted
    if op == "!=":
        return lambda entry: entry.safety != wanted
    raise FilterError(f"'{name}' is a verdict: use {name}:VALUE or {name}!=VALUE", position)


def _number_predicate(canonical: str, name: str, op: str, value: str, position: int) -> Predicate:
    try:
        target = parse_number(value, size=canonical == "size")
    except ValueError:
        hint = " (e.g. 100MB)" if canonical == "size" else ""
        raise FilterError(f"{name} needs a number{hint}, got '{value}'", position) from None
    getter = NUMBER_FIELDS[canonical]
    compare = _OPS[op]

    def predicate(entry: Entry) -> bool:
        actual = getter(entry)
        # Null never satisfies a comparison, not even !=.
        return actual is not None and compare(actual, target)

    return predicate


def _text_predicate(canonical: str, name: str, op: str, value: str, position: int) -> Predicate:
    getter = TEXT_FIELDS[canonical]
    needle = value.casefold()
    if op == ":":
        return lambda entry: (text := getter(entry)) is not None and needle in text.casefold()
    if op == "=":
        return lambda entry: (text := getter(entry)) is not None and text.casefold() == needle
    if op == "!=":
        return lambda entry: (text := getter(entry)) is not None and text.casefold() != needle
    raise FilterError(f"'{name}' is text: use {name}:TEXT or {name}=TEXT, not '{op}'", position)
