"""The filter language (core): every term form, negation, quoting, nulls and the errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckpt_tui.catalog.filter import (
    EntryFilter,
    FilterError,
    best_per_experiment,
    parse_filter,
    parse_number,
)
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue


def entry(path: str, **fields: object) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path=path, **fields)  # type: ignore[arg-type]


ENTRIES = [
    entry(
        "runs/a/epoch=0-step=10.ckpt",
        exp_name="dbnet_r18",
        architecture="dbnet",
        backbone="resnet18",
        epoch=0,
        global_step=10,
        hmean=0.5,
        size_bytes=50_000_000,
        source="sidecar",
        sidecar_path="runs/a/epoch=0-step=10.metadata.yaml",
    ),
    entry(
        "runs/a/epoch=5-step=60.ckpt",
        exp_name="dbnet_r18",
        architecture="dbnet",
        backbone="resnet18",
        epoch=5,
        global_step=60,
        hmean=0.81,
        precision=0.9,
        size_bytes=150_000_000,
        source="sidecar",
        sidecar_path="runs/a/epoch=5-step=60.metadata.yaml",
    ),
    entry(
        "runs/b/last.ckpt",
        exp_name="craft My Run",
        architecture="craft",
        backbone="vgg16_bn",
        size_bytes=2_500_000_000,
        source="path",
        issues=[Issue(severity="warning", code="config.missing", message="no hydra config")],
    ),
    entry(
        "runs/c/broken.ckpt",
        exp_name="broken",
        size_bytes=10,
        source="path",
        issues=[Issue(severity="error", code="security.unsafe-global", message="os.system")],
    ),
]


def names(expr: str) -> list[str]:
    return [e.checkpoint_path.split("/", 1)[1] for e in parse_filter(expr).select(ENTRIES)]


def test_empty_filter_keeps_everything() -> None:
    assert parse_filter("").is_empty
    assert parse_filter("   ").select(ENTRIES) == ENTRIES


def test_bare_word_matches_name_arch_backbone_and_path_case_insensitively() -> None:
    assert names("DBNET") == ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]
    assert names("vgg16") == ["b/last.ckpt"]
    assert names("last") == ["b/last.ckpt"]
    assert names("runs/c") == ["c/broken.ckpt"]


def test_field_text_matches_within_one_field_only() -> None:
    assert names("arch:craft") == ["b/last.ckpt"]
    assert names("exp:broken") == ["c/broken.ckpt"]
    assert names("path:broken") == ["c/broken.ckpt"]
    # "resnet" is in the backbone, not the architecture.
    assert names("arch:resnet") == []
    assert names("encoder:resnet") == names("backbone:resnet18")


def test_text_equality_is_exact() -> None:
    assert names("arch=dbnet") == ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]
    assert names("arch=dbn") == []
    assert names("arch!=dbnet") == ["b/last.ckpt"]  # null arch never satisfies !=


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("hmean>0.8", ["a/epoch=5-step=60.ckpt"]),
        ("hmean>=0.5", ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]),
        ("hmean<0.6", ["a/epoch=0-step=10.ckpt"]),
        ("hmean<=0.81", ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]),
        ("hmean=0.5", ["a/epoch=0-step=10.ckpt"]),
        ("hmean!=0.5", ["a/epoch=5-step=60.ckpt"]),
        ("epoch=0", ["a/epoch=0-step=10.ckpt"]),
        ("epoch:0", ["a/epoch=0-step=10.ckpt"]),
        ("step>=60", ["a/epoch=5-step=60.ckpt"]),
        ("prec>0.8", ["a/epoch=5-step=60.ckpt"]),
        ("recall>0", []),
        ("size>1GB", ["b/last.ckpt"]),
        ("size<100MB", ["a/epoch=0-step=10.ckpt", "c/broken.ckpt"]),
        ("size>=150mb", ["a/epoch=5-step=60.ckpt", "b/last.ckpt"]),
        ("size<1k", ["c/broken.ckpt"]),
    ],
)
def test_number_comparisons(expr: str, expected: list[str]) -> None:
    assert names(expr) == expected


def test_null_never_satisfies_a_comparison_but_its_negation_holds() -> None:
    assert "b/last.ckpt" not in names("hmean<1")
    assert "b/last.ckpt" not in names("hmean!=0.5")
    assert "b/last.ckpt" in names("-hmean>0.8")


def test_epoch_zero_is_a_real_epoch() -> None:
    assert names("epoch<1") == ["a/epoch=0-step=10.ckpt"]
    assert names("has:epoch") == ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]


def test_negation_and_conjunction() -> None:
    assert names("-dbnet") == ["b/last.ckpt", "c/broken.ckpt"]
    assert names("dbnet -epoch=0") == ["a/epoch=5-step=60.ckpt"]
    assert names("-arch:dbnet -broken") == ["b/last.ckpt"]


def test_quotes_keep_spaces_together() -> None:
    assert names('"my run"') == ["b/last.ckpt"]
    assert names("exp:'My Run'") == ["b/last.ckpt"]
    assert names('-"my run" craft') == []
    # A quoted word is never a field term.
    assert names('"arch:craft"') == []


def test_presence_terms() -> None:
    assert names("has:sidecar") == ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]
    assert names("-has:sidecar") == ["b/last.ckpt", "c/broken.ckpt"]
    assert names("has:issues") == ["b/last.ckpt", "c/broken.ckpt"]
    assert names("has:errors") == ["c/broken.ckpt"]
    assert names("has:warnings") == ["b/last.ckpt"]
    assert names("has:security") == ["c/broken.ckpt"]
    assert names("has:hmean") == ["a/epoch=0-step=10.ckpt", "a/epoch=5-step=60.ckpt"]
    assert names("issue:unsafe") == ["c/broken.ckpt"]


def test_best_per_experiment() -> None:
    assert names("is:best") == ["a/epoch=5-step=60.ckpt"]
    assert names("is:best epoch<3") == ["a/epoch=0-step=10.ckpt"]  # best among the matches
    assert names("-is:best dbnet") == ["a/epoch=0-step=10.ckpt"]


def test_best_uses_the_monitor_in_its_mode_before_hmean() -> None:
    monitor = {"monitor": "val_loss", "monitor_mode": "min"}
    low = entry("x/a.ckpt", exp_name="x", monitor_value=0.2, hmean=0.1, **monitor)
    high = entry("x/b.ckpt", exp_name="x", monitor_value=0.9, hmean=0.9, **monitor)
    unknown = entry("y/c.ckpt", exp_name="y")
    assert best_per_experiment([low, high, unknown]) == [low]
    # Without a monitor named with its mode, the highest hmean.
    plain = [entry("z/a.ckpt", monitor_value=0.2, hmean=0.1), entry("z/b.ckpt", hmean=0.5)]
    assert best_per_experiment(plain) == [plain[1]]


def test_best_groups_by_run_folder_not_by_name() -> None:
    # Two runs sharing an experiment name each have their best; the root is one group of its own.
    a = entry("2024/run/checkpoints/a.ckpt", exp_name="same", hmean=0.9)
    b = entry("2025/run/checkpoints/b.ckpt", exp_name="same", hmean=0.5)
    top = entry("top.ckpt", hmean=0.1)
    assert best_per_experiment([a, b, top]) == [a, b, top]


def test_matches_judges_one_entry() -> None:
    f = parse_filter("dbnet hmean>0.6")
    assert [f.matches(e) for e in ENTRIES] == [False, True, False, False]
    assert isinstance(f, EntryFilter)


@pytest.mark.parametrize(
    ("expr", "fragment", "position"),
    [
        ("dbnet colour:red", "unknown field 'colour'", 6),
        ("hmean>abc", "hmean needs a number, got 'abc'", 6),
        ("size>12XB", "size needs a number", 5),
        ("arch>3", "'arch' is text", 0),
        ("arch:", "no value after 'arch:'", 5),
        ("ok -", "nothing after '-'", 3),
        ('exp:"open', "unterminated quote", 4),
        ("has:nothing", "has: does not know 'nothing'", 4),
        ("is:worst", "only 'is:best'", 0),
    ],
)
def test_invalid_expressions_name_the_problem_and_where(
    expr: str, fragment: str, position: int
) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(expr)
    assert fragment in info.value.message
    assert info.value.position == position
    assert f"column {position + 1}" in str(info.value)


def test_parse_number_units() -> None:
    assert parse_number("100MB", size=True) == 100_000_000
    assert parse_number("1.5GiB", size=True) == 1.5 * 1024**3
    assert parse_number("2k", size=True) == 2000
    assert parse_number("-0.5") == -0.5
    with pytest.raises(ValueError):
        parse_number("100MB")  # units only for sizes


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_filter_error(expr: str) -> None:
    try:
        parsed = parse_filter(expr)
    except FilterError as exc:
        assert 0 <= exc.position <= len(expr)
    else:
        parsed.select(ENTRIES)  # and applying it never raises
