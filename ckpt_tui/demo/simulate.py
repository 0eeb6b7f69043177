"""Replay a run's training and its ``ModelCheckpoint`` to learn which files it leaves, and what.

The replay follows Lightning 2.6's ``ModelCheckpoint`` step by step (top-k bookkeeping, ``-vN``
name versioning, ``save_last`` files and links, name formatting with ``auto_insert_metric_name``),
so the names and the callback state inside each file are what real training would have written,
including its quirks: ``current_score`` only changes when a file enters the top-k, so a
``last.ckpt`` may carry an older epoch's score. Pure Python: no torch here.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ckpt_tui.demo.spec import TRAIN_ROOT, Attempt, Run


@dataclass(frozen=True)
class Point:
    """One moment a checkpoint could be saved: after a validation run."""

    epoch: int
    step: int
    when: datetime
    metrics: dict[str, float]
    """Logged values by name: ``val/hmean``, ``val/precision``, ``val/recall``, ``val/loss``..."""
    end_of_epoch: bool = True
    topk: bool = True
    """Whether the ModelCheckpoint's top-k trigger fires here."""


@dataclass
class Saved:
    """A checkpoint file as training left it: where it was written and the state it holds."""

    name: str
    """Path relative to the run's checkpoint folder (may hold a "/" from a metric name)."""
    attempt: int
    point: Point
    callback: dict[str, object]
    """ModelCheckpoint state (scores as floats; the writer makes 0-dim tensors of them)."""
    early_stopping: dict[str, object] | None = None
    link_to: str | None = None
    """For a ``save_last="link"`` file: the name it links to."""
    delay: int = 0
    """Seconds after ``point.when`` the file was written (``last`` comes after the top-k file)."""


