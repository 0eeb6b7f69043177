"""Plain sidecars are read without PyYAML and validated without pydantic; unusual ones as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from catalog_helpers import write_text

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX

COUNT_PYDANTIC = """
import json, sys
from ckpt_tui.catalog.api import build_catalog
catalog = build_catalog(sys.argv[1], use_cache=False)
print(json.dumps({
    "sources": sorted({entry.source for entry in catalog.entries}),
    "hmeans": sorted(entry.hmean for entry in catalog.entries),
    "pydantic": "pydantic" in sys.modules,
    "yaml": "yaml" in sys.modules,
}))
"""


def build_in_fresh_process(root: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", COUNT_PYDANTIC, str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_a_tree_of_plain_sidecars_is_built_without_importing_pydantic(
    tmp_path: Path, write_checkpoint, write_sidecar
) -> None:
    for index in range(3):
        ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / f"epoch={index}.ckpt")
        write_sidecar(ckpt)
    seen = build_in_fresh_process(tmp_path)
    assert seen == {
        "sources": ["sidecar"],
        "hmeans": [0.84, 0.84, 0.84],
        "pydantic": False,
        "yaml": False,  # the fast YAML reader needed no PyYAML either
    }


def test_an_unusual_but_valid_sidecar_still_counts_through_pydantic(
    tmp_path: Path, write_checkpoint, write_sidecar
) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=1.ckpt")
    sidecar = write_sidecar(ckpt)
    # pydantic reads "0.5" as 0.5 and 1 as True: valid, but not the plain shape.
    text = sidecar.read_text().replace("hmean: 0.84", "hmean: '0.5'")
    sidecar.write_text(text + "model_extra: 1\n")
    assert "'0.5'" in sidecar.read_text()
    seen = build_in_fresh_process(tmp_path)
    assert seen["sources"] == ["sidecar"] and seen["hmeans"] == [0.5] and seen["pydantic"]


def test_an_invalid_sidecar_names_its_field_as_before(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=2.ckpt")
    write_text(
        ckpt.with_name("epoch=2" + SIDECAR_SUFFIX),
        "checkpoint_path: x\nexp_name: e\ncreated_at: '2025-01-01'\n"
        "training: {epoch: -1, global_step: 0}\n"
        "model: {architecture: dbnet, encoder: {model_name: resnet18}}\nmetrics: {hmean: 0.5}\n",
    )
    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert entry.source != "sidecar"
    messages = [issue.message for issue in entry.issues if issue.code == "sidecar.invalid"]
    assert messages == [
        "epoch=2.metadata.yaml: training.epoch: Input should be greater than or equal to 0"
    ]
