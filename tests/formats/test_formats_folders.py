"""Folder checkpoints are one entry each, described from what their formats record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from formats_helpers import entries_by_path, json_list

TRAINER = "bert-run/checkpoint-4"


def test_every_checkpoint_is_found_once_and_no_part_is_a_row(formats_tree: Path) -> None:
    paths = set(entries_by_path(formats_tree))
    assert paths == {
        "bert-run/checkpoint-2",
        "bert-run/checkpoint-4",
        "bert-run/checkpoint-6",
        "hf/bert-safetensors",
        "hf/bert-bin",
        "dcp-run/checkpoints/step_7",
        "ds-run/checkpoints/epoch=1-step=8.ckpt",
        "archives/scripted.pt",
        "archives/program.pt2",
        "imagenet/model_best.pth.tar",
        "loose/optimizer.pt",
    }  # data.bin is no checkpoint; no model.safetensors, optimizer.pt or shard of a folder


def test_trainer_folder_values_come_from_its_files(formats_tree: Path) -> None:
    entry = entries_by_path(formats_tree)[TRAINER]
    folder = formats_tree / TRAINER
    state = json.loads((folder / "trainer_state.json").read_text())
    assert entry.format == "hf-trainer"
    assert entry.file_name == "checkpoint-4"
    assert entry.exp_name == "bert-run"  # the folder holding the checkpoint folder
    assert entry.epoch == int(state["epoch"]) == 2
    assert entry.global_step == state["global_step"] == 4
    assert entry.max_epochs == 3
    assert entry.architecture == "BertForSequenceClassification"
    assert entry.provenance["architecture"] == "config.json architectures"
    assert entry.provenance["epoch"].startswith("trainer_state.json epoch")
    assert entry.monitor == "eval_accuracy" and entry.monitor_mode == "max"
    own = next(row for row in state["log_history"] if row.get("step") == 4 and "eval_loss" in row)
    assert entry.monitor_value == own["eval_accuracy"]
    assert entry.validation_loss == own["eval_loss"]
    assert entry.size_bytes == sum(p.stat().st_size for p in folder.iterdir())
    trainer = entry.details["folder"]["trainer"]
    assert trainer["best_model_checkpoint"].endswith(state["best_model_checkpoint"][-12:])
    assert [p["step"] for p in trainer["eval_history"]] == [2, 4]  # up to this checkpoint
    files = [name for name, _size in entry.details["folder"]["files"]]
    assert "training_args.bin" in files and "model.safetensors" in files


def test_trainer_verdict_covers_every_pickle_and_names_the_file(formats_tree: Path) -> None:
    entry = entries_by_path(formats_tree)[TRAINER]
    # A real Trainer's training_args.bin holds transformers' TrainingArguments: outside the
    # allowlist, so torch.load with weights_only refuses it. The verdict says so.
    assert entry.safety == "unsafe"
    assert "transformers.training_args.TrainingArguments" in entry.unsafe_globals
    security = [i for i in entry.issues if i.code == "security.unsafe-global"]
    by_file = {issue.message.partition(":")[0]: issue.message for issue in security}
    assert "TrainingArguments" in by_file["training_args.bin"]
    assert set(by_file) <= {"training_args.bin", "rng_state.pth"}


def test_sharded_saves_are_one_entry_with_their_shards(formats_tree: Path) -> None:
    entries = entries_by_path(formats_tree)
    safetensors = entries["hf/bert-safetensors"]
    assert safetensors.format == "hf-model" and safetensors.safety == "safe"
    assert safetensors.architecture == "BertForSequenceClassification"
    shards = safetensors.details["folder"]["shards"]["model.safetensors.index.json"]
    assert len(shards) > 1
    state_dict = safetensors.details["folder"]["state_dict"]
    assert state_dict["tensors"] > 10 and state_dict["parameter_count"] > 1000
    pickled = entries["hf/bert-bin"]
    assert pickled.format == "hf-model" and pickled.safety == "safe"
    assert pickled.details["folder"]["state_dict"] == state_dict


def test_a_missing_shard_is_an_error(formats_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(formats_tree / "hf" / "bert-safetensors", copy)
    next(copy.glob("model-00002-of-*.safetensors")).unlink()
    entry = entries_by_path(tmp_path)["model"]
    assert any(i.code == "checkpoint.missing-shard" for i in entry.issues)
    assert entry.has_errors


def test_dcp_folder_reads_its_metadata_safely(formats_tree: Path) -> None:
    entry = entries_by_path(formats_tree)["dcp-run/checkpoints/step_7"]
    assert entry.format == "dcp" and entry.safety == "safe" and entry.unsafe_globals == []
    assert entry.details["folder"]["state_dict"] == {
        "tensors": 4,
        "parameter_count": 4 * 3 + 3 + 3 * 2 + 2,
        "dtypes": {"float32": 4},
    }


def test_deepspeed_folder_reads_the_model_states(formats_tree: Path) -> None:
    entry = entries_by_path(formats_tree)["ds-run/checkpoints/epoch=1-step=8.ckpt"]
    assert entry.format == "deepspeed"
    assert (entry.epoch, entry.global_step) == (1, 8)
    assert entry.exp_name == "ds-run"
    assert entry.architecture == "dbnet"  # its hyper-parameters count as a config
    assert entry.provenance["architecture"].startswith("checkpoint hyper_parameters")
    assert entry.provenance["epoch"] == "checkpoint/mp_rank_00_model_states.pt epoch"
    files = [name for name, _size in entry.details["folder"]["files"]]
    assert "checkpoint/mp_rank_00_model_states.pt" in files and "latest" in files


def test_file_formats(formats_tree: Path) -> None:
    entries = entries_by_path(formats_tree)
    assert entries["archives/scripted.pt"].format == "torchscript"
    assert entries["archives/program.pt2"].format == "exported-program"
    assert (
        entries["archives/scripted.pt"].safety == entries["archives/program.pt2"].safety == "code"
    )
    legacy = entries["imagenet/model_best.pth.tar"]
    assert legacy.format == "torch-legacy" and legacy.epoch == 2 and legacy.safety == "safe"


def test_a_loose_training_state_file_is_shown_as_such(formats_tree: Path) -> None:
    entry = entries_by_path(formats_tree)["loose/optimizer.pt"]
    assert entry.format == "torch"
    assert [i.code for i in entry.issues if i.severity == "info"] == ["checkpoint.auxiliary"]
    assert entry.architecture is None


def test_format_filter_and_json_field(formats_tree: Path) -> None:
    data = json_list(formats_tree, "--filter", "format:hf-trainer")
    assert sorted(e["file_name"] for e in data) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert list(data[0])[:3] == ["checkpoint_path", "file_name", "format"]
    assert not json_list(formats_tree, "--filter", "format=hf")
    assert {e["format"] for e in json_list(formats_tree, "--filter", "format:hf")} == {
        "hf-trainer",
        "hf-model",
    }


def test_the_json_files_answer_before_the_pickles_are_read(formats_tree: Path) -> None:
    # Without the checkpoint tier (the first rows of a scan), a Trainer folder already has what
    # its JSON files say, and no verdict yet: its pickles are not read.
    entry = entries_by_path(formats_tree, inspect=False)[TRAINER]
    assert (entry.epoch, entry.global_step) == (2, 4)
    assert entry.architecture == "BertForSequenceClassification"
    assert entry.safety == "unchecked" and entry.monitor is None


def test_dcp_metadata_is_safe_exactly_when_an_allowlist_unpickler_loads_it(
    formats_tree: Path,
) -> None:
    # Differential, as DCP reads it (pickle.load): a real unpickler that resolves only the
    # allowlist's names loads the real .metadata; without the DCP records it refuses. (torch's
    # weights_only unpickler cannot be the oracle: it rejects protocol 4's FRAME opcode.)
    import io
    import pickle

    from ckpt_tui.reader.dcp import read_pickle_file
    from ckpt_tui.reader.unpickle.allowlist import ALLOWED

    path = formats_tree / "dcp-run" / "checkpoints" / "step_7" / ".metadata"

    def loads_with(allowed: set[str]) -> bool:
        class Restricted(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> object:
                if f"{module}.{name}" not in allowed:
                    raise pickle.UnpicklingError(f"{module}.{name}")
                return super().find_class(module, name)

        try:
            Restricted(io.BytesIO(path.read_bytes())).load()
        except pickle.UnpicklingError:
            return False
        return True

    without_dcp = {name for name in ALLOWED if not name.startswith("torch.distributed.")}
    assert read_pickle_file(path).safety == "safe"
    assert loads_with(set(ALLOWED))
    assert not loads_with(without_dcp)
