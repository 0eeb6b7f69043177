"""Infer the model (encoder, decoder, head, architecture) from a state dict's keys and shapes.

Each answer comes with its evidence in ``provenance``; anything the evidence does not settle is
``None`` (a wrong name is worse than none). What is recognised:

* **ResNet** (torchvision / timm key names): depth from the blocks per ``layerN`` and whether
  blocks are bottlenecks (``conv3``), so 18/34/50/101/152 are told apart; wide and ResNeXt
  variants from the widths and groups of ``layer1.0``; timm's ``d`` variants (deep stem and
  average-pool downsample).
* **timm MobileNetV3 / EfficientNet**: blocks per stage, squeeze-excite placement, the stem width
  and the last stage's width. In timm every MobileNetV3 stem is 16 channels wide (multipliers
  below 0.75 fix the stem at 16; 0.75 rounds 12 up to 16), so the stem cannot tell the variants
  apart: the last stage's width does (576 x multiplier for small, 960 x multiplier for large).
  timm's ``tf_`` variants have the same shapes as the plain ones and are not told apart.
* **Decoders and heads** of the reference OCR project, by the names of their submodules:
  ``pan_decoder`` (``reduce_convs``/``top_down_smooth`` + ``bottom_up``), ``dbpp_decoder``
  (``lateral_convs``/``top_down`` + ``bottom_up``), ``fpn_decoder`` (``lateral_convs``/
  ``output_convs`` + ``fusion``), ``unet`` (``inners`` + ``outers``), ``craft_decoder``;
  ``db_head`` (``binarize`` + ``thresh``), ``craft_head`` (``region_branch``/``affinity_branch``).

Key prefixes (``model.``, ``model.encoder.model.``, ``encoder.``, ``module.``) need no stripping:
every pattern is matched after any prefix, and the prefix found is reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_RESNET_BLOCK = re.compile(r"^(?P<prefix>(?:.*\.)?)layer(?P<layer>[1-4])\.(?P<block>\d+)\.")
_TIMM_STEM = re.compile(r"^(?P<prefix>(?:.*\.)?)conv_stem\.weight$")
_TIMM_BLOCK = re.compile(r"^blocks\.(?P<stage>\d+)\.(?P<block>\d+)\.")

_BASIC_DEPTHS: dict[tuple[int, ...], int] = {(1, 1, 1, 1): 10, (2, 2, 2, 2): 18, (3, 4, 6, 3): 34}
_BOTTLENECK_DEPTHS: dict[tuple[int, ...], int] = {
    (2, 2, 2, 2): 26,
    (3, 4, 6, 3): 50,
    (3, 4, 23, 3): 101,
    (3, 8, 36, 3): 152,
    (3, 24, 36, 3): 200,
}

# timm MobileNetV3 / EfficientNet: blocks per stage → (family, where the final width is, widths).
_MNV3_LARGE = (1, 2, 3, 4, 2, 3, 1)
_MNV3_SMALL = (1, 2, 3, 2, 3, 1)
_TIMM_FAMILIES: dict[tuple[int, ...], tuple[str, str, dict[tuple[int, int], str]]] = {
    _MNV3_LARGE: (
        "mobilenetv3_large",
        "blocks.6.0.conv.weight",
        {(16, 960): "mobilenetv3_large_100", (16, 720): "mobilenetv3_large_075"},
    ),
    _MNV3_SMALL: (
        "mobilenetv3_small",
        "blocks.5.0.conv.weight",
        {
            (16, 576): "mobilenetv3_small_100",
            (16, 432): "mobilenetv3_small_075",
            (16, 288): "mobilenetv3_small_050",
        },
    ),
    (1, 2, 2, 3, 3, 4, 1): (
        "efficientnet",
        "blocks.6.0.conv_pwl.weight",
        {(32, 320): "efficientnet_b0"},
    ),
    (2, 3, 3, 4, 4, 5, 2): (
        "efficientnet",
        "blocks.6.1.conv_pwl.weight",
        {(32, 320): "efficientnet_b1", (32, 352): "efficientnet_b2"},
    ),
    (2, 3, 3, 5, 5, 6, 2): (
        "efficientnet",
        "blocks.6.1.conv_pwl.weight",
        {(40, 384): "efficientnet_b3"},
    ),
}

# Submodule names of the reference OCR project's decoders and heads.
_DECODERS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    # name, families that must all be present, families of which one more must be present
    ("pan_decoder", frozenset({"bottom_up"}), frozenset({"reduce_convs", "top_down_smooth"})),
    ("dbpp_decoder", frozenset({"bottom_up"}), frozenset({"lateral_convs", "top_down"})),
    ("fpn_decoder", frozenset({"fusion"}), frozenset({"lateral_convs", "output_convs"})),
    ("unet", frozenset({"inners"}), frozenset({"outers"})),
    ("craft_decoder", frozenset({"reduce_layers"}), frozenset({"smooth_layers", "out_projection"})),
)
_HEADS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    ("db_head", frozenset({"binarize"}), frozenset({"thresh"})),
    ("craft_head", frozenset({"region_branch"}), frozenset({"affinity_branch"})),
)


@dataclass(frozen=True)
class ModelGuess:
    """What the state dict says about the model; ``None`` where it does not settle a name."""

    architecture: str | None = None
    """Detector family: ``dbnet``, ``dbnetpp`` or ``craft``."""
    encoder: str | None = None
    """Backbone in timm naming, e.g. ``resnet50`` or ``mobilenetv3_small_050``."""
    decoder: str | None = None
    """Decoder name, e.g. ``pan_decoder``."""
    head: str | None = None
    """Head name, e.g. ``db_head``."""
    provenance: dict[str, str] = field(default_factory=dict)
    """For each field (known or deliberately left ``None``), the evidence."""


def _prefixed(prefix: str) -> str:
    return f" under '{prefix}'" if prefix else ""


def _resnet(shapes: Mapping[str, Sequence[int]]) -> tuple[str | None, str] | None:
    blocks: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for key in shapes:
        match = _RESNET_BLOCK.match(key)
        if match:
            blocks[match["prefix"]][int(match["layer"])].add(int(match["block"]))
    if not blocks:
        return None
    prefix = max(blocks, key=lambda p: sum(len(b) for b in blocks[p].values()))
    layers = blocks[prefix]
    counts = tuple(len(layers.get(i, ())) for i in (1, 2, 3, 4))
    bottleneck = f"{prefix}layer1.0.conv3.weight" in shapes
    kind = "bottleneck conv3" if bottleneck else "basic blocks (no conv3)"
    evidence = f"state dict: resnet blocks {list(counts)} with {kind}{_prefixed(prefix)}"
    depth = (_BOTTLENECK_DEPTHS if bottleneck else _BASIC_DEPTHS).get(counts)
    if depth is None or 0 in counts:
        return None, evidence + ": not a standard depth"
    conv1 = shapes.get(f"{prefix}layer1.0.conv1.weight")
    conv2 = shapes.get(f"{prefix}layer1.0.conv2.weight")
    if not conv1 or not conv2 or len(conv2) != 4 or conv2[1] == 0:
        return f"resnet{depth}", evidence
    width, groups = conv1[0], conv1[0] // conv2[1] if bottleneck else 1
    name = f"resnet{depth}"
    if groups > 1:
        name = f"resnext{depth}_{groups}x{width // groups}d"
        evidence += f", grouped conv2 ({groups} groups of {width // groups})"
    elif bottleneck and width == 128:
        name = f"wide_resnet{depth}_2"
        evidence += ", layer1 twice as wide"
    elif width != 64:
        return None, evidence + f": layer1 width {width} is not a standard ResNet"
    if f"{prefix}conv1.0.weight" in shapes and f"{prefix}conv1.weight" not in shapes:
        down = shapes.get(f"{prefix}layer2.0.downsample.1.weight")
        if down is not None and len(down) == 4 and groups == 1 and width == 64:
            return f"{name}d", evidence + ", deep stem and average-pool downsample"
        return None, evidence + ": deep-stem variant not told apart"
    return name, evidence


def _timm_efficient(shapes: Mapping[str, Sequence[int]]) -> tuple[str | None, str] | None:
    prefixes = [m["prefix"] for m in map(_TIMM_STEM.match, shapes) if m]
    if not prefixes:
        return None
    prefix = prefixes[0]
    stem = shapes[f"{prefix}conv_stem.weight"]
    stages: dict[int, set[int]] = defaultdict(set)
    for key in shapes:
        if key.startswith(prefix):
            match = _TIMM_BLOCK.match(key[len(prefix) :])
            if match:
                stages[int(match["stage"])].add(int(match["block"]))
    counts = tuple(len(stages.get(i, ())) for i in range(len(stages)))
    stem_width = stem[0] if stem else 0
    evidence = (
        f"state dict: timm conv_stem of {stem_width} channels, blocks per stage {list(counts)}"
        f"{_prefixed(prefix)}"
    )
    family = _TIMM_FAMILIES.get(counts)
    if family is None:
        return None, evidence + ": not a known MobileNetV3/EfficientNet layout"
    base, last_key, names = family
    last = shapes.get(prefix + last_key)
    last_width = last[0] if last else 0
    evidence += f", last stage {last_width} channels"
    if base.startswith("mobilenetv3"):
        se_stage = "blocks.2." if counts == _MNV3_LARGE else "blocks.0."
        if not any(k.startswith(prefix + se_stage) and ".se." in k for k in shapes):
            return None, evidence + ": no squeeze-excite (a 'minimal' variant, not named)"
        head = f"{prefix}conv_head.weight"
        if counts == _MNV3_LARGE and head in shapes and f"{prefix}conv_head.bias" not in shapes:
            return "mobilenetv3_rw", evidence + ", conv_head without bias"
    name = names.get((stem_width, last_width))
    if name is None:
        return None, evidence + f": {base} with unrecognised widths"
    if name == "mobilenetv3_large_100":
        evidence += " (timm's mobilenetv3_rw differs only by conv_head's bias, absent here)"
    return name, evidence


def _vgg(shapes: Mapping[str, Sequence[int]]) -> tuple[str | None, str] | None:
    convs = [
        k
        for k, s in shapes.items()
        if re.match(r"^(?:.*\.)?features\.\d+\.weight$", k) and len(s) == 4
    ]
    if not convs:
        return None
    prefix = convs[0][: convs[0].index("features.")]
    convs = [k for k in convs if k.startswith(prefix)]
    batchnorm = any(
        k.startswith(f"{prefix}features.") and k.endswith("running_mean") for k in shapes
    )
    depth = {8: 11, 10: 13, 13: 16, 16: 19}.get(len(convs))
    evidence = f"state dict: {len(convs)} convolutions in features.*{_prefixed(prefix)}"
    if depth is None:
        return None, evidence + ": not a standard VGG"
    return f"vgg{depth}{'_bn' if batchnorm else ''}", evidence + (
        " with batch norm" if batchnorm else ""
    )


def _families(keys: Sequence[str], part: str) -> set[str]:
    """Submodule names right after ``<part>.`` (e.g. ``decoder.bottom_up`` → ``bottom_up``)."""
    marker = f"{part}."
    found = set()
    for key in keys:
        at = key.find(marker)
        while at >= 0 and at > 0 and key[at - 1] != ".":
            at = key.find(marker, at + 1)
        if at >= 0:
            found.add(key[at + len(marker) :].split(".", 1)[0])
    return found


def _match_families(
    found: set[str], table: tuple[tuple[str, frozenset[str], frozenset[str]], ...]
) -> str | None:
    hits = [name for name, need, one_of in table if need <= found and one_of & found]
    return hits[0] if len(hits) == 1 else None


def _component(
    keys: Sequence[str], part: str, table: tuple[tuple[str, frozenset[str], frozenset[str]], ...]
) -> tuple[str | None, str | None]:
    found = _families(keys, part)
    name = _match_families(found, table)
    if name is None:
        # No "<part>." module: look for the families as any submodule (a bare decoder or head).
        everywhere = {segment for key in keys for segment in key.split(".")[:-1]}
        if not found:
            name = _match_families(everywhere, table)
            found = everywhere & {f for _, need, one in table for f in need | one}
    if name is None:
        return None, None
    families = sorted(found & {f for n, need, one in table if n == name for f in need | one})
    return name, f"state dict: {part} keys {', '.join(families)}"


def _architecture(decoder: str | None, head: str | None) -> tuple[str | None, str | None]:
    if head == "craft_head" or decoder == "craft_decoder":
        return "craft", f"state dict: {head or decoder}"
    if head != "db_head":
        return None, None
    if decoder == "dbpp_decoder":
        return "dbnetpp", "state dict: db_head with dbpp_decoder"
    if decoder in ("fpn_decoder", "unet"):
        return "dbnet", f"state dict: db_head with {decoder}"
    if decoder == "pan_decoder":
        return None, "state dict: db_head with pan_decoder (dbnet or pan: not told apart)"
    return None, "state dict: db_head with an unrecognised decoder (dbnet or dbnetpp?)"


def infer_model_from_shapes(shapes: Mapping[str, Sequence[int]]) -> ModelGuess:
    """Encoder, decoder, head and architecture from the keys and shapes of a state dict."""
    keys = list(shapes)
    provenance: dict[str, str] = {}
    encoder = None
    for probe in (_resnet, _timm_efficient, _vgg):
        found = probe(shapes)
        if found is not None:
            encoder, provenance["encoder"] = found
            break
    decoder, decoder_why = _component(keys, "decoder", _DECODERS)
    head, head_why = _component(keys, "head", _HEADS)
    if decoder_why:
        provenance["decoder"] = decoder_why
    if head_why:
        provenance["head"] = head_why
    architecture, why = _architecture(decoder, head)
    if why:
        provenance["architecture"] = why
    return ModelGuess(architecture, encoder, decoder, head, provenance)
