"""What torch itself reads in the demo checkpoints (loaded in a subprocess, see conftest)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from demo_helpers import rel

from ckpt_tui.demo import DemoSummary
from ckpt_tui.demo.runs import RUNS
from ckpt_tui.demo.spec import TRAIN_ROOT
from ckpt_tui.sidecar.files import read_sidecar

Facts = dict[str, dict[str, Any]]

LIGHTNING_KEYS = [
    "epoch",
    "global_step",
    "pytorch-lightning_version",
    "state_dict",
    "loops",
    "callbacks",
    "optimizer_states",
    "lr_schedulers",
    "hparams_name",
    "hyper_parameters",
]
DEFAULT_STATE_KEY = (
    "ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max', 'every_n_train_steps': 0, "
    "'every_n_epochs': 1, 'train_time_interval': None}"
)
ENCODER = "model.encoder.model."


def _loaded(facts: Facts) -> Facts:
    return {name: f for name, f in facts.items() if "error" not in f}


def _run_of(name: str) -> Any:
    return next(r for r in RUNS if name.startswith(f"{r.folder}/{r.ckpt_dir}/"))


def _checkpoint_state(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    states = [(k, v) for k, v in f["callbacks"].items() if k.startswith("ModelCheckpoint{")]
    assert len(states) == 1
    return states[0]


def test_every_intact_checkpoint_loads_and_the_broken_ones_do_not(
    demo: DemoSummary, facts: Facts
) -> None:
    broken = {rel(demo, p) for p in demo.broken}
    failed = {name for name, f in facts.items() if "error" in f}
    assert failed == broken
    assert len(_loaded(facts)) == len(demo.checkpoints) - 2


def test_lightning_key_order_and_version(facts: Facts) -> None:
    for name, f in _loaded(facts).items():
        run = _run_of(name)
        if run.checkpointing.save_weights_only:
            expected = [
                k
                for k in LIGHTNING_KEYS
                if k not in ("callbacks", "optimizer_states", "lr_schedulers")
            ]
        else:
            expected = LIGHTNING_KEYS
        assert f["keys"][: len(expected)] == expected, name
        assert f["version"] == run.lightning_version
        assert f["loops_fit_keys"][:2] == ["state_dict", "epoch_loop.state_dict"]


def test_epoch_and_step_match_the_names(facts: Facts) -> None:
    patterns = [
        r"epoch=(\d+)-step=(\d+)",
        r"epoch_(\d+)_step_(\d+)",
        r"epoch-(\d+)-step-(\d+)",
        r"epoch-(\d+)_step-(\d+)",
        r"epoch_epoch_(\d+)_step_step_(\d+)_",
    ]
    matched = Counter[str]()
    for name, f in _loaded(facts).items():
        for pattern in patterns:
            if m := re.search(pattern, name.rsplit("/", 1)[-1]):
                assert (f["epoch"], f["global_step"]) == (int(m[1]), int(m[2])), name
                matched[pattern] += 1
                break
    assert set(matched) == set(patterns)


def test_model_checkpoint_state_holds_real_scores(facts: Facts) -> None:
    by_key = Counter[str]()
    for name, f in _loaded(facts).items():
        if "callbacks" not in f:
            continue
        key, state = _checkpoint_state(f)
        by_key[key] += 1
        assert list(state) == [
            "monitor",
            "best_model_score",
            "best_model_path",
            "current_score",
            "dirpath",
            "best_k_models",
            "kth_best_model_path",
            "kth_value",
            "last_model_path",
        ]
        assert state["dirpath"].startswith(TRAIN_ROOT + "/")
        for score in [state["kth_value"], *state["best_k_models"].values()]:
            assert score["dim"] == 0 and score["dtype"] == "torch.float32"
        if state["monitor"] is None:  # Lightning's default callback keeps no scores
            assert state["best_k_models"] == {} and state["current_score"] is None
            continue
        best = max(v["value"] for v in state["best_k_models"].values())
        assert state["best_model_score"]["value"] == best
        assert state["best_model_path"] in state["best_k_models"]
        own = [
            v["value"]
            for p, v in state["best_k_models"].items()
            if p.endswith("/" + name.split("checkpoints/", 1)[-1])
        ]
        if not name.rsplit("/", 1)[-1].startswith("last"):
            assert len(own) == 1, name  # a top-k file is in its own best_k_models
    assert by_key[DEFAULT_STATE_KEY] >= 10
    assert any("'every_n_train_steps': 103" in key for key in by_key)
    assert any("'monitor': None" in key for key in by_key)


def test_scores_in_names_match_the_state(facts: Facts) -> None:
    for name, value in [
        ("pan_resnet34_canonical/checkpoints/best-hmean-0.8920.ckpt", 0.8920),
        ("2025-10-14/16-05-33/checkpoints/val/hmean=0.8123.ckpt", 0.8123),
    ]:
        _, state = _checkpoint_state(facts[name])
        assert state["current_score"]["value"] == pytest.approx(value, abs=1e-6)
        own = next(v for p, v in state["best_k_models"].items() if p.endswith(name[-22:]))
        assert own["value"] == pytest.approx(value, abs=1e-6)


def test_hyper_parameters_are_omegaconf_for_hydra_runs(facts: Facts) -> None:
    kinds = Counter[str]()
    for name, f in _loaded(facts).items():
        run = _run_of(name)
        kinds[f["hparams_class"]] += 1
        expected = "DictConfig" if run.omegaconf else "dict"
        assert f["hparams_class"] == expected, name
        assert f["hparams_name"] == "config"
        if expected == "DictConfig":
            assert f["hparams_type"] == "<class 'omegaconf.dictconfig.DictConfig'>"
        model = f["hparams"]["model"]
        arch = model.get("architecture") or model.get("architectures")
        assert arch == run.model.architecture
        if "trainer" in f["hparams"]:
            assert f["hparams"]["trainer"]["max_epochs"] == run.planned_epochs
    assert kinds["DictConfig"] > 40 and kinds["dict"] >= 3


def _blocks(keys: list[str]) -> tuple[list[int], bool]:
    per_layer = []
    for layer in range(1, 5):
        ids = {int(m[1]) for k in keys if (m := re.match(rf"{ENCODER}layer{layer}\.(\d+)\.", k))}
        per_layer.append(len(ids))
    return per_layer, any(k.endswith(".conv3.weight") for k in keys)


@pytest.mark.parametrize(
    ("encoder", "blocks", "bottleneck"),
    [
        ("resnet18", [2, 2, 2, 2], False),
        ("resnet34", [3, 4, 6, 3], False),
        ("resnet50", [3, 4, 6, 3], True),
    ],
)
def test_resnet_depth_is_in_the_block_structure(
    facts: Facts, encoder: str, blocks: list[int], bottleneck: bool
) -> None:
    files = [f for n, f in _loaded(facts).items() if _run_of(n).model.encoder == encoder]
    assert files
    for f in files:
        assert _blocks(list(f["state_dict"])) == (blocks, bottleneck)
        assert f["state_dict"][f"{ENCODER}conv1.weight"][0][1:] == [3, 7, 7]


@pytest.mark.parametrize(
    ("encoder", "stem", "stages"),
    [("mobilenetv3_small_050", 8, 6), ("mobilenetv3_large_100", 16, 7), ("efficientnet_b0", 32, 7)],
)
def test_efficient_encoders_keep_timm_stem_widths(
    facts: Facts, encoder: str, stem: int, stages: int
) -> None:
    files = [f for n, f in _loaded(facts).items() if _run_of(n).model.encoder == encoder]
    assert files
    for f in files:
        shape, dtype = f["state_dict"][f"{ENCODER}conv_stem.weight"]
        assert shape == [stem, 3, 3, 3] and dtype == "torch.float32"
        found = {
            int(m[1]) for k in f["state_dict"] if (m := re.match(rf"{ENCODER}blocks\.(\d+)\.", k))
        }
        assert found == set(range(stages))


def test_decoder_and_head_key_families(facts: Facts) -> None:
    family = {
        "unet": "inners",
        "fpn_decoder": "fusion",
        "pan_decoder": "bottom_up",
        "craft_decoder": "upconv1",
    }
    head = {
        "db_head": "binarize",
        "craft_head": "conv_cls",
        "pan_head": "out",
        "pse_head": "kernels",
    }
    for name, f in _loaded(facts).items():
        model = _run_of(name).model
        keys = list(f["state_dict"])
        decoder_keys = {k.split(".")[2] for k in keys if k.startswith("model.decoder.")}
        assert family[model.decoder] in decoder_keys, name
        assert set(family.values()) & decoder_keys == {family[model.decoder]}
        assert any(k.startswith(f"model.head.{head[model.head]}.") for k in keys), name
        assert all(
            k.startswith(("model.encoder.model.", "model.decoder.", "model.head.")) for k in keys
        )


def test_optimizer_and_scheduler_state(facts: Facts) -> None:
    seen = set()
    for name, f in _loaded(facts).items():
        run = _run_of(name)
        if "optimizer" not in f:
            continue
        opt = f["optimizer"]
        seen.add(run.optimizer)
        expected = (
            ["momentum_buffer"] if run.optimizer == "SGD" else ["step", "exp_avg", "exp_avg_sq"]
        )
        assert opt["state_keys"] == expected
        assert opt["state_count"] == opt["params"] > 0
        assert 0 < opt["lr"] <= run.lr
        assert opt["group_keys"][0] == "lr" and opt["group_keys"][-2:] == ["initial_lr", "params"]
        assert f["scheduler_keys"][:3] == ["T_max", "eta_min", "base_lrs"]
        trainable = [
            k
            for k in f["state_dict"]
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
        ]
        if run.model.frozen_encoder:
            assert opt["params"] == len([k for k in trainable if not k.startswith(ENCODER)])
        else:
            assert opt["params"] == len(trainable)
    assert seen == {"SGD", "Adam", "AdamW"}


def test_sidecars_agree_with_the_checkpoints(demo: DemoSummary, facts: Facts) -> None:
    for ckpt in demo.with_sidecar:
        name = rel(demo, ckpt)
        f = facts[name]
        metadata = read_sidecar(ckpt).metadata
        assert metadata is not None
        assert (metadata.training.epoch, metadata.training.global_step) == (
            f["epoch"],
            f["global_step"],
        )
        model = f["hparams"]["model"]
        encoder = (model.get("encoder") or model["component_overrides"]["encoder"])["model_name"]
        assert metadata.model.encoder.model_name == encoder
        if f["cleval"] is not None:
            assert metadata.metrics.hmean == f["cleval"]["hmean"]
        _, state = _checkpoint_state(f)
        own = [
            v["value"]
            for p, v in state["best_k_models"].items()
            if p.endswith("/" + name.split("checkpoints/", 1)[-1])
        ]
        if own:
            assert metadata.metrics.hmean == pytest.approx(own[0], abs=1e-6)


def test_cleval_metrics_present_in_some(facts: Facts) -> None:
    with_cleval = [n for n, f in _loaded(facts).items() if f["cleval"] is not None]
    assert 10 <= len(with_cleval) < len(_loaded(facts))
    for name in with_cleval:
        cleval = facts[name]["cleval"]
        assert set(cleval) == {"precision", "recall", "hmean"}
        assert all(0 < v < 1 for v in cleval.values())


def test_last_may_carry_an_older_current_score(facts: Facts) -> None:
    # Lightning only updates current_score when a file enters the top-k; the demo keeps that.
    name = "dbnetpp_efficientnet_b0_finetune/checkpoints/last.ckpt"
    _, state = _checkpoint_state(facts[name])
    best = facts["dbnetpp_efficientnet_b0_finetune/checkpoints/best.ckpt"]
    assert facts[name]["epoch"] == 4 and best["epoch"] == 3
    assert state["current_score"]["value"] == state["best_model_score"]["value"]


def test_last_holds_the_same_weights_as_the_file_saved_with_it(facts: Facts) -> None:
    run = "2025-10-02/09-14-07/checkpoints/"
    digest = {
        name: facts[run + name]["weights_digest"]
        for name in ("last.ckpt", "epoch=9-step=520.ckpt", "epoch=8-step=468.ckpt")
    }
    assert digest["last.ckpt"] == digest["epoch=9-step=520.ckpt"] != digest["epoch=8-step=468.ckpt"]
