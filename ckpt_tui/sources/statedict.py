"""Infer the model (encoder, decoder, head, architecture) from a state dict's keys and shapes.

Each answer comes with its evidence in ``provenance``; anything the evidence does not settle is
``None`` (a wrong name is worse than none). The block *structure* decides a backbone's family and
depth; *widths* decide its width variant only where they are timm's own, so a model built with
scaled-down widths keeps its depth but not a width variant the widths cannot prove.

* **ResNet** (torchvision/timm keys): depth from the blocks per ``layerN`` and whether blocks are
  bottlenecks (``conv3``): 18/34/50/101/152; wide and ResNeXt variants from layer1's width ratio
  and groups; timm's ``d`` variants (deep stem, average-pool downsample).
* **timm MobileNetV3 / EfficientNet**: blocks per stage and squeeze-excite placement give the
  family (small/large, b0/b1-b2/b3). In timm every MobileNetV3 stem is 16 wide (multipliers below
  0.75 keep the stem at 16; 0.75 rounds 12 up to 16), so the *last stage* (576 x multiplier for
  small, 960 x multiplier for large) tells the variants apart. A stem of 8 only comes from a
  builder that scales the stem by 0.5 too (not timm): read as ``_050``. timm's ``tf_`` variants
  have the same shapes as the plain ones and are not told apart.
* **Decoders and heads**, by submodule names: ``bottom_up`` → ``pan_decoder`` (or
  ``dbpp_decoder`` when its convolutions are depthwise-separable, DBNet++'s), ``fusion`` with
  ``lateral_convs``/``output_convs``/``fpn_convs`` → ``fpn_decoder``, ``inners`` + ``outers`` →
  ``unet``, ``upconv1-4`` or ``reduce_layers`` + ``smooth_layers`` → ``craft_decoder``;
  ``binarize`` + ``thresh`` → ``db_head``; ``region_branch``/``affinity_branch`` or a ``conv_cls``
  ending in 2 maps → ``craft_head``; a head ending in 6 maps (text, kernel, 4-d similarity) →
  ``pan_head``, in 7 kernels → ``pse_head``.

Key prefixes (``model.``, ``model.encoder.model.``, ``encoder.``, ``module.``) need no stripping:
patterns match after any prefix, and the prefix found is reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Shapes = Mapping[str, Sequence[int]]
Finding = tuple[str | None, str]  # (name or None, evidence)

_RESNET_BLOCK = re.compile(r"^(?P<prefix>(?:.*\.)?)layer(?P<layer>[1-4])\.(?P<block>\d+)\.")
_TIMM_STEM = re.compile(r"^(?P<prefix>(?:.*\.)?)conv_stem\.weight$")
_TIMM_BLOCK = re.compile(r"^blocks\.(?P<stage>\d+)\.(?P<block>\d+)\.")
_VGG_CONV = re.compile(r"^(?P<prefix>(?:.*\.)?)features\.\d+\.weight$")

_BASIC_DEPTHS: dict[tuple[int, ...], int] = {(1, 1, 1, 1): 10, (2, 2, 2, 2): 18, (3, 4, 6, 3): 34}
_BOTTLENECK_DEPTHS: dict[tuple[int, ...], int] = {
    (2, 2, 2, 2): 26,
    (3, 4, 6, 3): 50,
    (3, 4, 23, 3): 101,
    (3, 8, 36, 3): 152,
    (3, 24, 36, 3): 200,
}

_MNV3_LARGE = (1, 2, 3, 4, 2, 3, 1)
_MNV3_SMALL = (1, 2, 3, 2, 3, 1)
# blocks per stage → (family, key of the final width, final width → name, timm's stem width).
_TIMM: dict[tuple[int, ...], tuple[str, str, dict[int, str], int | None]] = {
    _MNV3_LARGE: (
        "mobilenetv3_large",
        "blocks.6.0.conv.weight",
        {960: "mobilenetv3_large_100", 720: "mobilenetv3_large_075"},
        16,
    ),
    _MNV3_SMALL: (
        "mobilenetv3_small",
        "blocks.5.0.conv.weight",
        {576: "mobilenetv3_small_100", 432: "mobilenetv3_small_075", 288: "mobilenetv3_small_050"},
        16,
    ),
    (1, 2, 2, 3, 3, 4, 1): ("efficientnet_b0", "blocks.6.0.conv_pwl.weight", {}, 32),
    (2, 3, 3, 4, 4, 5, 2): (
        "efficientnet_b1/b2",
        "blocks.6.1.conv_pwl.weight",
        {320: "efficientnet_b1", 352: "efficientnet_b2"},
        32,
    ),
    (2, 3, 3, 5, 5, 6, 2): ("efficientnet_b3", "blocks.6.1.conv_pwl.weight", {}, 40),
}


@dataclass(frozen=True)
class ModelGuess:
    """What the state dict says about the model; ``None`` where it does not settle a name."""

    architecture: str | None = None
    """Detector family: ``dbnet``, ``dbnetpp``, ``craft``, ``pan`` or ``psenet``."""
    encoder: str | None = None
    """Backbone in timm naming, e.g. ``resnet50`` or ``mobilenetv3_small_050``."""
    decoder: str | None = None
    """Decoder name, e.g. ``pan_decoder``."""
    head: str | None = None
    """Head name, e.g. ``db_head``."""
    provenance: dict[str, str] = field(default_factory=dict)
    """Evidence per field, also for a field deliberately left ``None`` (its value says so)."""


def _under(prefix: str) -> str:
    return f" under '{prefix}'" if prefix else ""


def _resnet(shapes: Shapes) -> Finding | None:
    blocks: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for key in shapes:
        match = _RESNET_BLOCK.match(key)
        if match:
            blocks[match["prefix"]][int(match["layer"])].add(int(match["block"]))
    if not blocks:
        return None
    prefix = max(blocks, key=lambda p: sum(len(b) for b in blocks[p].values()))
    counts = tuple(len(blocks[prefix].get(i, ())) for i in (1, 2, 3, 4))
    bottleneck = f"{prefix}layer1.0.conv3.weight" in shapes
    kind = "bottleneck conv3" if bottleneck else "basic blocks (no conv3)"
    why = f"state dict: resnet blocks {list(counts)} with {kind}{_under(prefix)}"
    depth = (_BOTTLENECK_DEPTHS if bottleneck else _BASIC_DEPTHS).get(counts)
    if depth is None:
        return None, why + ": not a standard depth"
    name = f"resnet{depth}"
    conv1, conv2, conv3 = (shapes.get(f"{prefix}layer1.0.conv{i}.weight") for i in (1, 2, 3))
    width = conv1[0] if conv1 else 64
    groups = 1
    if bottleneck and conv1 and conv2 and conv3 and len(conv2) == 4 and conv2[1]:
        groups = width // conv2[1]
        if groups > 1:
            name = f"resnext{depth}_{groups}x{width // groups}d"
            why += f", grouped conv2 ({groups} groups of {width // groups})"
        elif width * 2 == conv3[0]:
            name = f"wide_resnet{depth}_2"
            why += ", bottleneck twice as wide"
        elif width * 4 != conv3[0]:
            return None, why + f": unusual bottleneck width {width} for {conv3[0]} outputs"
    if width not in (64, 128) or (groups == 1 and width == 128 and not name.startswith("wide")):
        why += f", widths scaled down (layer1 {width} channels)"
    if f"{prefix}conv1.0.weight" in shapes and f"{prefix}conv1.weight" not in shapes:
        down = shapes.get(f"{prefix}layer2.0.downsample.1.weight")
        if down is not None and len(down) == 4 and groups == 1 and not name.startswith("wide"):
            return f"{name}d", why + ", deep stem and average-pool downsample"
        return None, why + ": a deep-stem variant not told apart"
    return name, why


def _timm_efficient(shapes: Shapes) -> Finding | None:
    prefixes = [m["prefix"] for m in map(_TIMM_STEM.match, shapes) if m]
    if not prefixes:
        return None
    prefix = prefixes[0]
    stem = shapes[f"{prefix}conv_stem.weight"]
    stages: dict[int, set[int]] = defaultdict(set)
    for key in shapes:
        match = _TIMM_BLOCK.match(key[len(prefix) :]) if key.startswith(prefix) else None
        if match:
            stages[int(match["stage"])].add(int(match["block"]))
    counts = tuple(len(stages.get(i, ())) for i in range(len(stages)))
    stem_width = stem[0] if stem else 0
    why = f"state dict: timm conv_stem of {stem_width} channels, blocks per stage {list(counts)}"
    why += _under(prefix)
    if counts not in _TIMM:
        return None, why + ": not a known MobileNetV3/EfficientNet layout"
    family, last_key, by_width, timm_stem = _TIMM[counts]
    last = shapes.get(prefix + last_key)
    last_width = last[0] if last else 0
    why += f", last stage {last_width} channels"
    if family.startswith("mobilenetv3"):
        se_stage = f"{prefix}blocks.{2 if counts == _MNV3_LARGE else 0}."
        if not any(k.startswith(se_stage) and ".se." in k for k in shapes):
            return None, why + ": no squeeze-excite (a 'minimal' variant, not named)"
        head, bias = f"{prefix}conv_head.weight", f"{prefix}conv_head.bias"
        if counts == _MNV3_LARGE and head in shapes and bias not in shapes:
            return "mobilenetv3_rw", why + ", conv_head without bias"
    if not by_width:  # b0 and b3: the block counts alone name them
        if stem_width != timm_stem:
            return None, why + f": {family} blocks but not its {timm_stem}-channel stem"
        return family, why
    if last_width in by_width and stem_width == timm_stem:
        return by_width[last_width], why
    if family.startswith("mobilenetv3") and stem_width == 8:
        return f"{family}_050", why + ": a stem scaled by 0.5 (timm itself keeps 16 below 0.75)"
    return None, why + f": {family} with widths that do not tell its variant"


def _vgg(shapes: Shapes) -> Finding | None:
    convs = [(m["prefix"], k) for k in shapes if (m := _VGG_CONV.match(k)) and len(shapes[k]) == 4]
    if not convs:
        return None
    prefix = convs[0][0]
    count = sum(1 for p, _ in convs if p == prefix)
    batchnorm = any(
        k.startswith(f"{prefix}features.") and k.endswith("running_mean") for k in shapes
    )
    depth = {8: 11, 10: 13, 13: 16, 16: 19}.get(count)
    why = f"state dict: {count} convolutions in features.*{_under(prefix)}"
    if depth is None:
        return None, why + ": not a standard VGG"
    return f"vgg{depth}{'_bn' if batchnorm else ''}", why + (
        " with batch norm" if batchnorm else ""
    )


def _part(shapes: Shapes, part: str) -> tuple[set[str], list[str], str]:
    """Submodule names right after ``<part>.``, the (full) keys below it, and where found.

    Without a ``<part>.`` module every submodule name of the whole state dict is searched.
    """
    marker = f"{part}."
    found: set[str] = set()
    keys: list[str] = []
    for key in shapes:
        at = key.find(marker)
        while at > 0 and key[at - 1] != ".":
            at = key.find(marker, at + 1)
        if at >= 0:
            found.add(key[at + len(marker) :].split(".", 1)[0])
            keys.append(key)
    if found:
        return found, keys, f"{part} keys"
    return {s for key in shapes for s in key.split(".")[:-1]}, list(shapes), "keys"


def _final_maps(shapes: Shapes, keys: list[str]) -> int | None:
    """Output channels of the last convolution among ``keys`` (a head's prediction maps)."""
    convs = [shapes[k] for k in keys if k.endswith(".weight") and len(shapes[k]) == 4]
    return convs[-1][0] if convs else None


def _decoder(shapes: Shapes) -> tuple[str | None, str | None, bool]:
    found, keys, where = _part(shapes, "decoder")
    attention = any("attention" in k for k in keys) if where != "keys" else False
    name = None
    if "bottom_up" in found:
        separable = any(".depthwise." in k for k in keys if "bottom_up." in k)
        name = "dbpp_decoder" if separable else "pan_decoder"
    elif "fusion" in found and found & {"lateral_convs", "output_convs", "fpn_convs"}:
        name = "fpn_decoder"
    elif {"inners", "outers"} <= found:
        name = "unet"
    elif {"upconv1", "upconv2", "upconv3", "upconv4"} <= found or (
        "reduce_layers" in found and found & {"smooth_layers", "out_projection"}
    ):
        name = "craft_decoder"
    if name is None:
        if where == "keys":
            return None, None, False
        return None, f"state dict: decoder keys {', '.join(sorted(found)[:6])}: not known", False
    shown = sorted(found & _DECODER_FAMILIES) if where == "keys" else sorted(found)[:6]
    return name, f"state dict: {where} {', '.join(shown)}", attention


_DECODER_FAMILIES = {
    *("bottom_up", "top_down", "top_down_smooth", "reduce_convs", "reduce_layers", "inners"),
    *("outers", "fusion", "lateral_convs", "output_convs", "fpn_convs", "smooth_layers"),
    *("out_projection", "upconv1", "upconv2", "upconv3", "upconv4"),
}


def _head(shapes: Shapes) -> Finding | None:
    found, keys, where = _part(shapes, "head")
    if {"binarize", "thresh"} <= found:
        return "db_head", f"state dict: {where} binarize, thresh"
    if {"region_branch", "affinity_branch"} <= found:
        return "craft_head", f"state dict: {where} region_branch, affinity_branch"
    if where == "keys":
        return None  # the prediction-map count below needs a real "head." module
    maps = _final_maps(shapes, keys)
    shown = ", ".join(sorted(found)[:6])
    if "conv_cls" in found and maps == 2:
        return "craft_head", f"state dict: head keys {shown}, ending in 2 maps (region, affinity)"
    if maps == 6:
        pan = "6 maps (PAN's text, kernel, 4-d similarity)"
        return "pan_head", f"state dict: head keys {shown}, ending in {pan}"
    if maps == 7:
        return "pse_head", f"state dict: head keys {shown}, ending in 7 kernels (PSENet's)"
    return None, f"state dict: head keys {shown}: not known"


def _architecture(decoder: str | None, head: str | None, attention: bool) -> Finding | None:
    if head == "craft_head" or decoder == "craft_decoder":
        return "craft", f"state dict: {head or decoder}"
    if head in ("pan_head", "pse_head"):
        return ("pan" if head == "pan_head" else "psenet"), f"state dict: {head}"
    if head != "db_head":
        return None
    if decoder == "dbpp_decoder" or (decoder and attention):
        detail = "attention fusion (DBNet++'s ASF)" if attention else "dbpp_decoder"
        return "dbnetpp", f"state dict: db_head with {detail}"
    if decoder in ("fpn_decoder", "unet"):
        return "dbnet", f"state dict: db_head with {decoder}"
    if decoder == "pan_decoder":
        return None, "state dict: db_head with pan_decoder (dbnet or pan: not told apart)"
    return None, "state dict: db_head with an unrecognised decoder (dbnet or dbnetpp?)"


def infer_model_from_shapes(shapes: Shapes) -> ModelGuess:
    """Encoder, decoder, head and architecture from the keys and shapes of a state dict."""
    provenance: dict[str, str] = {}
    encoder = None
    for probe in (_resnet, _timm_efficient, _vgg):
        finding = probe(shapes)
        if finding is not None:
            encoder, provenance["encoder"] = finding
            break
    decoder, decoder_why, attention = _decoder(shapes)
    if decoder_why:
        provenance["decoder"] = decoder_why
    head = None
    head_finding = _head(shapes)
    if head_finding is not None:
        head, provenance["head"] = head_finding
    architecture = None
    arch_finding = _architecture(decoder, head, attention)
    if arch_finding is not None:
        architecture, provenance["architecture"] = arch_finding
    return ModelGuess(architecture, encoder, decoder, head, provenance)
