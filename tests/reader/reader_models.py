"""Real torch.nn modules with the key names of torchvision/timm backbones and the reference OCR
project's decoders and heads, built by hand (torchvision and timm are not installed here).

Channel arithmetic follows timm (``make_divisible``, ``round_channels``, ``fix_stem`` below a
0.75 multiplier, ``ceil`` depth scaling), so the shapes are those the real models have.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# -- ResNet (torchvision / timm names) ------------------------------------------------------------


class Basic(nn.Module):
    expansion = 1

    def __init__(self, inp: int, planes: int, stride: int, down: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if down:
            self.downsample = nn.Sequential(
                nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, inp: int, planes: int, stride: int, down: bool, groups: int = 1, base: int = 64
    ) -> None:
        super().__init__()
        width = int(planes * base / 64) * groups
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        if down:
            self.downsample = nn.Sequential(
                nn.Conv2d(inp, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )


RESNETS = {
    18: (Basic, [2, 2, 2, 2]),
    34: (Basic, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
}


class ResNet(nn.Module):
    def __init__(self, depth: int, groups: int = 1, base: int = 64, scale: int = 1) -> None:
        super().__init__()
        block, layers = RESNETS[depth]
        widths = [w // scale for w in (64, 128, 256, 512)]  # scale > 1: a shrunk test model
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        inp = widths[0]
        for index, (count, planes) in enumerate(zip(layers, widths, strict=True)):
            blocks: list[nn.Module] = []
            for j in range(count):
                stride = 2 if j == 0 and index > 0 else 1
                down = j == 0 and (stride != 1 or inp != planes * block.expansion)
                if block is Bottleneck:
                    blocks.append(Bottleneck(inp, planes, stride, down, groups, base))
                else:
                    blocks.append(Basic(inp, planes, stride, down))
                inp = planes * block.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inp, 10)


# -- timm MobileNetV3 / EfficientNet --------------------------------------------------------------


def make_divisible(v: float, divisor: int = 8, round_limit: float = 0.9) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def round_channels(channels: float, multiplier: float = 1.0) -> int:
    return make_divisible(channels * multiplier)


class SqueezeExcite(nn.Module):
    def __init__(self, chs: int, rd: int) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, rd, 1)
        self.conv_expand = nn.Conv2d(rd, chs, 1)


class DepthwiseSeparable(nn.Module):
    def __init__(self, inp: int, out: int, k: int, se: bool) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(inp, inp, k, padding=k // 2, groups=inp, bias=False)
        self.bn1 = nn.BatchNorm2d(inp)
        if se:
            self.se = SqueezeExcite(inp, make_divisible(inp * 0.25))
        self.conv_pw = nn.Conv2d(inp, out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, k: int, exp: float, se: bool) -> None:
        super().__init__()
        mid = make_divisible(inp * exp)
        self.conv_pw = nn.Conv2d(inp, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv_dw = nn.Conv2d(mid, mid, k, padding=k // 2, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        if se:
            self.se = SqueezeExcite(mid, make_divisible(mid * 0.25))
        self.conv_pwl = nn.Conv2d(mid, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)


class ConvBnAct(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, out, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)


# (type, repeats, kernel, expansion, channels, squeeze-excite) per block group, per stage.
MNV3_LARGE = [
    [("ds", 1, 3, 1, 16, False)],
    [("ir", 1, 3, 4, 24, False), ("ir", 1, 3, 3, 24, False)],
    [("ir", 3, 5, 3, 40, True)],
    [("ir", 1, 3, 6, 80, False), ("ir", 1, 3, 2.5, 80, False), ("ir", 2, 3, 2.3, 80, False)],
    [("ir", 2, 3, 6, 112, True)],
    [("ir", 3, 5, 6, 160, True)],
    [("cn", 1, 1, 1, 960, False)],
]
MNV3_SMALL = [
    [("ds", 1, 3, 1, 16, True)],
    [("ir", 1, 3, 4.5, 24, False), ("ir", 1, 3, 3.67, 24, False)],
    [("ir", 1, 5, 4, 40, True), ("ir", 2, 5, 6, 40, True)],
    [("ir", 2, 5, 3, 48, True)],
    [("ir", 3, 5, 6, 96, True)],
    [("cn", 1, 1, 1, 576, False)],
]
EFFICIENTNET = [
    [("ds", 1, 3, 1, 16, True)],
    [("ir", 2, 3, 6, 24, True)],
    [("ir", 2, 5, 6, 40, True)],
    [("ir", 3, 3, 6, 80, True)],
    [("ir", 3, 5, 6, 112, True)],
    [("ir", 4, 5, 6, 192, True)],
    [("ir", 1, 3, 6, 320, True)],
]


class TimmEfficient(nn.Module):
    """timm's MobileNetV3 / EfficientNet layout: conv_stem, bn1, blocks.S.B, conv_head."""

    def __init__(
        self,
        arch: list[list[tuple[str, int, int, float, int, bool]]],
        stem: int,
        multiplier: float = 1.0,
        depth: float = 1.0,
        head: int = 1280,
        head_bn: bool = False,
    ) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        stages = []
        inp = stem
        for stage in arch:
            blocks: list[nn.Module] = []
            for kind, repeats, k, exp, chs, se in stage:
                out = round_channels(chs, multiplier)
                for _ in range(math.ceil(repeats * depth)):
                    if kind == "ds":
                        blocks.append(DepthwiseSeparable(inp, out, k, se))
                    elif kind == "ir":
                        blocks.append(InvertedResidual(inp, out, k, exp, se))
                    else:
                        blocks.append(ConvBnAct(inp, out))
                    inp = out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = nn.Conv2d(inp, head, 1, bias=not head_bn)
        if head_bn:
            self.bn2 = nn.BatchNorm2d(head)


