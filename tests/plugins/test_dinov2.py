"""The DINOv2 extractors: the official architecture and preprocessing, weights, and unavailability.

There are no DINOv2 weights on the test machines and the official code (facebookresearch/dinov2) is not
installable, so ganbench's network is compared, on the same random weights of a tiny DINOv2 (embedding 32, 2
blocks, the real 37x37 position grid), with the official forward pass written out here from the official
code: patch embedding, class token, position embeddings resampled as ``interpolate_pos_encoding`` does,
pre-norm blocks with layer scale, the final norm, the class token. Where the official code is at hand (torch
hub's ``facebookresearch_dinov2_main``, or a checkout named by $GANBENCH_DINOV2_CODE), ganbench's network is also
compared with it; where the official weights are in torch hub's cache, they are loaded and run.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import time
import warnings
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

import ganbench_plugins.dinov2 as dinov2
import ganbench_plugins.weights as weights
from ganbench.registry import build_registry
from ganbench.specs import ExtractorRequest
from ganbench_plugins.pretrained import Pretrained, Unavailable

CPU = torch.device("cpu")
GRID = 37  # the official checkpoints' position grid: 518 px in patches of 14
TINY = dinov2.Architecture(embed_dim=32, depth=2, num_heads=2)
B14 = dinov2.VARIANTS["dinov2-vit-b14"]
TINY_B14 = dataclasses.replace(B14, architecture=TINY)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def official_state(architecture: dinov2.Architecture, seed: int) -> dict[str, torch.Tensor]:
    """Random weights under the official checkpoint's names and shapes."""
    generator = torch.Generator().manual_seed(seed)
    dim = architecture.embed_dim

    def random(*shape: int, scale: float = 0.1, mean: float = 0.0) -> torch.Tensor:
        return mean + scale * torch.randn(*shape, generator=generator)

    state = {
        "cls_token": random(1, 1, dim),
        "pos_embed": random(1, 1 + GRID * GRID, dim, scale=0.5),
        "mask_token": random(1, dim),
        "patch_embed.proj.weight": random(dim, 3, 14, 14, scale=0.02),
        "patch_embed.proj.bias": random(dim),
        "norm.weight": random(dim, mean=1.0),
        "norm.bias": random(dim),
    }
    for block in range(architecture.depth):
        prefix = f"blocks.{block}."
        state |= {
            prefix + "norm1.weight": random(dim, mean=1.0),
            prefix + "norm1.bias": random(dim),
            prefix + "attn.qkv.weight": random(3 * dim, dim, scale=0.3),
            prefix + "attn.qkv.bias": random(3 * dim),
            prefix + "attn.proj.weight": random(dim, dim, scale=0.2),
            prefix + "attn.proj.bias": random(dim),
            prefix + "ls1.gamma": random(dim, scale=0.5),
            prefix + "norm2.weight": random(dim, mean=1.0),
            prefix + "norm2.bias": random(dim),
            prefix + "mlp.fc1.weight": random(4 * dim, dim, scale=0.2),
            prefix + "mlp.fc1.bias": random(4 * dim),
            prefix + "mlp.fc2.weight": random(dim, 4 * dim, scale=0.1),
            prefix + "mlp.fc2.bias": random(dim),
            prefix + "ls2.gamma": random(dim, scale=0.5),
        }
    return state


