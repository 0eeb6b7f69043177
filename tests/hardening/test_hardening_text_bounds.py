"""Small text files that would cost minutes or gigabytes if read naively: a sidecar line with a
long run of spaces, YAML merge keys that copy one big mapping into many, huge values and key
paths in a ``diff`` of two configs, and many ``*.index.json`` files (or links to one) in a model
folder.

Each is refused or cut down with an issue, a marker or a note that says so; the risky ones run in
a bounded subprocess (1.5 GiB, 60 s), where the unbounded reading fails by running out of either.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from hardening_helpers import bounded_python, by_path, list_json, run_cli

from ckpt_tui.compare.flatten import MAX_PART_CHARS, TRUNCATED_KEY, flatten
from ckpt_tui.compare.report import MAX_JSON_VALUE_CHARS, SHORT_CHARS, display_value, json_prefix
from ckpt_tui.io.safe_yaml import parse_yaml_document
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml
from ckpt_tui.sources.folder import MAX_FILES_KEPT, MAX_INDEXES_READ, folder_tier

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


# --- diff: long values and long key paths ---------------------------------------------------


def _config_run(root: Path, name: str, config: str) -> Path:
    """``root/name``: a safetensors checkpoint (which has no config of its own) beside the Hydra
    config ``config``."""
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text(config)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    weights = run / "checkpoints" / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    return weights


def _aliased_text(letter: str) -> str:
    """One 1 MB text and a list of 20,000 aliases to it: 20 GB if each use is written out."""
    return f"exp_name: x\nbig: &s {letter * 1_000_000}\nblob: [{', '.join(['*s'] * 20_000)}]\n"


def test_diff_cuts_long_values(tmp_path: Path) -> None:
    a = _config_run(tmp_path, "a", _aliased_text("a"))
    b = _config_run(tmp_path, "b", _aliased_text("b"))
    done = run_cli("diff", "--no-cache", a, b)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.decode().splitlines()
    blob = next(line for line in lines if line.startswith("~ blob\t"))
    _mark, shown_a, shown_b = blob.split("\t")
    assert len(shown_a) == SHORT_CHARS and shown_a.endswith("…"), shown_a[-20:]
    assert shown_b.startswith('["bbb') and shown_b.endswith("…")
    big = next(line for line in lines if line.startswith("~ big\t"))
    assert len(big) < 3 * SHORT_CHARS

    done = run_cli("diff", "--json", "--no-cache", a, b)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["key"]: row for row in json.loads(done.stdout)["sections"]["config"]}
    for key in ("big", "blob"):
        assert rows[key]["truncated"] is True
        for side in ("a", "b"):
            assert len(rows[key][side]) == MAX_JSON_VALUE_CHARS
            assert rows[key][side].endswith("…")
    assert "exp_name" not in rows  # equal: listed only with --all


def test_display_value_reads_as_before() -> None:
    for value in ([1, 2.5, "x", None, True], {"a": [1, {"b": "ü"}]}, list(range(300)), {}, []):
        text = json.dumps(value, ensure_ascii=False, default=repr, separators=(", ", ": "))
        assert display_value(value) == (text if len(text) <= 400 else text[:399] + "…")
        assert json_prefix(value, 10_000) == text


def _key_bomb(length: int, levels: int) -> str:
    """Mapping keys that are aliases of two long names, nested ``levels`` deep: 2**levels keys
    of ``levels`` names each."""
    lines = ["exp_name: bomb", f"keys: [&k1 {'A' * length}, &k2 {'B' * length}]", "l0: &l0 1"]
    lines += [f"l{i}: &l{i} {{*k1 : *l{i - 1}, *k2 : *l{i - 1}}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\ntop: *l{levels}\n"


def test_diff_cuts_long_key_paths(tmp_path: Path) -> None:
    # 200 KB: written out, the key paths alone would be about 10 GB.
    a = _config_run(tmp_path, "a", _key_bomb(100_000, 12))
    b = _config_run(tmp_path, "b", "exp_name: plain\n")
    done = run_cli("diff", "--json", "--no-cache", a, b)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["key"]: row for row in json.loads(done.stdout)["sections"]["config"]}
    assert rows[TRUNCATED_KEY]["a"].startswith("more keys not compared"), rows[TRUNCATED_KEY]
    assert max(len(key) for key in rows) <= 13 * MAX_PART_CHARS
    one = next(key for key in rows if key.startswith("l1."))
    assert one.startswith("l1.AAA") and "…" in one


def test_flatten_keeps_long_names_apart() -> None:
    first, second = "x" * 300 + "1", "x" * 300 + "2"
    flat = flatten({"a": {first: 1, second: 2}, "b": {"c": 3}})
    assert len(flat) == 3 and flat["b.c"] == 3
    assert sorted(flat.values()) == [1, 2, 3]
    assert all(len(key) <= 2 + MAX_PART_CHARS for key in flat)
    assert TRUNCATED_KEY not in flat


# --- many shard indexes in one model folder -------------------------------------------------


def test_model_folder_reads_each_shard_index_once(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}')
    shards = {f"t{i}": f"s{i}.safetensors" for i in range(MAX_FILES_KEPT + 100)}
    index = json.dumps({"metadata": {}, "weight_map": shards})
    (folder / "model.safetensors.index.json").write_text(index)
    for i in range(10):  # links to the same index, sorted before it
        (folder / f"a{i}.safetensors.index.json").symlink_to("model.safetensors.index.json")
    os.link(folder / "model.safetensors.index.json", folder / "mz.safetensors.index.json")
    for i in range(MAX_INDEXES_READ + 1):  # distinct files: only the first few are read
        (folder / f"x{i}.safetensors.index.json").write_text(index)
    tier = folder_tier(str(folder))
    info = tier.details["folder"]
    read = sorted(info["shards"])
    assert read == ["model.safetensors.index.json"] + [
        f"x{i}.safetensors.index.json" for i in range(MAX_INDEXES_READ - 1)
    ]
    assert len(info["shards"]["model.safetensors.index.json"]) == MAX_FILES_KEPT
    assert info["shard_count"]["model.safetensors.index.json"] == len(shards)
    notes = [i.message for i in tier.issues if "not read" in i.message]
    assert len(notes) == 1 and notes[0].startswith("13 *.index.json not read"), notes
    assert "a0.safetensors.index.json" in notes[0]
