"""Differential oracle, run in a subprocess on TRUSTED fixtures only (written by these tests).

``python reader_oracle.py FILE...`` prints one JSON object: FILE → the canonical tree of
``torch.load(FILE, weights_only=False)``. Tensors become ``{"__tensor__": [dtype, shape]}`` plus
``"value"`` for one-element tensors; OmegaConf containers, Namespaces and paths become plain data,
the same canonical form the tests build from the safe reader's output.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
from typing import Any


def canon(value: Any) -> Any:
    import torch
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        out: dict[str, Any] = {"__tensor__": [dtype, list(value.shape)]}
        if value.numel() == 1 and value.device.type != "meta" and not value.is_quantized:
            item = value.item()
            if isinstance(item, float) and math.isnan(item):
                item = "nan"
            out["value"] = item if isinstance(item, (bool, int, float, str)) else str(item)
        return out
    if isinstance(value, (DictConfig, ListConfig)):
        return canon(OmegaConf.to_container(value, resolve=False))
    if isinstance(value, argparse.Namespace):
        return canon(vars(value))
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, torch.Size):
        return list(value)
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(canon(v) for v in value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__class__": f"{type(value).__module__}.{type(value).__qualname__}"}


def main() -> int:
    import torch

    result = {}
    for name in sys.argv[1:]:
        result[name] = canon(torch.load(name, map_location="cpu", weights_only=False))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
