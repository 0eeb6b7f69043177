"""Importing ``ckpt_tui.callbacks`` is cheap; the class appears on first access, for both
Lightning flavours."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("torch", "lightning", "lightning.pytorch", "pytorch_lightning", "hydra", "textual")


def run_python(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_import_pulls_in_neither_torch_nor_lightning() -> None:
    result = run_python(
        f"""
        import json, sys
        import ckpt_tui.callbacks
        import ckpt_tui.callbacks.core, ckpt_tui.callbacks.hooks, ckpt_tui.callbacks.metrics
        import ckpt_tui.callbacks.model_info, ckpt_tui.callbacks.run_info
        from ckpt_tui.callbacks import MetadataCallbackWarning
        print(json.dumps({{"loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
        """
    )
    assert result == {"loaded": []}


def test_first_access_builds_a_callback_of_every_installed_flavour() -> None:
    import importlib

    import ckpt_tui.callbacks as package
    from ckpt_tui.callbacks import MetadataCallback

    flavours = {}
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        flavours[name] = issubclass(MetadataCallback, module.Callback)
    assert flavours, "no Lightning installed?"
    assert all(flavours.values()), flavours
    assert package.MetadataCallback is MetadataCallback
    # Picklable by reference (ddp_spawn pickles callbacks): module + qualname resolve to it.
    where = importlib.import_module(MetadataCallback.__module__)
    assert getattr(where, MetadataCallback.__qualname__) is MetadataCallback


def test_unknown_attribute_is_an_attribute_error() -> None:
    import ckpt_tui.callbacks

    try:
        ckpt_tui.callbacks.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
