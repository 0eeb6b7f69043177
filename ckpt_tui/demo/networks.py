"""State-dict layouts of the demo's OCR detectors: real key names, tiny shapes.

Each builder returns the parameters and buffers of one module in registration order, the order
``state_dict()`` uses. Key names and block structure follow timm and the OCR project (so a reader
can tell resnet18/34/50 apart by blocks per layer and the bottleneck ``conv3``, and MobileNetV3
variants by ``conv_stem`` width); channel widths are scaled down so that a whole demo tree stays a
few MB. Pure Python: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

WEIGHT, BIAS = "weight", "bias"
BN_WEIGHT, BN_BIAS, BN_MEAN, BN_VAR, BN_COUNT = (
    "bn_weight",
    "bn_bias",
    "bn_mean",
    "bn_var",
    "bn_count",
)
TRAINABLE = frozenset({WEIGHT, BIAS, BN_WEIGHT, BN_BIAS})
"""Kinds that are ``nn.Parameter`` (the optimizer holds state for them); the rest are buffers."""

RESNET_DIV = 64
"""ResNet widths are divided by this (at least 2 channels)."""
BLOCK_DIV = 32
"""MobileNetV3 / EfficientNet block widths are divided by this (their stems keep timm's width)."""


@dataclass(frozen=True)
class Tensor:
    """One entry of a state dict: its key, shape and what kind of tensor it is."""

    key: str
    shape: tuple[int, ...]
    kind: str


@dataclass
class Layout:
    """The tensors of a module, built up in registration order."""

    prefix: str
    tensors: list[Tensor] = field(default_factory=list)

    def conv(
        self, name: str, out: int, inp: int, k: int, *, groups: int = 1, bias: bool = False
    ) -> None:
        """A ``Conv2d`` (weight ``[out, in/groups, k, k]``)."""
        self.tensors.append(
            Tensor(f"{self.prefix}{name}.weight", (out, inp // groups, k, k), WEIGHT)
        )
        if bias:
            self.tensors.append(Tensor(f"{self.prefix}{name}.bias", (out,), BIAS))

    def deconv(self, name: str, inp: int, out: int, k: int) -> None:
        """A ``ConvTranspose2d`` with bias (weight ``[in, out, k, k]``)."""
        self.tensors.append(Tensor(f"{self.prefix}{name}.weight", (inp, out, k, k), WEIGHT))
        self.tensors.append(Tensor(f"{self.prefix}{name}.bias", (out,), BIAS))

    def bn(self, name: str, ch: int) -> None:
        """A ``BatchNorm2d``: two parameters and three buffers."""
        base = f"{self.prefix}{name}."
        self.tensors += [
            Tensor(base + "weight", (ch,), BN_WEIGHT),
            Tensor(base + "bias", (ch,), BN_BIAS),
            Tensor(base + "running_mean", (ch,), BN_MEAN),
            Tensor(base + "running_var", (ch,), BN_VAR),
            Tensor(base + "num_batches_tracked", (), BN_COUNT),
        ]


@dataclass(frozen=True)
class Encoder:
    """An encoder layout and the (scaled) channels of the four feature maps it hands on."""

    layout: Layout
    feature_channels: tuple[int, int, int, int]


_RESNETS: dict[int, tuple[bool, tuple[int, int, int, int]]] = {
    18: (False, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
    101: (True, (3, 4, 23, 3)),
}


def resnet(depth: int, prefix: str) -> Encoder:
    """timm/torchvision ResNet keys (``conv1``, ``layer1.0.conv1`` ... ``downsample.0``)."""
    bottleneck, blocks = _RESNETS[depth]
    expansion = 4 if bottleneck else 1
    out = Layout(prefix)
    inplanes = max(2, 64 // RESNET_DIV)
    out.conv("conv1", inplanes, 3, 7)
    out.bn("bn1", inplanes)
    features: list[int] = []
    for stage, (count, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        width = max(2, planes // RESNET_DIV)
        for index in range(count):
            name = f"layer{stage}.{index}"
            if bottleneck:
                out.conv(f"{name}.conv1", width, inplanes, 1)
                out.bn(f"{name}.bn1", width)
                out.conv(f"{name}.conv2", width, width, 3)
                out.bn(f"{name}.bn2", width)
                out.conv(f"{name}.conv3", width * expansion, width, 1)
                out.bn(f"{name}.bn3", width * expansion)
            else:
                out.conv(f"{name}.conv1", width, inplanes, 3)
                out.bn(f"{name}.bn1", width)
                out.conv(f"{name}.conv2", width, width, 3)
                out.bn(f"{name}.bn2", width)
            if index == 0 and (stage > 1 or inplanes != width * expansion):
                out.conv(f"{name}.downsample.0", width * expansion, inplanes, 1)
                out.bn(f"{name}.downsample.1", width * expansion)
            inplanes = width * expansion
        features.append(inplanes)
    return Encoder(out, (features[0], features[1], features[2], features[3]))


# timm block strings reduced to (type, repeats, kernel, expansion, channels, squeeze-excite).
_Block = tuple[str, int, int, float, int, bool]
_MBV3_SMALL: list[list[_Block]] = [
    [("ds", 1, 3, 1, 16, True)],
    [("ir", 1, 3, 4.5, 24, False), ("ir", 1, 3, 3.67, 24, False)],
    [("ir", 1, 5, 4, 40, True), ("ir", 2, 5, 6, 40, True)],
    [("ir", 2, 5, 3, 48, True)],
    [("ir", 3, 5, 6, 96, True)],
    [("cn", 1, 1, 1, 576, False)],
]
_MBV3_LARGE: list[list[_Block]] = [
    [("ds", 1, 3, 1, 16, False)],
    [("ir", 1, 3, 4, 24, False), ("ir", 1, 3, 3, 24, False)],
    [("ir", 3, 5, 3, 40, True)],
    [("ir", 1, 3, 6, 80, False), ("ir", 1, 3, 2.5, 80, False), ("ir", 2, 3, 2.3, 80, False)],
    [("ir", 2, 3, 6, 112, True)],
    [("ir", 3, 5, 6, 160, True)],
    [("cn", 1, 1, 1, 960, False)],
]
_EFFNET_B0: list[list[_Block]] = [
    [("ds", 1, 3, 1, 16, True)],
    [("ir", 2, 3, 6, 24, True)],
    [("ir", 2, 5, 6, 40, True)],
    [("ir", 3, 3, 6, 80, True)],
    [("ir", 3, 5, 6, 112, True)],
    [("ir", 4, 5, 6, 192, True)],
    [("ir", 1, 3, 6, 320, True)],
]
# name: (stages, channel multiplier, timm's conv_stem width, stages whose outputs are features)
_EFFICIENT: dict[str, tuple[list[list[_Block]], float, int, tuple[int, int, int, int]]] = {
    "mobilenetv3_small_050": (_MBV3_SMALL, 0.5, 8, (0, 1, 3, 4)),
    "mobilenetv3_large_100": (_MBV3_LARGE, 1.0, 16, (1, 2, 4, 5)),
    "efficientnet_b0": (_EFFNET_B0, 1.0, 32, (1, 2, 4, 6)),
}


def _scaled(channels: float) -> int:
    return max(2, int(channels) // BLOCK_DIV)


def efficient(name: str, prefix: str) -> Encoder:
    """timm MobileNetV3 / EfficientNet keys (``conv_stem``, ``bn1``, ``blocks.S.I.conv_pw`` ...)."""
    stages, multiplier, stem, feature_stages = _EFFICIENT[name]
    out = Layout(prefix)
    out.conv("conv_stem", stem, 3, 3)
    out.bn("bn1", stem)
    inp = stem
    outputs: list[int] = []
    for stage, blocks in enumerate(stages):
        index = 0
        for kind, repeats, kernel, expansion, channels, se in blocks:
            for _ in range(repeats):
                _block(
                    out,
                    f"blocks.{stage}.{index}",
                    kind,
                    inp,
                    kernel,
                    expansion,
                    se,
                    _scaled(channels * multiplier),
                )
                inp = _scaled(channels * multiplier)
                index += 1
        outputs.append(inp)
    f0, f1, f2, f3 = (outputs[i] for i in feature_stages)
    return Encoder(out, (f0, f1, f2, f3))


def _block(
    out: Layout, name: str, kind: str, inp: int, kernel: int, expansion: float, se: bool, chs: int
) -> None:
    if kind == "cn":
        out.conv(f"{name}.conv", chs, inp, 1)
        out.bn(f"{name}.bn1", chs)
        return
    mid = inp if kind == "ds" else max(2, int(inp * expansion))
    if kind == "ir":
        out.conv(f"{name}.conv_pw", mid, inp, 1)
        out.bn(f"{name}.bn1", mid)
    out.conv(f"{name}.conv_dw", mid, mid, kernel, groups=mid)
    out.bn(f"{name}.bn1" if kind == "ds" else f"{name}.bn2", mid)
    if se:
        reduced = max(1, mid // 4)
        out.conv(f"{name}.se.conv_reduce", reduced, mid, 1, bias=True)
        out.conv(f"{name}.se.conv_expand", mid, reduced, 1, bias=True)
    if kind == "ds":
        out.conv(f"{name}.conv_pw", chs, mid, 1)
        out.bn(f"{name}.bn2", chs)
    else:
        out.conv(f"{name}.conv_pwl", chs, mid, 1)
        out.bn(f"{name}.bn3", chs)


def encoder(name: str, prefix: str = "model.encoder.model.") -> Encoder:
    """The layout of a named encoder (``resnet18``, ``mobilenetv3_small_050``, ...)."""
    if name.startswith("resnet"):
        return resnet(int(name.removeprefix("resnet")), prefix)
    return efficient(name, prefix)


INNER = 8
"""Working width of the demo decoders (the real ones use 256)."""


def decoder(
    name: str, inputs: tuple[int, ...], prefix: str = "model.decoder."
) -> tuple[Layout, int]:
    """A decoder's layout and its output channels. Families differ by key: ``inners`` (unet),
    ``fusion`` (fpn_decoder), ``bottom_up`` (pan_decoder), ``upconv`` (craft_decoder)."""
    out = Layout(prefix)
    if name == "unet":
        for i, ch in enumerate(inputs):
            out.conv(f"inners.{i}", INNER, ch, 1)
        for i in range(len(inputs) - 1):
            out.deconv(f"upsamples.{i}", INNER, INNER, 2)
        for i in range(len(inputs)):
            out.conv(f"outers.{i}.0", INNER // 4, INNER, 3)
            out.bn(f"outers.{i}.1", INNER // 4)
        return out, INNER
    if name == "fpn_decoder":
        for i, ch in enumerate(inputs):
            out.conv(f"lateral_convs.{i}.conv", INNER, ch, 1)
            out.bn(f"lateral_convs.{i}.bn", INNER)
        for i in range(len(inputs)):
            out.conv(f"fpn_convs.{i}.conv", INNER // 4, INNER, 3)
            out.bn(f"fpn_convs.{i}.bn", INNER // 4)
        out.conv("fusion.conv", INNER, INNER, 3)
        out.conv("fusion.spatial_attention.0", 1, 1, 3, bias=True)
        out.conv("fusion.channel_attention.0", len(inputs), INNER, 1, bias=True)
        return out, INNER
    if name == "pan_decoder":
        for i, ch in enumerate(inputs):
            out.conv(f"reduce_layers.{i}.conv", INNER, ch, 1)
            out.bn(f"reduce_layers.{i}.bn", INNER)
        for path in ("top_down", "bottom_up"):
            for i in range(len(inputs) - 1):
                out.conv(f"{path}.{i}.conv", INNER, INNER, 3, groups=INNER)
                out.bn(f"{path}.{i}.bn", INNER)
        return out, INNER * len(inputs)
    if name == "craft_decoder":
        ch = inputs[-1]
        for i in range(1, 5):
            out.conv(f"upconv{i}.conv.0", INNER, ch + INNER if i > 1 else ch, 1)
            out.bn(f"upconv{i}.conv.1", INNER)
            out.conv(f"upconv{i}.conv.3", INNER, INNER, 3)
            out.bn(f"upconv{i}.conv.4", INNER)
            ch = INNER
        return out, INNER
    raise ValueError(f"unknown demo decoder {name!r}")


def head(name: str, inp: int, prefix: str = "model.head.") -> Layout:
    """A head's layout: ``binarize``/``thresh`` (db_head), ``conv_cls`` (craft_head), ...."""
    out = Layout(prefix)
    mid = max(2, inp // 4)
    if name == "db_head":
        for branch in ("binarize", "thresh"):
            out.conv(f"{branch}.0", mid, inp, 3)
            out.bn(f"{branch}.1", mid)
            out.deconv(f"{branch}.3", mid, mid, 2)
            out.bn(f"{branch}.4", mid)
            out.deconv(f"{branch}.6", mid, 1, 2)
    elif name == "craft_head":
        out.conv("conv_cls.0", mid, inp, 3, bias=True)
        out.conv("conv_cls.2", mid, mid, 3, bias=True)
        out.conv("conv_cls.4", mid, mid, 3, bias=True)
        out.conv("conv_cls.6", mid, mid, 1, bias=True)
        out.conv("conv_cls.8", 2, mid, 1, bias=True)
    elif name == "pan_head":
        out.conv("conv", mid, inp, 3)
        out.bn("bn", mid)
        out.conv("out", 6, mid, 1, bias=True)
    elif name == "pse_head":
        out.conv("fuse", mid, inp, 3)
        out.bn("fuse_bn", mid)
        out.conv("kernels", 7, mid, 1, bias=True)
    else:
        raise ValueError(f"unknown demo head {name!r}")
    return out


@lru_cache(maxsize=32)
def detector(
    encoder_name: str, decoder_name: str, head_name: str
) -> tuple[tuple[Tensor, ...], int]:
    """The whole ``model.`` state dict of a detector, and how many tensors the encoder owns."""
    enc = encoder(encoder_name)
    dec, channels = decoder(decoder_name, enc.feature_channels)
    tensors = (*enc.layout.tensors, *dec.tensors, *head(head_name, channels).tensors)
    return tensors, len(enc.layout.tensors)
