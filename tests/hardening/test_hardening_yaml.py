"""Hostile YAML and JSON where the catalog reads them (sidecars under both names, Hydra configs,
``hparams.yaml``, a checkpoint's own ``.config.json``): a 100 MB single line, deep nesting, alias
bombs and python tags. ``tests/foundation`` covers ``read_sidecar`` itself; these go through the
catalog's own readers and the CLI.

Every file is refused with an issue naming it, quickly, in bounded memory; the checkpoint is still
listed, known from its other tiers; nothing runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import by_path, cli_env, issue_codes, list_json, run_cli

from ckpt_tui.io.safe_yaml import MAX_CONFIG_BYTES, MAX_SIDECAR_BYTES

HUNDRED_MB = 100 * 1024 * 1024


def _long_line(path: Path, sparse: bool) -> None:
    """A 100 MB file of one line: real bytes, or a sparse file (same size, no disk)."""
    with open(path, "wb") as handle:
        handle.write(b"exp_name: ")
        if sparse:
            handle.truncate(HUNDRED_MB)
        else:
            chunk = b"x" * (1024 * 1024)
            for _ in range(100):
                handle.write(chunk)


def _python_tags(marker: Path) -> str:
    return (
        f"exp_name: !!python/object/apply:os.system ['touch {marker}']\n"
        f"model: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"
        "training: !!python/name:os.system\n"
    )


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 20)]
    return "\n".join(lines) + "\nexp_name: boom\n"


TEXTS: dict[str, Callable[[Path], str]] = {
    "deep_flow_10k": lambda _m: "exp_name: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "deep_flow_unclosed": lambda _m: "[" * 10_000,
    "deep_block_200k": lambda _m: "- " * 200_000 + "x\n",
    "deep_mapping_10k": lambda _m: "{a: " * 10_000 + "1" + "}" * 10_000,
    "deep_indent": lambda _m: "".join(" " * i + "a:\n" for i in range(1200)),
    "python_tags": _python_tags,
    "alias_bomb": lambda _m: _alias_bomb(),
    "json_deep": lambda _m: "[" * 100_000 + "]" * 100_000,
    "not_utf8": lambda _m: "exp_name: caf\udce9\n",
}
WHERE = ["sidecar", "sidecar_long_name", "hydra", "hparams", "own_config"]


def _place(run: Path, where: str) -> Path:
    """The file a hostile document goes into, for the checkpoint ``run/checkpoints/e.ckpt``."""
    return {
        "sidecar": run / "checkpoints" / "e.metadata.yaml",
        "sidecar_long_name": run / "checkpoints" / "e.ckpt.metadata.yaml",
        "hydra": run / ".hydra" / "config.yaml",
        "hparams": run / "hparams.yaml",
        "own_config": run / "checkpoints" / "e.config.json",
    }[where]


@pytest.fixture
def hostile_tree(tmp_path: Path, ckpt_bytes: bytes, marker: Path) -> Path:
    """One run per (document, place), plus the 100 MB single lines."""
    root = tmp_path / "outputs"
    for kind, text in TEXTS.items():
        for where in WHERE:
            run = root / f"{kind}-{where}"
            (run / "checkpoints").mkdir(parents=True)
            (run / ".hydra").mkdir()
            (run / "checkpoints" / "e.ckpt").write_bytes(ckpt_bytes)
            target = _place(run, where)
            target.write_bytes(text(marker).encode("utf-8", "surrogateescape"))
    for where in WHERE:
        for sparse in (False, True) if where == "sidecar" else (True,):
            run = root / f"long-line-{'sparse' if sparse else 'real'}-{where}"
            (run / "checkpoints").mkdir(parents=True)
            (run / ".hydra").mkdir()
            (run / "checkpoints" / "e.ckpt").write_bytes(ckpt_bytes)
            _long_line(_place(run, where), sparse)
    return root


def test_catalog_refuses_each_document(hostile_tree: Path, marker: Path) -> None:
    started = time.monotonic()
    entries, _stderr = list_json(hostile_tree)
    assert time.monotonic() - started < 30  # 100 MB files are refused by their size, unread
    shown = by_path(entries)
    runs = sorted(p.name for p in hostile_tree.iterdir())
    assert sorted(shown) == [f"{run}/checkpoints/e.ckpt" for run in runs]
    for run in runs:
        entry = shown[f"{run}/checkpoints/e.ckpt"]
        codes = issue_codes(entry)
        assert entry["epoch"] == 3, (run, entry)  # the checkpoint itself still answers
        if "sidecar" in run:
            assert "sidecar.unreadable" in codes, (run, codes)
            assert entry["source"] == "checkpoint"
        else:
            assert "config.unreadable" in codes, (run, codes)
            assert entry["config_path"] is None


def test_validate_reports_each_sidecar(hostile_tree: Path) -> None:
    started = time.monotonic()
    done = run_cli("validate", hostile_tree)
    assert time.monotonic() - started < 30
    assert done.returncode == 1, done.stderr[-2000:]
    out = done.stdout.decode("utf-8", "backslashreplace")
    sidecar_runs = [p.name for p in hostile_tree.iterdir() if "sidecar" in p.name]
    for run in sidecar_runs:
        assert f"{run}/checkpoints/" in out, run
    assert f"{HUNDRED_MB:,} bytes" in out
    assert MAX_SIDECAR_BYTES < HUNDRED_MB and MAX_CONFIG_BYTES < HUNDRED_MB


def _sidecar_with(line: str) -> str:
    """The reference sidecar with its ``global_step`` line replaced by ``line``."""
    from reference_sidecar import REFERENCE_YAML

    return REFERENCE_YAML.replace("  global_step: 5420\n", f"  {line}\n")


BASE_60 = ":".join(["1"] + ["2"] * (MAX_SIDECAR_BYTES // 2 - 1024))
HUGE_NUMBERS: dict[str, tuple[str, str]] = {
    # run: (file, text); each number is shown as "<key path>: number too large"
    "binary-15k": ("sidecar", _sidecar_with("global_step: 0b1" + "0" * 15_000)),
    "decimal-5k": ("sidecar", _sidecar_with("global_step: 1" + "0" * 5_000)),
    "base60-1mib": ("sidecar", _sidecar_with("global_step: " + BASE_60)),
    "over-2-63": ("sidecar", _sidecar_with(f"global_step: {2**63}")),
    "hex-flow": ("sidecar", _sidecar_with("global_step: 1\n  extra: {n: 0x" + "f" * 5000 + "}")),
    "hydra-binary": ("hydra", "trainer:\n  max_epochs: 0b1" + "0" * 15_000 + "\n"),
    "hydra-decimal": ("hydra", "trainer:\n  max_epochs: 1" + "0" * 5_000 + "\n"),
    "hydra-base60": ("hydra", "trainer:\n  max_epochs: " + BASE_60 + "\n"),
    "json-decimal": ("own_config", '{"trainer": {"max_epochs": 1' + "0" * 5_000 + "}}"),
}
KEY_PATH = {"sidecar": "training.global_step", "hydra": "trainer.max_epochs"}


@pytest.fixture
def huge_numbers(tmp_path: Path, ckpt_bytes: bytes) -> Path:
    root = tmp_path / "outputs"
    for run_name, (where, text) in HUGE_NUMBERS.items():
        run = root / run_name
        (run / "checkpoints").mkdir(parents=True)
        (run / ".hydra").mkdir()
        (run / "checkpoints" / "e.ckpt").write_bytes(ckpt_bytes)
        _place(run, where).write_text(text)
    dup = root / "duplicate-key" / "checkpoints"
    dup.mkdir(parents=True)
    (dup / "e.ckpt").write_bytes(ckpt_bytes)
    (dup / "e.metadata.yaml").write_text(_sidecar_with("global_step: 1\n  global_step: 7"))
    return root


def _expected_message(run_name: str) -> str:
    where = HUGE_NUMBERS[run_name][0]
    if run_name == "hex-flow":
        return "training.extra.n: number too large"
    return f"{KEY_PATH.get(where, 'trainer.max_epochs')}: number too large"


def test_huge_numbers_are_bounded_issues_in_list(huge_numbers: Path) -> None:
    """Python refuses to print integers of over 4,300 digits and PyYAML converts base-60 in
    quadratic time: each number is an issue naming its key, in seconds, never a traceback."""
    started = time.monotonic()
    entries, stderr = list_json(huge_numbers)
    assert time.monotonic() - started < 30
    assert "Traceback" not in stderr
    shown = by_path(entries)
    for run_name in HUGE_NUMBERS:
        entry = shown[f"{run_name}/checkpoints/e.ckpt"]
        messages = [issue["message"] for issue in entry["issues"]]
        assert any(_expected_message(run_name) in m for m in messages), (run_name, messages)
        assert entry["global_step"] == 120  # the checkpoint's own
    duplicate = shown["duplicate-key/checkpoints/e.ckpt"]
    assert duplicate["global_step"] == 7  # the last value wins
    assert "sidecar.duplicate-key" in issue_codes(duplicate)
    for args in ([], ["--csv"]):
        done = run_cli("list", huge_numbers, "--no-cache", *args)
        assert done.returncode == 0, done.stderr[-2000:]
        assert b"Traceback" not in done.stderr


def test_huge_numbers_are_bounded_issues_in_validate(huge_numbers: Path) -> None:
    started = time.monotonic()
    done = run_cli("validate", huge_numbers)
    assert time.monotonic() - started < 30
    assert done.returncode == 1, done.stderr[-2000:]
    assert b"Traceback" not in done.stderr
    out = done.stdout.decode()
    for run_name, (where, _text) in HUGE_NUMBERS.items():
        if where == "sidecar":
            line = next(x for x in out.splitlines() if x.startswith(f"{run_name}/"))
            assert "error" in line and _expected_message(run_name) in line, line
    warning = "duplicate-key/checkpoints/e.metadata.yaml: warning: training.global_step: dup"
    assert warning in out


@pytest.mark.parametrize(
    "run_name", ["binary-15k", "hydra-binary", "hydra-decimal", "json-decimal"]
)
def test_huge_numbers_are_bounded_issues_in_show(huge_numbers: Path, run_name: str) -> None:
    ckpt = huge_numbers / run_name / "checkpoints" / "e.ckpt"
    for args in ([], ["--json"]):
        wide = cli_env(COLUMNS="400")  # the message on one line
        done = run_cli("show", ckpt, "--no-cache", "--root", huge_numbers, *args, env=wide)
        assert b"Traceback" not in done.stderr, done.stderr[-2000:]
        assert _expected_message(run_name).encode() in done.stdout
