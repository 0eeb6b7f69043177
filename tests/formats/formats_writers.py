"""Writers of real checkpoints in the formats beyond Lightning, each by its own library.

Plain functions (the session fixtures in ``conftest.py`` call them once): a Hugging Face Trainer
run, sharded ``save_pretrained``-style saves, a torch.distributed.checkpoint folder, TorchScript
and torch.export archives, a pre-1.6 file, and a Lightning DeepSpeed folder's layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SEQUENCE = 8
SAMPLES = 8


def tiny_bert() -> Any:
    """A tiny random BERT classifier (no download)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=99,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def _dataset(count: int) -> Any:
    import torch

    class Samples(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return count

        def __getitem__(self, index: int) -> dict[str, Any]:
            generator = torch.Generator().manual_seed(index)
            return {
                "input_ids": torch.randint(0, 99, (SEQUENCE,), generator=generator),
                "attention_mask": torch.ones(SEQUENCE, dtype=torch.long),
                "labels": torch.tensor(index % 2),
            }

    return Samples()


def _accuracy(prediction: Any) -> dict[str, float]:
    import numpy as np

    guessed = np.argmax(prediction.predictions, -1)
    return {"accuracy": float((guessed == prediction.label_ids).mean())}


def train_with_trainer(output_dir: Path, *, epochs: int = 3) -> Path:
    """``transformers.Trainer`` for ``epochs`` epochs, evaluating and saving each epoch
    (``checkpoint-2``, ``checkpoint-4``, ...), best model by accuracy."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        per_device_train_batch_size=4,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        metric_for_best_model="accuracy",
        greater_is_better=True,
        load_best_model_at_end=True,
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=tiny_bert(),
        args=args,
        train_dataset=_dataset(SAMPLES),
        eval_dataset=_dataset(4),
        compute_metrics=_accuracy,
    )
    trainer.train()
    return output_dir


def save_sharded(folder: Path, *, safetensors: bool) -> Path:
    """``save_pretrained`` with a tiny ``max_shard_size`` (safetensors), or the ``.bin`` shards
    and ``pytorch_model.bin.index.json`` that huggingface_hub writes without safetensors."""
    model = tiny_bert()
    if safetensors:
        model.save_pretrained(str(folder), max_shard_size="20KB")
        return folder
    from huggingface_hub import save_torch_state_dict

    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(folder))
    save_torch_state_dict(
        model.state_dict(), folder, max_shard_size="20KB", safe_serialization=False
    )
    return folder


def save_dcp(folder: Path) -> Path:
    """``torch.distributed.checkpoint.save`` in one process (no process group)."""
    import torch
    import torch.distributed.checkpoint as dcp

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    state = {"model": model.state_dict(), "step": 7}
    dcp.save(state, checkpoint_id=str(folder))
    return folder


def _small_module() -> Any:
    import torch

    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).relu()

    torch.manual_seed(0)
    return Small()


def save_torchscript(path: Path) -> Path:
    """``torch.jit.save`` of a scripted module, with an ``extra/`` file of plain JSON."""
    import torch

    torch.jit.save(
        torch.jit.script(_small_module()), str(path), _extra_files={"meta.json": '{"epoch": 3}'}
    )
    return path


def save_exported(path: Path) -> Path:
    """``torch.export.save`` of an exported program (a ``.pt2`` archive)."""
    import torch

    program = torch.export.export(_small_module(), (torch.zeros(1, 3),))
    torch.export.save(program, str(path))
    return path


def save_legacy(path: Path) -> Path:
    """A pre-1.6 (non-zip) torch file."""
    import torch

    torch.save(
        {"epoch": 2, "state_dict": {"fc.weight": torch.zeros(2, 3)}},
        str(path),
        _use_new_zipfile_serialization=False,
    )
    return path


def save_deepspeed_layout(folder: Path) -> Path:
    """The folder Lightning's DeepSpeed strategy saves as ``epoch=1-step=8.ckpt``: ``latest``
    naming the tag folder, which holds the model states (Lightning's keys) and the optimizer
    shards; written with ``torch.save`` in DeepSpeed's file names."""
    import torch

    tag = folder / "checkpoint"
    tag.mkdir(parents=True)
    (folder / "latest").write_text("checkpoint")
    (folder / "zero_to_fp32.py").write_text("# DeepSpeed's conversion script\n")
    torch.save(
        {
            "module": {"layer.weight": torch.zeros(2, 3)},
            "epoch": 1,
            "global_step": 8,
            "pytorch-lightning_version": "2.6.0",
            "ds_version": "0.16.0",
            "hyper_parameters": {"model": {"architecture": "dbnet"}},
        },
        tag / "mp_rank_00_model_states.pt",
    )
    torch.save(
        {"optimizer_state_dict": {"state": {}}, "ds_version": "0.16.0"},
        tag / "zero_pp_rank_0_mp_rank_00_optim_states.pt",
    )
    return folder


def write_formats_tree(root: Path) -> Path:
    """``root`` (an ``outputs/`` folder) with a Trainer run, sharded saves, DCP, DeepSpeed, code
    archives, a legacy file, a loose training-state file and a ``.bin`` that is no checkpoint."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    train_with_trainer(root / "bert-run")
    save_sharded(root / "hf" / "bert-safetensors", safetensors=True)
    save_sharded(root / "hf" / "bert-bin", safetensors=False)
    save_dcp(root / "dcp-run" / "checkpoints" / "step_7")
    save_deepspeed_layout(root / "ds-run" / "checkpoints" / "epoch=1-step=8.ckpt")
    (root / "archives").mkdir()
    save_torchscript(root / "archives" / "scripted.pt")
    save_exported(root / "archives" / "program.pt2")
    (root / "imagenet").mkdir()
    save_legacy(root / "imagenet" / "model_best.pth.tar")
    loose = root / "loose"
    loose.mkdir()
    trainer_folder = root / "bert-run" / "checkpoint-2"
    (loose / "optimizer.pt").write_bytes((trainer_folder / "optimizer.pt").read_bytes())
    (loose / "data.bin").write_bytes(b"\x00\x01 not a checkpoint, a data shard" * 10)
    return root
