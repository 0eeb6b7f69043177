"""Small text files that would cost minutes or gigabytes if read naively: a sidecar line with a
long run of spaces, YAML merge keys that copy one big mapping into many, huge values and key
paths in a ``diff`` of two configs, and many ``*.index.json`` files (or links to one) in a model
folder.

Each is refused or cut down with an issue, a marker or a note that says so; the risky ones run in
a bounded subprocess (1.5 GiB, 60 s), where the unbounded reading fails by running out of either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hardening_helpers import bounded_python, by_path, list_json

from ckpt_tui.io.safe_yaml import parse_yaml_document
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml

# --- a long run of spaces inside a sidecar value -------------------------------------------


def test_sidecar_line_with_a_long_run_of_spaces_is_read() -> None:
    # 400 KB, under the sidecar limit: quadratic in the run, this line alone took minutes.
    code = (
        "from ckpt_tui.io.yaml_subset import parse_simple_yaml\n"
        "value = 'b' + ' ' * 400_000 + 'c'\n"
        "print(parse_simple_yaml(f'exp_name: {value}   \\nepoch: 3\\n') "
        "== {'exp_name': value, 'epoch': 3})\n"
    )
    done = bounded_python(code)
    assert done.stdout.strip() == "True", done.stderr[-2000:]


@pytest.mark.parametrize(
    "text",
    [
        "a: b   c   \n",
        "a:    \n  - x  \n  -   \n",
        "- b    \n-   'q  '   \n",
        "a: 'x' #c  \n",
        "a:" + " " * 50 + "\n",
    ],
)
def test_trailing_spaces_read_as_pyyaml_does(text: str) -> None:
    import yaml

    fast = parse_simple_yaml(text)
    assert fast is FALLBACK or fast == yaml.safe_load(text), repr(text)


# --- YAML merge keys -----------------------------------------------------------------------


def _merge_bomb(keys: int, uses: int, head: str = "") -> str:
    """One mapping of ``keys`` keys merged into ``uses`` mappings (``keys * uses`` copies)."""
    big = "big: &b {" + ", ".join(f"k{i}: 0" for i in range(keys)) + "}"
    bomb = "bomb: [" + ", ".join(["{<<: *b}"] * uses) + "]"
    return "\n".join([*([head] if head else []), big, bomb]) + "\n"


def test_merge_key_bomb_is_refused_before_it_is_built(tmp_path: Path, ckpt_bytes: bytes) -> None:
    # ~160 KB each: 64M merged pairs, gigabytes once constructed.
    run = tmp_path / "root" / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / ".hydra").mkdir()
    (run / "checkpoints" / "e.ckpt").write_bytes(ckpt_bytes)
    (run / "checkpoints" / "e.metadata.yaml").write_text(_merge_bomb(8000, 8000))
    (run / ".hydra" / "config.yaml").write_text(_merge_bomb(8000, 8000, "exp_name: x"))
    entries, _stderr = list_json(tmp_path / "root")
    entry = by_path(entries)["run/checkpoints/e.ckpt"]
    messages = {issue["code"]: issue["message"] for issue in entry["issues"]}
    assert "expands to over 100,000 nodes" in messages["sidecar.unreadable"], messages
    assert "expands to over 100,000 nodes" in messages["config.unreadable"], messages
    assert entry["epoch"] == 3  # the checkpoint itself still answers


def test_merge_keys_within_the_budget_read_as_before() -> None:
    import yaml

    text = (
        "base: &base {lr: 0.1, depth: 3}\n"
        "more: &more {width: 8}\n"
        "a: {<<: *base, lr: 0.2}\n"
        "b: {<<: [*base, *more], name: b}\n"
        "c:\n  <<: *base\n  depth: 4\n"
    )
    data, duplicates = parse_yaml_document(text)
    assert data == yaml.safe_load(text)
    assert duplicates == []
    assert parse_yaml_document(_merge_bomb(100, 100))[0] == yaml.safe_load(_merge_bomb(100, 100))