@dataclass
class _Checkpoint:
    """The state of one ModelCheckpoint instance (one per attempt)."""

    run: Run
    dirpath: str
    files: dict[str, Saved]
    best_k: dict[str, float] = field(default_factory=dict)
    kth_path: str = ""
    kth_value: float = 0.0
    best_path: str = ""
    best_score: float | None = None
    current: float | None = None
    last_path: str = ""
    last_saved: str = ""

    def __post_init__(self) -> None:
        self.kth_value = -math.inf if self.run.checkpointing.mode == "max" else math.inf

    def state(self) -> dict[str, object]:
        return {
            "monitor": self.run.checkpointing.monitor,
            "best_model_score": self.best_score,
            "best_model_path": self.best_path,
            "current_score": self.current,
            "dirpath": self.dirpath,
            "best_k_models": dict(self.best_k),
            "kth_best_model_path": self.kth_path,
            "kth_value": self.kth_value,
            "last_model_path": self.last_path,
        }

    def path(self, name: str) -> str:
        return f"{self.dirpath}/{name}"

    def name(self, path: str) -> str:
        return path.removeprefix(self.dirpath + "/")

    def exists(self, path: str) -> bool:
        return self.name(path) in self.files

    def format(self, point: Point, filename: str | None, ver: int | None = None) -> str:
        """Lightning's ``format_checkpoint_name`` (same regex, same replacements)."""
        cfg = self.run.checkpointing
        text = filename or "{epoch}-{step}"
        values: dict[str, object] = {"epoch": point.epoch, "step": point.step, **point.metrics}
        groups = sorted(re.findall(r"(\{.*?)[:\}]", text), key=len, reverse=True)
        for group in groups:
            name = group[1:]
            if cfg.auto_insert_metric_name and filename != "last":
                text = text.replace(group, name + cfg.equals_char + "{" + name)
            text = text.replace(group, f"{{0[{name}]")
            values.setdefault(name, 0)
        text = text.format(values)
        if ver is not None:
            text = f"{text}-v{ver}"
        return self.path(text + ".ckpt")

    def save(self, path: str, attempt: int, point: Point, es: dict[str, object] | None) -> None:
        name = self.name(path)
        self.files[name] = Saved(name, attempt, point, self.state(), es)
        self.last_saved = path

    def on_validation_end(self, attempt: int, point: Point, es: dict[str, object] | None) -> None:
        cfg = self.run.checkpointing
        if point.topk and cfg.save_top_k != 0:
            if cfg.monitor is None:
                self._none_monitor(attempt, point, es)
            else:
                self._topk(attempt, point, es)
        if cfg.save_last:
            self._last(attempt, point, es)

    def _none_monitor(self, attempt: int, point: Point, es: dict[str, object] | None) -> None:
        path = self._versioned(point, self.run.checkpointing.filename, self.best_path)
        previous, self.best_path = self.best_path, path
        self.save(path, attempt, point, es)
        if self.run.checkpointing.save_top_k == 1 and previous and previous != path:
            self.files.pop(self.name(previous), None)

    def _topk(self, attempt: int, point: Point, es: dict[str, object] | None) -> None:
        cfg = self.run.checkpointing
        assert cfg.monitor is not None
        current = point.metrics[cfg.monitor]
        better = (lambda a, b: a > b) if cfg.mode == "max" else (lambda a, b: a < b)
        k = len(self.best_k) + 1 if cfg.save_top_k == -1 else cfg.save_top_k
        if (
            cfg.save_top_k != -1
            and len(self.best_k) >= k
            and not better(current, self.best_k[self.kth_path])
        ):
            return
        delete = None
        if len(self.best_k) == k:
            delete = self.kth_path
            self.best_k.pop(delete)
        path = self._versioned(point, cfg.filename, delete)
        self.current = current
        self.best_k[path] = current
        worst, best = (min, max) if cfg.mode == "max" else (max, min)
        if len(self.best_k) == k:
            self.kth_path = worst(self.best_k, key=self.best_k.__getitem__)
            self.kth_value = self.best_k[self.kth_path]
        self.best_path = best(self.best_k, key=self.best_k.__getitem__)
        self.best_score = self.best_k[self.best_path]
        self.save(path, attempt, point, es)
        if delete and delete != path:
            self.files.pop(self.name(delete), None)

    def _last(self, attempt: int, point: Point, es: dict[str, object] | None) -> None:
        path = self.format(point, "last")
        ver = 1
        while self.exists(path) and path != self.last_path:
            path, ver = self.format(point, "last", ver), ver + 1
        previous, self.last_path = self.last_path, path
        if self.run.checkpointing.save_last == "link" and self.last_saved:
            target = self.name(self.last_saved)
            self.files[self.name(path)] = Saved(
                self.name(path), attempt, point, self.state(), es, link_to=target, delay=1
            )
        else:
            self.save(path, attempt, point, es)
            self.files[self.name(path)].delay = 3
        if previous and previous != path:
            self.files.pop(self.name(previous), None)

    def _versioned(self, point: Point, filename: str | None, delete: str | None) -> str:
        path = self.format(point, filename)
        ver = 1
        while self.exists(path) and path != delete:
            path, ver = self.format(point, filename, ver), ver + 1
        return path


def hmean(precision: float, recall: float) -> float:
    """The harmonic mean of precision and recall."""
    return 2 * precision * recall / (precision + recall)


def trajectory(attempt: Attempt, count: int, rng: random.Random) -> list[float]:
    """Validation hmean at each of ``count`` save points: a noisy learning curve.

    When the attempt names ``keep`` points, the curve's values are shuffled so that those points
    hold its best values (or the exact ``scores``), keeping the rest in their natural order. The
    top-k, and so the file names, then never depend on the seed.
    """
    start, end, tau = rng.uniform(0.25, 0.45), rng.uniform(0.80, 0.90), max(1.0, count / 4)
    if attempt.scores:  # a curve that plateaus just under the scores the file names show
        end = min(attempt.scores) - rng.uniform(0.004, 0.012)
    values = [
        round(
            min(0.97, start + (end - start) * (1 - math.exp(-(i + 1) / tau)) + rng.gauss(0, 0.006)),
            4,
        )
        for i in range(count)
    ]
    if not attempt.keep:
        return values
    k = len(attempt.keep)
    ranked = sorted(values)
    top = sorted(attempt.scores) if attempt.scores else ranked[-k:]
    rest = ranked[:-k]
    ceiling = min(top) - 0.0005  # the rest must stay strictly below every kept value
    rest = [min(v, round(ceiling - 0.0001 * (len(rest) - i), 4)) for i, v in enumerate(rest)]
    for i in range(1, k):  # kept values strictly increasing, so the top-k order is fixed
        top[i] = max(top[i], round(top[i - 1] + 0.0001, 4))
    out = list(values)
    keep = sorted(attempt.keep) if not attempt.scores else list(attempt.keep)
    kept_values = top if not attempt.scores else list(attempt.scores)
    for index, value in zip(keep, kept_values, strict=True):
        out[index] = value
    others = sorted((i for i in range(count) if i not in attempt.keep), key=lambda i: values[i])
    for index, value in zip(others, rest, strict=True):
        out[index] = value
    return out


