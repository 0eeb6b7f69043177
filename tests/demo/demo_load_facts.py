"""Run as a script: load demo checkpoints with torch and print what they hold, as JSON.

Usage: ``python demo_load_facts.py ROOT CKPT...``. Uses ``torch.load(weights_only=False)``, so it
runs only in a subprocess of the tests, only on the demo's own (trusted) files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _score(value: Any) -> Any:
    import torch

    if value is None:
        return None
    assert isinstance(value, torch.Tensor), type(value)
    return {"value": float(value), "dim": value.dim(), "dtype": str(value.dtype)}


def _digest(state_dict: dict[str, Any]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for key, value in state_dict.items():
        digest.update(key.encode())
        digest.update(repr(value.flatten().tolist()).encode())  # no numpy needed
    return digest.hexdigest()


def facts(path: Path) -> dict[str, Any]:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a broken file: report, do not stop
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    out: dict[str, Any] = {
        "keys": list(ckpt),
        "epoch": ckpt["epoch"],
        "global_step": ckpt["global_step"],
        "version": ckpt["pytorch-lightning_version"],
        "state_dict": {k: [list(v.shape), str(v.dtype)] for k, v in ckpt["state_dict"].items()},
        "hparams_class": type(ckpt["hyper_parameters"]).__name__,
        "hparams_type": repr(ckpt.get("hparams_type")),
        "hparams_name": ckpt.get("hparams_name"),
        "loops_fit_keys": list(ckpt["loops"]["fit_loop"]),
        "cleval": ckpt.get("cleval_metrics"),
        "weights_digest": _digest(ckpt["state_dict"]),
    }
    hp = ckpt["hyper_parameters"]
    if out["hparams_class"] == "DictConfig":
        from omegaconf import OmegaConf

        hp = OmegaConf.to_container(hp)
    out["hparams"] = hp
    if "callbacks" in ckpt:
        out["callbacks"] = {}
        for key, state in ckpt["callbacks"].items():
            shown = dict(state)
            for name in ("best_model_score", "current_score", "kth_value", "best_score"):
                if name in shown:
                    shown[name] = _score(shown[name])
            if "best_k_models" in shown:
                shown["best_k_models"] = {p: _score(v) for p, v in shown["best_k_models"].items()}
            out["callbacks"][key] = shown
        optimizer = ckpt["optimizer_states"][0]
        first_state = optimizer["state"].get(0, {})
        out["optimizer"] = {
            "state_count": len(optimizer["state"]),
            "state_keys": list(first_state),
            "group_keys": list(optimizer["param_groups"][0]),
            "lr": optimizer["param_groups"][0]["lr"],
            "params": len(optimizer["param_groups"][0]["params"]),
        }
        out["scheduler_keys"] = list(ckpt["lr_schedulers"][0])
    return out


def main() -> None:
    root = Path(sys.argv[1])
    result = {}
    for name in sys.argv[2:]:
        path = Path(name)
        result[path.relative_to(root).as_posix()] = facts(path)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
