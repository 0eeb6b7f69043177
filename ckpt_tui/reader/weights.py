"""Where a checkpoint's weights are: the tensors of a state dict, however it is nested.

A state dict may sit under ``state_dict`` (Lightning), ``model_state_dict`` or ``model``, be the
checkpoint itself, be a pickled ``nn.Module`` (its ``_parameters``, ``_buffers``, ``_modules``), or
be the entry holding the most tensors (``net``, ``ema``). Names are keys joined with dots.
"""

from __future__ import annotations

from typing import Any

from ckpt_tui.reader.unpickle.objects import Call, TensorRef

WEIGHT_KEYS = ("state_dict", "model_state_dict", "model")
_MAX_FLATTEN_DEPTH = 6
_MAX_WEIGHTS = 1_000_000
_MAX_WALK_STEPS = 2_000_000
"""Items the search for weights looks at (a pickle holds at most 2,000,000 objects)."""
_MAX_NAME_CHARS = 64 * 1024 * 1024
"""Characters of tensor names the search builds (real names are under 300 characters)."""
_NOT_WEIGHTS = frozenset(
    {"callbacks", "loops", "lr_schedulers", "hyper_parameters", "datamodule_hyper_parameters"}
    | {"cleval_metrics", "metrics", "scheduler", "scaler", "amp"}
)


class _Walk:
    """The budget of one search for weights: items looked at and characters of names built.

    Dicts and modules a pickle shares (memo references) are walked once per reference, so a few
    KB of pickle can name a dict of 40 keys whose values are the same dict, seven levels deep;
    and one long key prefix is copied into every name under it. Both are bounded here.
    """

    def __init__(self) -> None:
        self.steps_left = _MAX_WALK_STEPS
        self.chars_left = _MAX_NAME_CHARS
        self.cut = False
        """Whether the walk stopped before the end (its tensors are then not all the weights)."""

    def spend(self, name: str) -> bool:
        """Count one item named ``name``; ``False`` (and ``cut``) once the budget is spent."""
        self.steps_left -= 1
        self.chars_left -= len(name)
        if self.steps_left < 0 or self.chars_left < 0:
            self.cut = True
        return not self.cut


def _weights_from(
    value: Any, prefix: str, out: dict[str, TensorRef], depth: int, walk: _Walk
) -> None:
    """Tensors of a (possibly nested) dict or pickled ``nn.Module``, keys joined with dots."""
    if depth > _MAX_FLATTEN_DEPTH or walk.cut:
        return
    if len(out) > _MAX_WEIGHTS:
        walk.cut = True
        return
    if isinstance(value, Call) and isinstance(value.state, dict):
        # A whole nn.Module: its parameters, buffers and submodules live in its __dict__.
        state = value.state
        for part in ("_parameters", "_buffers"):
            _weights_from(state.get(part), prefix, out, depth + 1, walk)
        modules = state.get("_modules")
        if isinstance(modules, dict):
            for name, child in modules.items():
                if isinstance(name, str) and walk.spend(prefix + name):
                    _weights_from(child, f"{prefix}{name}.", out, depth + 1, walk)
        return
    if isinstance(value, Call) and value.dictitems is not None:
        value = dict(pair for pair in value.dictitems if isinstance(pair[0], str))
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if not isinstance(key, str):
            continue
        if not walk.spend(prefix + key):
            return
        if isinstance(item, TensorRef):
            out[prefix + key] = item
        elif isinstance(item, (dict, Call)):
            _weights_from(item, f"{prefix}{key}.", out, depth + 1, walk)


def find_weights(root: Any) -> tuple[str | None, dict[str, TensorRef], bool]:
    """Where the weights are, their tensors (see ``CheckpointInspection.weights_key``), and
    whether the search saw everything (``False``: cut short by its budget, see :class:`_Walk`)."""
    walk = _Walk()
    found = _find_weights(root, walk)
    return found[0], found[1], not walk.cut


def _find_weights(root: Any, walk: _Walk) -> tuple[str | None, dict[str, TensorRef]]:
    if isinstance(root, Call):
        tensors: dict[str, TensorRef] = {}
        _weights_from(root, "", tensors, 0, walk)
        return ("", tensors) if tensors else (None, {})
    if not isinstance(root, dict):
        return None, {}
    for key in WEIGHT_KEYS:
        if key in root:
            tensors = {}
            _weights_from(root[key], "", tensors, 0, walk)
            if tensors:
                return key, tensors
    direct = sum(isinstance(v, TensorRef) for v in root.values())
    if direct and direct * 2 >= len(root):
        tensors = {}
        _weights_from(root, "", tensors, 0, walk)
        return "", tensors
    # Otherwise the entry holding the most tensors ("net", "ema", ...), never Lightning's own.
    best: tuple[str | None, dict[str, TensorRef]] = (None, {})
    for key, value in root.items():
        if not isinstance(key, str) or key in _NOT_WEIGHTS or key.startswith("optim"):
            continue
        if isinstance(value, (dict, Call)):
            tensors = {}
            _weights_from(value, "", tensors, 0, walk)
            if len(tensors) > len(best[1]):
                best = (key, tensors)
    return best
