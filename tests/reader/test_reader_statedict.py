"""Model inference from state-dict shapes, on real module structures built with torch.nn."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from reader_models import (
    ASFDecoder,
    CraftClsHead,
    CraftHead,
    CraftUpconv,
    DBHead,
    DBPPDecoder,
    Detector,
    FPNDecoder,
    MapsHead,
    PANDecoder,
    ResNet,
    UNetDecoder,
    efficientnet,
    mobilenetv3,
    shapes_of,
)

from ckpt_tui.sources.statedict import ModelGuess, infer_model_from_shapes

META = torch.device("meta")  # real modules, no weights allocated


@pytest.mark.parametrize("depth", [18, 34, 50, 101])
@pytest.mark.parametrize("prefix", ["", "model.", "model.encoder.model.", "encoder.", "module."])
def test_resnet_depth(depth: int, prefix: str) -> None:
    with META:
        guess = infer_model_from_shapes(shapes_of(ResNet(depth), prefix))
    assert guess.encoder == f"resnet{depth}"
    blocks = {18: "[2, 2, 2, 2]", 34: "[3, 4, 6, 3]", 50: "[3, 4, 6, 3]", 101: "[3, 4, 23, 3]"}
    assert blocks[depth] in guess.provenance["encoder"]
    assert ("bottleneck conv3" in guess.provenance["encoder"]) == (depth >= 50)


def test_resnet50_is_not_resnet18_whatever_key_comes_first() -> None:
    # The reference read the first key it met and called every ResNet-50 "resnet18".
    with META:
        shapes = shapes_of(ResNet(50), "model.encoder.model.")
    reordered = dict(sorted(shapes.items(), key=lambda item: "layer4" not in item[0]))
    assert infer_model_from_shapes(reordered).encoder == "resnet50"


def test_resnet_width_variants() -> None:
    with META:
        assert infer_model_from_shapes(shapes_of(ResNet(50, 32, 4))).encoder == "resnext50_32x4d"
        assert infer_model_from_shapes(shapes_of(ResNet(50, 1, 128))).encoder == "wide_resnet50_2"


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_scaled_down_resnet_keeps_its_depth(depth: int) -> None:
    with META:
        guess = infer_model_from_shapes(shapes_of(ResNet(depth, scale=32), "model.encoder.model."))
    assert guess.encoder == f"resnet{depth}"
    assert "widths scaled down" in guess.provenance["encoder"]


def test_truncated_resnet_is_not_named() -> None:
    with META:
        shapes = shapes_of(ResNet(34))
    partial = {k: v for k, v in shapes.items() if not k.startswith("layer4.2.")}
    guess = infer_model_from_shapes(partial)
    assert guess.encoder is None
    assert "not a standard depth" in guess.provenance["encoder"]


@pytest.mark.parametrize(
    ("size", "multiplier", "name"),
    [
        ("small", 0.5, "mobilenetv3_small_050"),
        ("small", 0.75, "mobilenetv3_small_075"),
        ("small", 1.0, "mobilenetv3_small_100"),
        ("large", 0.75, "mobilenetv3_large_075"),
        ("large", 1.0, "mobilenetv3_large_100"),
    ],
)
def test_mobilenetv3_variants(size: str, multiplier: float, name: str) -> None:
    with META:
        model = mobilenetv3(size, multiplier)
    shapes = shapes_of(model, "model.encoder.model.")
    # Every timm MobileNetV3 stem is 16 wide: the stem cannot tell these apart.
    assert shapes["model.encoder.model.conv_stem.weight"][0] == 16
    guess = infer_model_from_shapes(shapes)
    assert guess.encoder == name
    assert "conv_stem of 16 channels" in guess.provenance["encoder"]


@pytest.mark.parametrize("variant", ["b0", "b1", "b2", "b3"])
def test_efficientnet_variants(variant: str) -> None:
    with META:
        shapes = shapes_of(efficientnet(variant), "encoder.")
    stem = shapes["encoder.conv_stem.weight"][0]
    assert stem == (40 if variant == "b3" else 32)
    assert infer_model_from_shapes(shapes).encoder == f"efficientnet_{variant}"


def test_mobilenetv3_widths_that_do_not_tell_the_variant() -> None:
    with META:
        shapes = shapes_of(mobilenetv3("large", 1.0))
    last = "blocks.6.0.conv.weight"
    scaled = {**shapes, last: (30, *shapes[last][1:])}
    guess = infer_model_from_shapes(scaled)
    assert guess.encoder is None  # 16-wide stem: 0.75 or 1.0, the widths do not say
    assert "do not tell its variant" in guess.provenance["encoder"]
    small = shapes_of(mobilenetv3("small", 0.5))
    stem = {**small, "conv_stem.weight": (8, 3, 3, 3), "blocks.5.0.conv.weight": (9, 2, 1, 1)}
    assert infer_model_from_shapes(stem).encoder == "mobilenetv3_small_050"


def test_unknown_backbone_gives_none() -> None:
    shapes = {"backbone.stem.weight": (8, 3, 3, 3), "backbone.blocks.0.weight": (8, 8, 3, 3)}
    assert infer_model_from_shapes(shapes) == ModelGuess()


IN = [64, 128, 256, 512]


@pytest.mark.parametrize(
    ("decoder", "head", "expected"),
    [
        (FPNDecoder, DBHead, ("dbnet", "fpn_decoder", "db_head")),
        (UNetDecoder, DBHead, ("dbnet", "unet", "db_head")),
        (DBPPDecoder, DBHead, ("dbnetpp", "dbpp_decoder", "db_head")),
        (PANDecoder, DBHead, (None, "pan_decoder", "db_head")),
        (FPNDecoder, CraftHead, ("craft", "fpn_decoder", "craft_head")),
        (ASFDecoder, DBHead, ("dbnetpp", "fpn_decoder", "db_head")),
        (PANDecoder, lambda: MapsHead(6), ("pan", "pan_decoder", "pan_head")),
        (FPNDecoder, lambda: MapsHead(7), ("psenet", "fpn_decoder", "pse_head")),
        (lambda _: CraftUpconv(512), CraftClsHead, ("craft", "craft_decoder", "craft_head")),
    ],
)
def test_decoder_head_architecture(
    decoder: Callable[[list[int]], torch.nn.Module],
    head: Callable[[], torch.nn.Module],
    expected: tuple[str | None, str, str],
) -> None:
    with META:
        model = Detector(ResNet(18), decoder(IN), head())
    guess = infer_model_from_shapes(shapes_of(model, "model."))
    assert (guess.architecture, guess.decoder, guess.head) == expected
    assert guess.encoder == "resnet18"
    assert "architecture" in guess.provenance  # also when deliberately left None


def test_bare_decoder_and_head_keys() -> None:
    with META:
        shapes = {**shapes_of(UNetDecoder(IN), "neck."), **shapes_of(DBHead(), "det_head.")}
    guess = infer_model_from_shapes(shapes)
    assert (guess.decoder, guess.head, guess.architecture) == ("unet", "db_head", "dbnet")
