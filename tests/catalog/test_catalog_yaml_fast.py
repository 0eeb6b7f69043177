"""The fast sidecar YAML reader agrees with PyYAML's safe loader on everything it accepts."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.io.safe_yaml import IMPLICIT_FIRST, dump_yaml
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # the safe loader


def agrees(text: str) -> Any:
    fast = parse_simple_yaml(text)
    if fast is FALLBACK:
        return FALLBACK
    assert fast == safe_load(text), text
    # types too: 1 == 1.0 == True in Python
    assert repr(fast) == repr(safe_load(text)), text
    return fast


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
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
    ]
)


@settings(max_examples=1000)
@given(st.lists(line_parts, max_size=30).map("".join))
def test_arbitrary_text_agrees_or_falls_back(text: str) -> None:
    try:
        expected = safe_load(text)
    except yaml.YAMLError:
        # the fast path must not accept what the real loader refuses
        assert parse_simple_yaml(text) is FALLBACK, repr(text)
        return
    fast = parse_simple_yaml(text)
    if fast is not FALLBACK:
        assert repr(fast) == repr(expected), repr(text)


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


def test_documents_sharing_a_layout() -> None:
    # The first document of a layout compiles a template; later ones fill it with their values.
    assert agrees("name: a\nepoch: 1\nflags:\n- x\n") == {"name": "a", "epoch": 1, "flags": ["x"]}
    assert agrees("name: 'b'\nepoch: 2.5\nflags:\n- yes\n") == {
        "name": "b",
        "epoch": 2.5,
        "flags": [True],
    }
    assert parse_simple_yaml("name: c\nepoch: 2025-01-01\nflags:\n- x\n") is FALLBACK
    assert parse_simple_yaml("name: c\nepoch: [1]\nflags:\n- x\n") is FALLBACK
    assert agrees("name: d\nepoch: {}\nflags:\n- []\n") == {"name": "d", "epoch": {}, "flags": [[]]}
    # templates never share containers between results
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
    for _ in range(2):  # the second time through the template
        fast = parse_simple_yaml(text)
        if fast is not FALLBACK:
            assert repr(fast) == repr(safe_load(text))


def test_implicit_first_characters_are_pyyamls() -> None:
    # The shortcut that spares importing PyYAML for a plain scalar must match its resolvers.
    assert frozenset(yaml.resolver.Resolver.yaml_implicit_resolvers) == IMPLICIT_FIRST
