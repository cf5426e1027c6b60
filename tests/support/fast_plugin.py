"""A test-only plugin with a feature extractor and metric that are cheap on a CPU.

Engine tests use it so they exercise evaluation, logging and checkpoints in seconds; the
Inception metrics have tests of their own. It registers exactly as a third party would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from ganbench import (
    GAN,
    FeatureExtractorSpec,
    MetricInput,
    MetricSpec,
    ModelRequest,
    ModelSpec,
    Regularizer,
    RegularizerSpec,
    hookimpl,
)


class PixelFeatures:
    """Images average-pooled to 4x4: 48 features."""

    name = "pixels"
    weights_hash = "0" * 16
    input_size = None
    features = ("flat",)
    unavailable: dict[str, str] = {"logits": "pixels has no classifier"}

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = F.adaptive_avg_pool2d(images.float() / 255.0, 4)
        return {"flat": pooled.flatten(1)}


def pixel_fid(inputs: MetricInput) -> dict[str, float]:
    fake = fid_features_to_statistics(inputs.fake.double())
    real = fid_features_to_statistics(inputs.real.double())
    return {"pixel_fid": float(fid_statistics_to_metric(fake, real, False)["frechet_inception_distance"])}


def pixel_fid_from_statistics(inputs: MetricInput, reference: Mapping[str, np.ndarray]) -> dict[str, float]:
    fake = fid_features_to_statistics(inputs.fake.double())
    real = {key: value.astype(np.float64) for key, value in reference.items()}
    return {"pixel_fid": float(fid_statistics_to_metric(fake, real, False)["frechet_inception_distance"])}


def _unavailable(inputs: MetricInput) -> dict[str, float]:
    raise AssertionError("never computed: its feature is unavailable")


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [FeatureExtractorSpec("pixels", "Average-pooled pixels (tests only).", lambda request: PixelFeatures())]


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            "pixel-fid",
            "FID on pooled pixels (tests only).",
            "pixels",
            "flat",
            pixel_fid,
            estimates_covariance=True,
            from_statistics=pixel_fid_from_statistics,
        ),
        MetricSpec(
            "pixel-logits",
            "Needs a feature the extractor lacks (tests only).",
            "pixels",
            "logits",
            _unavailable,
            needs_reference=False,
        ),
    ]


class ExplodingLoss:
    """BCE whose generator loss turns NaN from the ``after``-th call on: a diverging run on demand."""

    def __init__(self, after: int) -> None:
        from ganbench_plugins.bce import BCELoss

        self.inner, self.after, self.calls = BCELoss(), after, 0

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.inner.discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = self.inner.generator_loss(fake_logits)
        return loss * float("nan") if self.calls >= self.after else loss


@hookimpl
def ganbench_losses() -> list:
    from ganbench import LossSpec

    return [
        LossSpec(
            "explode",
            "BCE that turns NaN after `after` steps (tests only).",
            lambda options: ExplodingLoss(options["after"]),
            options={"after": 10},
        )
    ]


class RecordingRegularizer(Regularizer):
    """Records how the engine calls a regularizer, and adds a penalty of ``weight`` (tests only)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.calls: list[tuple[str, int]] = []
        self.step = -1

    def penalty(self, critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        self.calls.append(("penalty", self.step))
        return torch.tensor(self.weight)

    def after_discriminator_step(self, discriminator: torch.nn.Module) -> None:
        self.calls.append(("after_discriminator_step", self.step))

    def set_progress(self, step: int, steps: int) -> None:
        self.step = step


def _refuses_spectral_norm(model: ModelSpec, options: dict) -> str | None:
    return "it cannot train with spectral_norm on; set it off." if options.get("spectral_norm") else None


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            "record",
            "Records the engine's calls (tests only).",
            lambda options: RecordingRegularizer(options["weight"]),
            options={"weight": 0.0},
            conflicts=_refuses_spectral_norm,
        )
    ]


class MLPGenerator(torch.nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.shape = shape
        self.net = torch.nn.Sequential(
            torch.nn.Linear(z_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, math.prod(shape)), torch.nn.Tanh()
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(torch.nn.Module):
    def __init__(self, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        layers = [torch.nn.Flatten(), torch.nn.Linear(math.prod(shape), hidden), torch.nn.LeakyReLU(0.2)]
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(hidden, 1))

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images)


def _build_mlp(request: ModelRequest) -> GAN:
    shape, hidden = (request.channels, request.resolution, request.resolution), request.options["hidden"]
    return GAN(MLPGenerator(request.z_dim, shape, hidden), MLPDiscriminator(shape, hidden), request.z_dim)


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    """A GAN without batch norm: a data-parallel run of it on CPUs trains exactly as one process (tests only)."""
    return [
        ModelSpec("mlp", "Two-layer MLPs, no normalization (tests only).", _build_mlp, (8, 16), options={"hidden": 32})
    ]