def official_features(state: dict[str, torch.Tensor], images: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The class token of the official DINOv2 (hub settings) on uint8 images, as FD_DINOv2 preprocesses them."""
    x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(224, 224), align_corners=False)
    x = (x / 255 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    # prepare_tokens_with_masks
    x = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=14)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([state["cls_token"].expand(len(x), -1, -1), x], dim=1)
    # interpolate_pos_encoding, as the hub models run it: interpolate_offset 0.1, no antialiasing
    patches, dim = state["pos_embed"][:, 1:], x.shape[-1]
    size, grid = int(math.sqrt(patches.shape[1])), 224 // 14
    resampled = F.interpolate(
        patches.reshape(1, size, size, dim).permute(0, 3, 1, 2),
        scale_factor=((grid + 0.1) / size, (grid + 0.1) / size),
        mode="bicubic",
        antialias=False,
    )
    x = x + torch.cat([state["pos_embed"][:, :1], resampled.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)
    # the blocks: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x)))
    blocks = len({name.split(".")[1] for name in state if name.startswith("blocks.")})
    for block in range(blocks):
        prefix = f"blocks.{block}."
        p = {name.removeprefix(prefix): tensor for name, tensor in state.items() if name.startswith(prefix)}
        h = F.layer_norm(x, (dim,), p["norm1.weight"], p["norm1.bias"], eps=1e-6)
        q, k, v = F.linear(h, p["attn.qkv.weight"], p["attn.qkv.bias"]).unflatten(-1, (3, num_heads, -1)).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        attention = ((q * (dim // num_heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        h = (attention @ v).transpose(1, 2).flatten(2)
        x = x + p["ls1.gamma"] * F.linear(h, p["attn.proj.weight"], p["attn.proj.bias"])
        h = F.layer_norm(x, (dim,), p["norm2.weight"], p["norm2.bias"], eps=1e-6)
        h = F.gelu(F.linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"]))
        x = x + p["ls2.gamma"] * F.linear(h, p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    return F.layer_norm(x, (dim,), state["norm.weight"], state["norm.bias"], eps=1e-6)[:, 0]


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (2, 3, 40, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "dinov2_tiny.pth"
    torch.save(official_state(TINY, seed=1), path)
    return path


def tiny_extractor(path: Path, tmp_path: Path) -> Pretrained:
    request = ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(path)})
    extractor = dinov2.build_extractor(request, TINY_B14)
    assert isinstance(extractor, Pretrained), extractor.unavailable
    return extractor


def test_features_are_the_official_class_token_on_the_same_weights(
    no_network: Path, tiny_file: Path, tmp_path: Path, images: torch.Tensor
) -> None:
    extractor = tiny_extractor(tiny_file, tmp_path)
    features = extractor(images)

    expected = official_features(torch.load(tiny_file, weights_only=True), images, TINY.num_heads)
    assert set(features) == {dinov2.FEATURE} and features[dinov2.FEATURE].shape == (2, TINY.embed_dim)
    torch.testing.assert_close(features[dinov2.FEATURE], expected, atol=1e-5, rtol=1e-5)
    assert extractor.name == "dinov2-vit-b14" and extractor.input_size == 224


def _keys_cubic(x: float, a: float = -0.75) -> float:
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a if x < 2 else 0.0


def test_position_embeddings_are_sampled_where_the_official_scale_factor_puts_them() -> None:
    # one random profile across the columns, the same in every row: the rows' interpolation keeps it, so each
    # output column is a cubic convolution (Keys, a = -0.75) of the profile at (j + 0.5) / scale - 0.5
    profile = torch.randn(GRID, generator=torch.Generator().manual_seed(2))
    pos_embed = torch.cat([torch.tensor([[[5.0]]]), profile.repeat(GRID, 1).reshape(1, -1, 1)], dim=1)

    resampled = dinov2.interpolate_pos_embed(pos_embed, 16)

    def sampled(scale: float) -> torch.Tensor:
        values = []
        for column in range(16):
            source = (column + 0.5) / scale - 0.5
            near = range(math.floor(source) - 1, math.floor(source) + 3)
            values.append(sum(_keys_cubic(source - i) * profile[min(max(i, 0), GRID - 1)] for i in near))
        return torch.stack(values)

    assert resampled.shape == (1, 1 + 16 * 16, 1) and resampled[0, 0, 0] == 5.0  # the class token's is kept
    rows = resampled[0, 1:, 0].reshape(16, 16)
    torch.testing.assert_close(rows, sampled((16 + 0.1) / GRID).expand(16, 16), atol=1e-5, rtol=0)
    assert (rows[0] - sampled(16 / GRID)).abs().max() > 0.01  # resampling by size (timm's, HF's) differs


def test_the_weights_hash_changes_with_the_weights(no_network: Path, tiny_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pth"
    torch.save({**torch.load(tiny_file, weights_only=True), "blocks.1.ls2.gamma": torch.zeros(TINY.embed_dim)}, other)
    first, again = tiny_extractor(tiny_file, tmp_path), tiny_extractor(tiny_file, tmp_path)
    assert first.weights_hash == again.weights_hash != tiny_extractor(other, tmp_path).weights_hash


def test_offline_without_a_file_it_is_unavailable_with_the_fix(no_network: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    extractor = dinov2.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path), B14)
    assert time.monotonic() - started < 1
    assert isinstance(extractor, Unavailable) and extractor.features == ()
    reason = extractor.unavailable[dinov2.FEATURE]
    assert "No DINOv2 ViT-B/14 weights" in reason and B14.official.url in reason
    assert "--extractor-option dinov2-vit-b14.weights=/path/to/dinov2_vitb14_pretrain.pth" in reason


def test_a_checkpoint_of_another_architecture_is_unavailable_naming_it(
    no_network: Path, tiny_file: Path, tmp_path: Path
) -> None:
    request = ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(tiny_file)})
    extractor = dinov2.build_extractor(request, B14)  # tiny weights for ViT-B/14
    assert isinstance(extractor, Unavailable)
    assert f"Could not load {tiny_file} as DINOv2 ViT-B/14 weights" in extractor.unavailable[dinov2.FEATURE]


def test_the_registry_finds_the_extractors_and_their_metrics() -> None:
    registry = build_registry()
    assert {"dinov2-vit-b14", "dinov2-vit-l14"} <= set(registry.names("feature extractor"))
    metrics = {name: registry.get("metric", name) for name in ("fd-dinov2", "kid-dinov2", "fd-dinov2-b14")}
    assert {name: spec.extractor for name, spec in metrics.items()} == {
        "fd-dinov2": "dinov2-vit-l14",
        "kid-dinov2": "dinov2-vit-l14",
        "fd-dinov2-b14": "dinov2-vit-b14",
    }
    assert registry.get("feature extractor", "dinov2-vit-b14").options == {"weights": ""}


# --------------------------------------------------------------------------- the official code and weights


def official_code() -> Path:
    candidates = [os.environ.get("GANBENCH_DINOV2_CODE"), Path(torch.hub.get_dir()) / "facebookresearch_dinov2_main"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "dinov2" / "models" / "vision_transformer.py").is_file():
            return Path(candidate)
    pytest.skip(
        "needs the official DINOv2 code: torch hub's facebookresearch_dinov2_main (left by torch-fidelity's DINOv2 "
        "on a machine with internet) or a checkout of github.com/facebookresearch/dinov2 in $GANBENCH_DINOV2_CODE"
    )


@pytest.fixture
def official_module(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(official_code()))
    monkeypatch.setenv("XFORMERS_DISABLED", "1")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="xFormers")
        return importlib.import_module("dinov2.models.vision_transformer"), importlib.import_module("dinov2.layers")


def test_features_match_the_official_code_on_the_same_weights(
    official_module, no_network: Path, tiny_file: Path, tmp_path: Path, images: torch.Tensor
) -> None:
    vits, layers = official_module
    # the hub models' settings (dinov2/hub/backbones.py) at the tiny size
    official = vits.DinoVisionTransformer(
        img_size=518,
        patch_size=14,
        embed_dim=TINY.embed_dim,
        depth=TINY.depth,
        num_heads=TINY.num_heads,
        init_values=1.0,
        block_chunks=0,
        interpolate_antialias=False,
        interpolate_offset=0.1,
        block_fn=partial(layers.NestedTensorBlock, attn_class=layers.MemEffAttention),
    ).eval()
    official.load_state_dict(torch.load(tiny_file, weights_only=True))  # strict: the names written out above

    features = tiny_extractor(tiny_file, tmp_path)(images)[dinov2.FEATURE]

    with torch.no_grad():
        expected = dinov2.DinoV2Features("dinov2-vit-b14", official)(images)[0]
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)


def real_weights(variant: dinov2.Variant) -> Path:
    path = weights.hub_path(variant.official.file_name)
    if not path.is_file():
        pytest.skip(f"needs the official weights {path} (download {variant.official.url})")
    return path


def test_the_official_weights_load_and_give_class_tokens(tmp_path: Path, images: torch.Tensor) -> None:
    real_weights(B14)
    extractor = dinov2.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path), B14)
    assert isinstance(extractor, Pretrained), extractor.unavailable
    features = extractor(images)[dinov2.FEATURE]
    assert features.shape == (2, 768) and features.isfinite().all()
    torch.testing.assert_close(extractor(images)[dinov2.FEATURE], features)
    assert not torch.allclose(features[0], features[1], atol=1e-3)


def test_the_official_weights_give_the_official_codes_features(
    official_module, tmp_path: Path, images: torch.Tensor
) -> None:
    vits, _ = official_module
    path = real_weights(B14)
    hubconf = importlib.import_module("dinov2.hub.backbones")
    official = hubconf.dinov2_vitb14(pretrained=False).eval()
    official.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    extractor = dinov2.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path), B14)
    with torch.no_grad():
        expected = dinov2.DinoV2Features("dinov2-vit-b14", official)(images)[0]
    torch.testing.assert_close(extractor(images)[dinov2.FEATURE], expected, atol=1e-4, rtol=1e-4)