def points(run: Run, attempt: Attempt, rng: random.Random) -> list[Point]:
    """The save points of one attempt, with their metrics and wall-clock times."""
    cfg, spe = run.checkpointing, run.steps_per_epoch
    slots: list[tuple[int, int, bool, bool]] = []  # (epoch, step, end_of_epoch, topk)
    if cfg.every_n_train_steps:
        interval = cfg.every_n_train_steps
        slots = [
            ((s - 1) // spe, s, False, True)
            for s in range(interval, attempt.epochs * spe + 1, interval)
        ]
    else:
        every = cfg.every_n_epochs or 1
        slots = [(e, (e + 1) * spe, True, (e + 1) % every == 0) for e in range(attempt.epochs)]
    hmeans = trajectory(attempt, len(slots), rng)
    out: list[Point] = []
    minutes_per_step = run.epoch_minutes / spe
    for (epoch, step, end, topk), h in zip(slots, hmeans, strict=True):
        precision = round(min(0.99, h + rng.uniform(-0.02, 0.035)), 4)
        recall = round(min(0.99, h * precision / (2 * precision - h)), 4)
        metrics = {
            "val/hmean": h,
            "val/precision": precision,
            "val/recall": recall,
            "val/loss": round(max(0.01, 1.05 - h + rng.uniform(-0.02, 0.02)), 4),
            "train/loss": round(max(0.01, 1.2 - h + rng.uniform(-0.05, 0.05)), 4),
        }
        seconds = round(step * minutes_per_step * 60 + rng.uniform(20, 50))
        out.append(
            Point(epoch, step, attempt.start + timedelta(seconds=seconds), metrics, end, topk)
        )
    return out


def run_points(run: Run, seed: int) -> list[list[Point]]:
    """The save points of every attempt of a run (the same for the same seed)."""
    rng = random.Random(f"{seed}:{run.key}")
    return [points(run, attempt, rng) for attempt in run.attempts]


def replay(run: Run, seed: int) -> dict[str, Saved]:
    """The files a run leaves in its checkpoint folder, by name."""
    dirpath = f"{TRAIN_ROOT}/{run.folder}/{run.ckpt_dir}"
    files: dict[str, Saved] = {}
    for index, attempt_points in enumerate(run_points(run, seed)):
        checkpoint = _Checkpoint(run, dirpath, files)
        stopper = _EarlyStopping(run.checkpointing.mode) if run.early_stopping else None
        for point in attempt_points:
            es = stopper.update(point.metrics["val/hmean"]) if stopper else None
            checkpoint.on_validation_end(index, point, es)
    return files


@dataclass
class _EarlyStopping:
    """Lightning's EarlyStopping state (patience 20, never triggered in the demo)."""

    mode: str
    best: float = 0.0
    wait: int = 0

    def __post_init__(self) -> None:
        self.best = -math.inf if self.mode == "max" else math.inf

    def update(self, value: float) -> dict[str, object]:
        improved = value > self.best if self.mode == "max" else value < self.best
        self.best, self.wait = (value, 0) if improved else (self.best, self.wait + 1)
        return {
            "wait_count": self.wait,
            "stopped_epoch": 0,
            "best_score": self.best,
            "patience": 20,
            "stopping_reason": 0,
            "stopping_reason_message": None,
        }