def mobilenetv3(size: str, multiplier: float) -> TimmEfficient:
    # timm: stem 16, fixed (not scaled) when the multiplier is below 0.75.
    stem = 16 if multiplier < 0.75 else round_channels(16, multiplier)
    arch, head = (MNV3_SMALL, 1024) if size == "small" else (MNV3_LARGE, 1280)
    return TimmEfficient(arch, stem, multiplier, head=head)


def efficientnet(variant: str) -> TimmEfficient:
    width, depth = {"b0": (1.0, 1.0), "b1": (1.0, 1.1), "b2": (1.1, 1.2), "b3": (1.2, 1.4)}[variant]
    head = round_channels(1280, width)
    return TimmEfficient(
        EFFICIENTNET, round_channels(32, width), width, depth, head=head, head_bn=True
    )


# -- the reference OCR project's decoders and heads -----------------------------------------------


def conv_bn_relu(inp: int, out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, out, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(out), nn.ReLU()
    )


class PANDecoder(nn.Module):
    def __init__(self, in_channels: list[int], inner: int = 32, out: int = 16) -> None:
        super().__init__()
        self.reduce_convs = nn.ModuleList(conv_bn_relu(c, inner, 1) for c in in_channels)
        n = len(in_channels) - 1
        self.top_down_smooth = nn.ModuleList(conv_bn_relu(inner, inner, 3) for _ in range(n))
        self.bottom_up = nn.ModuleList(conv_bn_relu(inner, inner, 3, 2) for _ in range(n))
        self.output_conv = conv_bn_relu(inner * len(in_channels), out, 3)


class FPNDecoder(nn.Module):
    def __init__(self, in_channels: list[int], inner: int = 32, out: int = 16) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList(conv_bn_relu(c, inner, 1) for c in in_channels)
        self.output_convs = nn.ModuleList(conv_bn_relu(inner, inner, 3) for _ in in_channels)
        self.fusion = conv_bn_relu(inner * len(in_channels), out, 3)


