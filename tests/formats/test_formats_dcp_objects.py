"""The objects a torch.distributed.checkpoint saves beside its tensors (an epoch, a step, a config):
each a ``torch.save`` inside a ``.distcp`` shard, which DCP's loader reads back with ``torch.load``
and ``weights_only`` off. They are read like any checkpoint: their values described, every global
they name judged, nothing run; one that cannot be read is never called safe."""

from __future__ import annotations

import pickle
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import entries_by_path
from payloads import MarkerPayload


def save_dcp(folder: Path, objects: dict[str, Any]) -> Path:
    """``torch.distributed.checkpoint.save`` of a small model's weights and ``objects``."""
    import torch
    import torch.distributed.checkpoint as dcp

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DCP's notice that no process group is running
        dcp.save({"model": model.state_dict(), **objects}, checkpoint_id=str(folder))
    return folder


@pytest.fixture(scope="module")
def lightning_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DCP checkpoint with the objects a training loop saves, in ``run/checkpoints/step_120``."""
    root = tmp_path_factory.mktemp("dcp-objects")
    objects = {"epoch": 3, "global_step": 120, "hparams": {"lr": 0.1, "name": "dbnet"}}
    save_dcp(root / "run" / "checkpoints" / "step_120", objects)
    return root


def test_the_objects_give_their_values_with_their_origin(lightning_like: Path) -> None:
    entry = entries_by_path(lightning_like)["run/checkpoints/step_120"]
    assert entry.format == "dcp" and entry.safety == "safe" and entry.unsafe_globals == []
    assert (entry.epoch, entry.global_step) == (3, 120)
    assert entry.provenance["epoch"] == ".distcp object epoch"
    assert entry.provenance["global_step"] == ".distcp object global_step"
    assert not [i for i in entry.issues if i.severity == "error"]


def test_the_objects_hold_what_dcp_itself_loads(lightning_like: Path) -> None:
    # Differential: DCP's own loader (our fixture, so torch.load may run it) against our reader.
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict_from_keys

    from ckpt_tui.sources.folder_files import list_folder

    folder = lightning_like / "run" / "checkpoints" / "step_120"
    objects = list_folder(str(folder)).dcp_objects
    assert objects is not None and objects.count == 4
    keys = set(objects.values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = _load_state_dict_from_keys(keys, checkpoint_id=str(folder))
    flat = {"epoch": loaded["epoch"], "global_step": loaded["global_step"]}
    flat.update({f"hparams.{k}": v for k, v in loaded["hparams"].items()})
    assert objects.values == flat


def test_an_object_that_runs_code_makes_the_checkpoint_unsafe(
    tmp_path: Path,
) -> None:
    import torch

    marker = tmp_path / "marker"
    folder = save_dcp(tmp_path / "step_1", {"step": 1, "hook": MarkerPayload(marker)})
    entry = entries_by_path(tmp_path)["step_1"]
    assert not marker.exists()
    assert entry.safety == "unsafe" and entry.unsafe_globals == ["os.system"]
    security = [i.message for i in entry.issues if i.code.startswith("security.")]
    assert security and security[0].startswith("2 objects in the .distcp shards: ")
    assert entry.global_step == 1  # the other objects are still read
    # Differential: torch's allowlist unpickler refuses the same object's bytes.
    from ckpt_tui.sources.folder_files import list_folder

    objects = list_folder(str(folder)).dcp_objects
    assert objects is not None
    assert objects.values["hook"]["__class__"] == "posix.system"  # described as data, not run
    info = _storage_info(folder)["hook"]
    with open(folder / info.relative_path, "rb") as shard:
        shard.seek(info.offset)
        data = shard.read(info.length)
    import io

    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(data), weights_only=True)
    assert not marker.exists()


def _storage_info(folder: Path) -> dict[str, Any]:
    """Each object's ``_StorageInfo``, as DCP's reader has it (our own fixture)."""
    from torch.distributed.checkpoint import FileSystemReader

    metadata = FileSystemReader(str(folder)).read_metadata()
    return {index.fqn: info for index, info in metadata.storage_data.items() if index.index is None}


def _rewrite_metadata(folder: Path, change: Callable[[Any], None]) -> None:
    """Change the real ``Metadata`` of ``folder``; write it back as DCP does (``pickle.dump``)."""
    from torch.distributed.checkpoint import FileSystemReader

    metadata = FileSystemReader(str(folder)).read_metadata()
    change(metadata)
    with open(folder / ".metadata", "wb") as file:
        pickle.dump(metadata, file)


def _set_info(key: str, **fields: Any) -> Callable[[Any], None]:
    def change(metadata: Any) -> None:
        import dataclasses

        for index, info in list(metadata.storage_data.items()):
            if index.fqn == key and index.index is None:
                metadata.storage_data[index] = dataclasses.replace(info, **fields)

    return change


def _drop_info(key: str) -> Callable[[Any], None]:
    def change(metadata: Any) -> None:
        for index in [i for i in metadata.storage_data if i.fqn == key and i.index is None]:
            del metadata.storage_data[index]

    return change


def _garble_object(key: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        info = _storage_info(folder)[key]
        with open(folder / info.relative_path, "r+b") as shard:
            shard.seek(info.offset)
            shard.write(b"\x00" * info.length)

    return change


METADATA_CHANGES: dict[str, tuple[Callable[[Any], None], str]] = {
    "outside the folder": (_set_info("epoch", relative_path="../outside.distcp"), "no shard"),
    "an absolute path": (_set_info("epoch", relative_path="/etc/passwd"), "no shard"),
    "past the shard's end": (_set_info("epoch", offset=2**40), "past the end"),
    "a huge length": (_set_info("epoch", length=2**62), "bytes"),
    "a negative offset": (_set_info("epoch", offset=-5), "valid offset"),
    "a text offset": (_set_info("epoch", offset="0"), "valid offset"),
    "transforms": (_set_info("epoch", transform_descriptors=["zstd"]), "transforms"),
    "no storage record": (_drop_info("epoch"), "no storage record"),
}


@pytest.mark.parametrize("change", METADATA_CHANGES, ids=list(METADATA_CHANGES))
def test_an_object_that_cannot_be_read_is_never_called_safe(
    lightning_like: Path, tmp_path: Path, change: str
) -> None:
    folder = tmp_path / "step_120"
    shutil.copytree(lightning_like / "run" / "checkpoints" / "step_120", folder)
    rewrite, reason = METADATA_CHANGES[change]
    _rewrite_metadata(folder, rewrite)
    entry = entries_by_path(tmp_path)["step_120"]
    assert entry.safety == "unreadable"
    errors = [i.message for i in entry.issues if i.code == "checkpoint.unreadable"]
    assert len(errors) == 1 and "'epoch'" in errors[0] and reason in errors[0]
    assert entry.epoch is None and entry.global_step == 120  # the others still count


def test_keys_pointed_at_one_object_cost_one_budget(tmp_path: Path) -> None:
    # A Metadata naming the same 1 MiB object under 200 keys: each key would be read again
    # (a 17 MB folder with 10,000 keys on a 16 MiB object cost hours of CPU). The reader stops
    # after 16 MiB of objects in all, and the keys it did not read keep the verdict from 'safe'.
    from torch.distributed.checkpoint.metadata import BytesStorageMetadata, MetadataIndex

    from ckpt_tui.reader.dcp import MAX_OBJECTS_TOTAL_BYTES
    from ckpt_tui.sources.folder_files import list_folder

    folder = save_dcp(tmp_path / "step_1", {"blob": bytes(2**20)})
    length = _storage_info(folder)["blob"].length

    def copies(metadata: Any) -> None:
        info = _storage_info(folder)["blob"]
        for number in range(200):
            metadata.state_dict_metadata[f"copy{number}"] = BytesStorageMetadata()
            metadata.storage_data[MetadataIndex(f"copy{number}")] = info

    _rewrite_metadata(folder, copies)
    objects = list_folder(str(folder)).dcp_objects
    assert objects is not None and objects.count == 201
    read = MAX_OBJECTS_TOTAL_BYTES // length
    assert len(objects.values) == read  # each read one is still described
    assert objects.safety == "unreadable"
    assert [i.message for i in objects.issues] == [
        f"not checked: {201 - read} objects past the first 16 MiB of objects"
    ]
    entry = entries_by_path(tmp_path)["step_1"]
    assert entry.safety == "unreadable" and entry.global_step == 1


@pytest.mark.parametrize("how", ["garbled", "shard renamed"])
def test_a_broken_shard_costs_its_objects_only(
    lightning_like: Path, tmp_path: Path, how: str
) -> None:
    folder = tmp_path / "step_120"
    shutil.copytree(lightning_like / "run" / "checkpoints" / "step_120", folder)
    if how == "garbled":
        _garble_object("epoch")(folder)
    else:  # still a DCP folder, but the shard the Metadata names is gone
        for shard in folder.glob("*.distcp"):
            shard.rename(shard.with_name("__9" + shard.name[3:]))
    entry = entries_by_path(tmp_path)["step_120"]
    assert entry.format == "dcp" and entry.safety == "unreadable"
    assert any("not checked" in i.message for i in entry.issues)
    assert entry.epoch is None


@pytest.fixture(scope="module")
def lightning_sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Lightning's FSDP strategy saves with ``state_dict_type="sharded"``: the weights and
    optimizer states through DCP, the rest of the checkpoint in ``meta.pt``. The strategy needs a
    GPU, so its split is done here, as its ``save_checkpoint`` does it, on the checkpoint a real
    ``Trainer.fit`` on the CPU wrote."""
    import torch
    import torch.distributed.checkpoint as dcp
    from lightning_runs import RegressionModule, fit_with_two_monitors
    from torch.utils.data import DataLoader, TensorDataset

    root = tmp_path_factory.mktemp("lightning-sharded")
    torch.manual_seed(0)

    class Module(RegressionModule):
        def __init__(self, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()

    data = DataLoader(TensorDataset(torch.randn(8, 4), torch.randn(8, 1)), batch_size=4)
    fit_with_two_monitors(
        Module(), data, data, dirpath=root / "fit", root_dir=root / "fit", max_epochs=2
    )
    checkpoint = torch.load(root / "fit" / "last.ckpt", weights_only=False)  # our own fixture
    sharded = root / "outputs" / "fsdp-run" / "checkpoints" / "epoch=1-step=4.ckpt"
    converted = {"model": checkpoint.pop("state_dict")}
    converted.update(
        {f"optimizer_{i}": state for i, state in enumerate(checkpoint.pop("optimizer_states"))}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save(converted, checkpoint_id=str(sharded))
    torch.save(checkpoint, sharded / "meta.pt")
    return root / "outputs"


def test_a_lightning_sharded_save_is_described_by_its_meta_pt(lightning_sharded: Path) -> None:
    entry = entries_by_path(lightning_sharded)["fsdp-run/checkpoints/epoch=1-step=4.ckpt"]
    assert entry.format == "dcp" and entry.safety == "safe"
    assert (entry.epoch, entry.global_step) == (1, 4)
    assert entry.provenance["epoch"] == "meta.pt epoch"
    assert entry.monitor == "val/hmean" and entry.monitor_value is not None
    assert entry.provenance["monitor"] == "meta.pt ModelCheckpoint monitor"
    assert entry.details["folder"]["lightning_version"]
