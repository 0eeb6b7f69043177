"""Write the demo tree: replay each run, write its checkpoints, sidecars and config files."""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ckpt_tui.demo import configs, extras
from ckpt_tui.demo.lightning_dict import Weights, checkpoint_dict, weights
from ckpt_tui.demo.runs import RUNS
from ckpt_tui.demo.serialize import legacy_bytes, zip_bytes
from ckpt_tui.demo.simulate import Saved, replay, run_points
from ckpt_tui.demo.spec import Run
from ckpt_tui.io.atomic import atomic_write_bytes, atomic_write_text
from ckpt_tui.io.safe_yaml import dump_yaml
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, save_metadata


@dataclass
class DemoSummary:
    """What :func:`write_demo_tree` wrote. Paths are absolute, under ``root``, sorted."""

    root: Path
    checkpoints: list[Path] = field(default_factory=list)
    """Every checkpoint file, including the link, the legacy file and the broken ones."""
    with_sidecar: list[Path] = field(default_factory=list)
    """Checkpoints that have a sidecar (under either name)."""
    broken: list[Path] = field(default_factory=list)
    """The truncated and the zero-byte checkpoints."""
    legacy: list[Path] = field(default_factory=list)
    """Checkpoints in torch's legacy (non-zip) format."""
    links: list[Path] = field(default_factory=list)
    """Checkpoints that are symbolic links to another checkpoint."""
    runs: list[Path] = field(default_factory=list)
    """The run folders."""
    total_bytes: int = 0
    """Bytes written in checkpoint files."""
    elapsed: float = 0.0
    """Seconds the write took (including importing torch, when not imported before)."""


def write_demo_tree(dest: Path, *, seed: int = 0) -> DemoSummary:
    """Write the demo outputs tree with ``dest`` as its ``outputs/`` folder (created if missing:
    the run folders are its children) and return a summary.

    The tree is the same for the same ``seed``: names, contents (checkpoint bytes too) and
    mtimes. Existing files at the demo's paths are replaced; nothing else in ``dest`` is touched.
    Raises ``OSError`` when ``dest`` cannot be written.
    """
    started = time.perf_counter()
    root = Path(dest).absolute()
    root.mkdir(parents=True, exist_ok=True)
    summary = DemoSummary(root=root)
    omegaconf = _omegaconf()
    for run in RUNS:
        _write_run(root, run, seed, omegaconf, summary)
    for name in ("checkpoints", "with_sidecar", "broken", "legacy", "links", "runs"):
        getattr(summary, name).sort()
    summary.elapsed = time.perf_counter() - started
    return summary


def _omegaconf() -> Any:
    try:
        from omegaconf import OmegaConf
    except ImportError:  # omegaconf is a dev dependency: fall back to plain dicts
        return None
    return OmegaConf


def _write_run(root: Path, run: Run, seed: int, omegaconf: Any, summary: DemoSummary) -> None:
    run_dir = root / run.folder
    ckpt_dir = run_dir / run.ckpt_dir
    summary.runs.append(run_dir)
    hparams: Any = (
        configs.run_config(run, resolved=True)
        if run.config != "lightning_logs"
        else configs.lightning_hparams(run)
    )
    dm_hparams: Any = configs.datamodule_hparams(run) if run.datamodule_hparams else None
    if omegaconf is not None and run.omegaconf:
        hparams = omegaconf.create(hparams)
        dm_hparams = omegaconf.create(dm_hparams) if dm_hparams is not None else None

    trained: dict[tuple[int, int], Weights] = {}  # a top-k file and last.ckpt share weights
    for saved in replay(run, seed).values():
        path = ckpt_dir / saved.name
        path.parent.mkdir(parents=True, exist_ok=True)
        summary.checkpoints.append(path)
        if saved.link_to is not None:
            _symlink(os.path.relpath(ckpt_dir / saved.link_to, path.parent), path)
            summary.links.append(path)
        else:
            moment = (saved.attempt, saved.point.step)
            if moment not in trained:
                point_seed = zlib.crc32(f"{seed}:{run.key}:{moment}".encode())
                trained[moment] = weights(run, saved.point.step, point_seed)
            data = checkpoint_dict(
                run,
                saved,
                trained[moment],
                hyper_parameters=hparams,
                datamodule_hyper_parameters=dm_hparams,
            )
            raw = legacy_bytes(data) if saved.name in run.legacy else zip_bytes(data)
            if saved.name in run.legacy:
                summary.legacy.append(path)
            if saved.name in run.truncated:
                raw = raw[: len(raw) // 2]  # a copy that was cut off half-way
                summary.broken.append(path)
            atomic_write_bytes(path, raw)
            summary.total_bytes += len(raw)
        _touch(path, saved.point.when + timedelta(seconds=saved.delay))
        if saved.name in run.sidecars:
            _write_sidecars(root, run, saved, path)
            summary.with_sidecar.append(path)

    for name, epoch in run.zero_byte:
        path = ckpt_dir / name
        atomic_write_bytes(path, b"")  # the process died right after opening the file
        when = run.attempts[-1].start + timedelta(minutes=(epoch + 1) * run.epoch_minutes)
        _touch(path, when + timedelta(seconds=37))
        summary.checkpoints.append(path)
        summary.broken.append(path)

    all_points = [point for attempt in run_points(run, seed) for point in attempt]
    for rel, (text, when) in extras.run_files(run, all_points).items():
        target = run_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, text)
        _touch(target, when)
    if run.wandb_folder and run.wandb_id:
        link = run_dir / "wandb" / "latest-run"
        _symlink(Path(extras.wandb_run_folder(run)).name, link)
        _touch(link, run.attempts[0].start)


def _write_sidecars(root: Path, run: Run, saved: Saved, path: Path) -> None:
    when = saved.point.when + timedelta(seconds=saved.delay)
    metadata = extras.sidecar(run, saved.point, path.relative_to(root).as_posix(), when)
    which = run.sidecars[saved.name]
    if which in ("name", "both"):
        # The other tool's name, ``<name>.metadata.yaml``; with both, it is the older one.
        named = path.parent / (path.name + SIDECAR_SUFFIX)
        atomic_write_text(named, dump_yaml(metadata.to_yaml_dict()))
        _touch(named, when + timedelta(seconds=1))
    if which in ("stem", "both"):
        stem = save_metadata(metadata, path)
        _touch(stem, when + timedelta(seconds=2))


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink() or link.is_file():
        link.unlink()
    os.symlink(target, link)


def _touch(path: Path, when: datetime) -> None:
    ns = int(when.timestamp()) * 1_000_000_000
    os.utime(path, ns=(ns, ns), follow_symlinks=False)