class UNetDecoder(nn.Module):
    def __init__(self, in_channels: list[int], inner: int = 32, out: int = 16) -> None:
        super().__init__()
        self.inners = nn.ModuleList(nn.Conv2d(c, inner, 1, bias=False) for c in in_channels)
        self.outers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(inner, out, 3, padding=1, bias=False), nn.Upsample(2))
            for _ in in_channels
        )


class DSConv(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(inp, inp, 3, padding=1, groups=inp, bias=False)
        self.pointwise = nn.Conv2d(inp, out, 1, bias=False)
        self.bn = nn.BatchNorm2d(out)


class DBPPDecoder(nn.Module):
    def __init__(self, in_channels: list[int], inner: int = 32, out: int = 16) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList(conv_bn_relu(c, inner, 1) for c in in_channels)
        n = len(in_channels) - 1
        self.top_down = nn.ModuleList(DSConv(inner, inner) for _ in range(n))
        self.bottom_up = nn.ModuleList(DSConv(inner, inner) for _ in range(n))
        self.output_conv = conv_bn_relu(inner * len(in_channels), out, 3)


class DBHead(nn.Module):
    def __init__(self, inp: int = 16) -> None:
        super().__init__()
        inner = inp // 4
        self.binarize = nn.Sequential(
            nn.Conv2d(inp, inner, 3, padding=1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.ConvTranspose2d(inner, 1, 2, 2),
        )
        self.thresh = nn.Sequential(
            nn.Conv2d(inp, inner, 3, padding=1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.ConvTranspose2d(inner, 1, 2, 2),
        )


class CraftHead(nn.Module):
    def __init__(self, inp: int = 16) -> None:
        super().__init__()
        self.region_branch = conv_bn_relu(inp, 8, 3)
        self.affinity_branch = conv_bn_relu(inp, 8, 3)


class CraftUpconv(nn.Module):
    """CRAFT-pytorch's decoder: upconv1..4 double convolutions."""

    def __init__(self, inp: int, mid: int = 8) -> None:
        super().__init__()
        for i in range(1, 5):
            block = nn.Module()
            block.conv = nn.Sequential(
                nn.Conv2d(inp if i == 1 else inp + mid, mid, 1),
                nn.BatchNorm2d(mid),
                nn.ReLU(),
                nn.Conv2d(mid, mid, 3, padding=1),
                nn.BatchNorm2d(mid),
            )
            setattr(self, f"upconv{i}", block)


class CraftClsHead(nn.Module):
    """CRAFT-pytorch's head: conv_cls ending in two maps (region, affinity)."""

    def __init__(self, inp: int = 16) -> None:
        super().__init__()
        self.conv_cls = nn.Sequential(
            nn.Conv2d(inp, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1)
        )


class MapsHead(nn.Module):
    """A segmentation head ending in ``maps`` prediction maps (PAN: 6, PSENet: 7 kernels)."""

    def __init__(self, maps: int, inp: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.out = nn.Conv2d(8, maps, 1)


class ASFDecoder(FPNDecoder):
    """An FPN decoder whose fusion has DBNet++'s adaptive scale fusion (attention) layers."""

    def __init__(self, in_channels: list[int], inner: int = 32, out: int = 16) -> None:
        super().__init__(in_channels, inner, out)
        self.fusion.spatial_attention = nn.Conv2d(1, 1, 3, padding=1)
        self.fusion.channel_attention = nn.Conv2d(out, len(in_channels), 1)


class Detector(nn.Module):
    """The reference project's layout: model.encoder.model.<timm>, model.decoder, model.head."""

    def __init__(self, backbone: nn.Module, decoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.model = backbone
        self.decoder = decoder
        self.head = head


def shapes_of(module: nn.Module, prefix: str = "") -> dict[str, tuple[int, ...]]:
    return {prefix + k: tuple(v.shape) for k, v in module.state_dict().items()}


def on_meta() -> torch.device:
    """Build big models without allocating their weights."""
    return torch.device("meta")
