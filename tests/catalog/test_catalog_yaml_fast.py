"""The fast sidecar YAML reader agrees with PyYAML's safe loader on everything it accepts.

Both of PyYAML's safe loaders are the reference: ``yaml.safe_load`` (pure Python) and libyaml's
``CSafeLoader`` (what the catalog falls back to). Characters that Python counts as white space or
line breaks but YAML does not (U+00A0, U+3000, U+2000-U+200A, U+FEFF), YAML's own line breaks
(U+2028, U+2029, U+0085, CR) and tabs are mixed into keys, values and indentation.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.io.safe_yaml import IMPLICIT_FIRST, dump_yaml, parse_yaml_document
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml

UNICODE_SPACES = ["\u00a0", "\u3000", *map(chr, range(0x2000, 0x200B)), "\ufeff"]
"""Text to YAML, white space to Python."""
LINE_BREAKS = ["\u2028", "\u2029", "\u0085", "\r"]
"""Line breaks to YAML (and to ``str.splitlines()``), not to a regex's ``$``."""
ODD = [*UNICODE_SPACES, *LINE_BREAKS, "\t"]


def safe_load(text: str) -> Any:
    """libyaml's safe loader, after checking the pure-Python one reads ``text`` the same."""
    value = yaml.load(text, Loader=yaml.CSafeLoader)
    assert repr(yaml.safe_load(text)) == repr(value), repr(text)
    return value


def agrees(text: str) -> Any:
    fast = parse_simple_yaml(text)
    if fast is FALLBACK:
        return FALLBACK
    # repr: types too (1 == 1.0 == True in Python)
    assert repr(fast) == repr(safe_load(text)), repr(text)
    return fast


def agrees_or_both_refuse(text: str) -> None:
    """The fast reader accepts ``text`` only if PyYAML does, and then reads the same value."""
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        assert parse_simple_yaml(text) is FALLBACK, repr(text)
        return
    fast = parse_simple_yaml(text)
    if fast is not FALLBACK:
        assert repr(fast) == repr(expected), repr(text)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.text(st.sampled_from([*ODD, "a", "b", " ", ":", "#", "-", "'"]), max_size=8),
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "OFF",
            "null",
            "~",
            "1e5",
            "-.5",
            ".5",
            "0o7",
            "010",
            "1_000",
            "2025-10-18",
            "2025-10-18T14:32:15",
            "<<",
            "=",
            "val/hmean",
            "a: b",
            "a #b",
            "- x",
            "'q'",
            '"d"',
            "",
            " lead",
            "trail ",
            "x:",
            "#c",
            "[1]",
            "{a: 1}",
            "&a",
            "*a",
            "!t",
        ]
    ),
)
keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,12}", fullmatch=True),
    st.text(max_size=8),
    st.text(st.sampled_from([*ODD, "k", "_", "-", " "]), min_size=1, max_size=6),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_dumped_documents_agree(data: Any) -> None:
    for text in (
        dump_yaml(data),
        yaml.dump(data, Dumper=yaml.SafeDumper, default_flow_style=False),
        yaml.dump(data, Dumper=yaml.SafeDumper, default_flow_style=False, indent=4),
    ):
        agrees(text)


@settings(max_examples=200)
@given(st.dictionaries(keys, documents, max_size=6))
def test_mappings_round_trip(data: dict[str, Any]) -> None:
    text = dump_yaml(data)
    value = agrees(text)
    if value is not FALLBACK:
        assert value == data


line_parts = st.sampled_from(
    [
        "a",
        "b",
        "key",
        "- ",
        "-",
        ": ",
        ":",
        " ",
        "  ",
        "'",
        '"',
        "#",
        "1",
        "0.5",
        "yes",
        "null",
        "\n",
        "\n  ",
        "\n    ",
        "\n- ",
        "{}",
        "[]",
        "x y",
        "\t",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "...",
        "---",
        "é",
        "\\",
        "''",
        *ODD,
        "\u3000- ",
        "\t- ",
        "a\u00a0",
        "\u3000a: 1",
        "\n\u3000 ",
        "\n \u00a0",
    ]
)


@settings(max_examples=1000)
@given(st.lists(line_parts, max_size=30).map("".join))
def test_arbitrary_text_agrees_or_falls_back(text: str) -> None:
    agrees_or_both_refuse(text)


SIDECAR_TEXT = dump_yaml(
    {
        "schema_version": "1.0",
        "exp_name": "run",
        "training": {"epoch": 3, "global_step": 120, "max_epochs": None},
        "model": {"encoder": {"model_name": "resnet50"}, "decoder": {"in_channels": [64, 128]}},
        "metrics": {"hmean": 0.84, "additional_metrics": {"val/loss": 0.5}},
    }
)


@settings(max_examples=500)
@given(st.lists(st.tuples(st.integers(0, len(SIDECAR_TEXT)), st.sampled_from(ODD)), max_size=3))
def test_a_sidecar_with_odd_characters_anywhere_agrees_or_falls_back(
    inserts: list[tuple[int, str]],
) -> None:
    # Into keys, values, indentation and line ends of a real sidecar's text.
    text = SIDECAR_TEXT
    for at, char in sorted(inserts, reverse=True):
        text = text[:at] + char + text[at:]
    agrees_or_both_refuse(text)


@pytest.mark.parametrize("char", ODD)
@pytest.mark.parametrize(
    "template",
    [
        "exp_name: {c}run\n",
        "exp_name: run{c}\n",
        "exp_name: {c}\n",
        "exp_name: a{c}b\nx: 1\n",
        "exp_name:{c}run\n",
        "exp_name: run\n{c}x: 1\n",
        "a:\n{c} b: 1\n",
        "a:\n  b: 1\n{c}\n",
        "a:\n- {c}x\n",
        "a:\n{c}- x\n",
        "{c}a: 1\n",
        "a{c}: 1\n",
        "a: '{c}q'\n",
        'a: "{c}q"\n',
        "a: x{c}#c\n",
        "a: 1{c}\n",
    ],
)
def test_each_odd_character_in_each_place(template: str, char: str) -> None:
    agrees_or_both_refuse(template.format(c=char))


def test_an_exception_inside_the_reader_is_a_fallback() -> None:
    # A ``str`` subclass whose ``count`` fails stands for a bug anywhere inside the reader.
    class Broken(str):
        def count(self, *args: Any) -> int:
            raise ValueError("a bug")

    assert parse_simple_yaml(Broken("a: 1\n")) is FALLBACK


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: &x 1\nb: *x\n",
        "a: [1, 2]\n",
        "a: |\n  text\n",
        "a: long\n  continued\n",
        "---\na: 1\n",
        "a: 1 # comment\n",
        "a:\tb\n",
        "a: 2025-10-18\n",
        "a: 0x10\n",
        "a: .inf\n",
        "? a\n: b\n",
        "- a: 1\n",
        "a: 'open\n",
    ],
)
def test_outside_the_subset_falls_back(text: str) -> None:
    assert parse_simple_yaml(text) is FALLBACK


def test_sidecar_shape() -> None:
    text = (
        "schema_version: '1.0'\nexp_name: e\ntraining:\n  epoch: 0\n  max_epochs: null\n"
        "model:\n  decoder:\n    in_channels:\n    - 256\n    - 512\n    params: {}\n"
        "metrics:\n  hmean: 0.843\n  additional_metrics:\n    val/loss: 1.0e-05\n"
    )
    assert agrees(text) == {
        "schema_version": "1.0",
        "exp_name": "e",
        "training": {"epoch": 0, "max_epochs": None},
        "model": {"decoder": {"in_channels": [256, 512], "params": {}}},
        "metrics": {"hmean": 0.843, "additional_metrics": {"val/loss": 1e-05}},
    }


PLAIN_SCALARS = [
    "-.5",
    "+.5",
    ".5",
    "1.",
    "+1",
    "-0",
    "0",
    "00",
    "007",
    "1e5",
    "1.0e5",
    "1.0e+5",
    "1.5E-3",
    "1.5e3",
    "0.",
    "1_0",
    "1:20",
    "1:20.5",
    "-1:20",
    "0b101",
    "0x1F",
    "0o17",
    ".NaN",
    "-.inf",
    ".Inf",
    "yes",
    "Yes",
    "yES",
    "YES",
    "no",
    "n",
    "y",
    "N",
    "Y",
    "on",
    "On",
    "oN",
    "off",
    "True",
    "tRUE",
    "false",
    "FALSE",
    "null",
    "Null",
    "nULL",
    "NULL",
    "~",
    ".",
    "-",
    "+",
    "._",
    "2025-10-18",
    "2025-10-18T14:32:15",
    "2025-10-18t14:32:15Z",
    "val/hmean",
    "v1.0",
    "1.0.0",
    "é",
    "ü1",
    "_x",
    "x_",
    "12abc",
    "-x",
    "-1x",
    "=x",
    "<<x",
    "<x",
]


@pytest.mark.parametrize("plain", PLAIN_SCALARS)
def test_plain_scalars_resolve_like_pyyaml(plain: str) -> None:
    for text in (f"a: {plain}\n", f"- {plain}\n", f"{plain}: 1\n"):
        try:
            safe_load(text)
        except yaml.YAMLError:
            assert parse_simple_yaml(text) is FALLBACK
            continue
        agrees(text)


def test_results_never_share_containers() -> None:
    first = parse_simple_yaml("name: d\nepoch: {}\nflags:\n- []\n")
    first["epoch"]["changed"] = True
    assert parse_simple_yaml("name: d\nepoch: {}\nflags:\n- []\n")["epoch"] == {}


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 2\na: 3\n",
        "a: 1\na:\n  b: 2\n",
        "a:\n  b: 2\na: x\n",
        "- 1\n- a: 2\n",
        "a: 1\na: 2\n",
    ],
)
def test_duplicate_keys_last_wins_like_pyyaml(text: str) -> None:
    fast = parse_simple_yaml(text)
    if fast is not FALLBACK:
        assert repr(fast) == repr(safe_load(text))


def test_implicit_first_characters_are_pyyamls() -> None:
    # The shortcut that spares importing PyYAML for a plain scalar must match its resolvers.
    assert frozenset(yaml.resolver.Resolver.yaml_implicit_resolvers) == IMPLICIT_FIRST


@pytest.mark.parametrize(
    ("text", "duplicates"),
    [
        ("a: 1\nb: 2\na: 3\n", ["a"]),
        ("t:\n  x: 1\n  y: 2\n  x: 3\n", ["t.x"]),
        ("t:\n  -\n    k: 1\n    k: 2\n", ["t.0.k"]),
        ("a: 1\nb: 2\n", []),
    ],
)
def test_duplicate_keys_named_alike_by_both_readers(text: str, duplicates: list[str]) -> None:
    found: list[str] = []
    fast = parse_simple_yaml(text, found)
    assert fast is not FALLBACK
    assert found == duplicates
    assert parse_yaml_document(text) == (fast, duplicates)


def test_numbers_over_the_bound_go_to_the_safe_loader() -> None:
    assert parse_simple_yaml(f"a: {2**63 - 1}\n") == {"a": 2**63 - 1}
    assert parse_simple_yaml(f"a: {2**63}\n") is FALLBACK
    assert parse_simple_yaml("a: " + "9" * 5000 + "\n") is FALLBACK
