"""Helpers the model plugins' tests share (test_dcgan, test_wgan, test_acgan, test_sngan, test_sagan, test_cgan_pd).

Requests for small, fast networks and for the papers' full-size ones, the paper objective and
optimizers as the engine builds them, and the checks every model's tests make: generated and
discriminated shapes, a few training steps, the spec's declarations, spectral norms, a resume bit for bit
(which tests/ganbench/nn/test_spectral also uses).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pluggy
import torch
from mlflow.tracking import MlflowClient
from optuna.distributions import BaseDistribution, CategoricalDistribution
from torch import nn
from torch.nn.utils import parametrize

from ganbench import GAN, ModelRequest, ModelSpec, Objective, hookspecs
from ganbench.config import DEFAULTS, FIELDS, RunConfig
from ganbench.registry import Registry
from ganbench.training.assembly import build_objective
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.optim import build_optimizer
from ganbench.training.runner import run
from ganbench_plugins import bce, clip, gradient_penalty, losses

# --------------------------------------------------------------------------- building


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tiny_request(spec: ModelSpec, resolution: int, channels: int = 3, **options) -> ModelRequest:
    """A small, fast model: width 4, latent 8, 3 classes when conditional."""
    merged = {**spec.options, "width": 4, "embedding_dim": 5, **options}
    known = {key: value for key, value in merged.items() if key in spec.options}
    return ModelRequest(resolution, channels, 3 if spec.conditional else 0, 8, known)


def small_request(spec: ModelSpec, resolution: int, channels: int = 3, **options) -> ModelRequest:
    """``tiny_request`` at width 8: D's blocks 8 channels, G's 16 (self-attention needs a multiple of 8)."""
    return tiny_request(spec, resolution, channels, width=8, **options)


def full_size(spec: ModelSpec, resolution: int, **options) -> ModelRequest:
    """The paper's network: default options, z 128, RGB, 10 classes when conditional."""
    return ModelRequest(resolution, 3, 10 if spec.conditional else 0, 128, {**spec.options, **options})


@contextmanager
def one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from a second thread, and lose much when the other core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- the engine's pieces


def paper_config(spec: ModelSpec) -> RunConfig:
    """A run configured with the model's paper defaults (those that are run settings)."""
    return RunConfig(**{key: value for key, value in spec.defaults.items() if key in FIELDS})


def paper_objective(spec: ModelSpec) -> Objective:
    """The loss and regularizers of the model's paper defaults, built as the engine builds them.

    Only the loss and regularizer plugins are registered: loading every installed plugin takes seconds.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for plugin in (bce, losses, clip, gradient_penalty):
        manager.register(plugin)
    return build_objective(paper_config(spec), Registry(manager, {}))


# --------------------------------------------------------------------------- checks


def check_generate_and_discriminate(model: GAN, resolution: int, channels: int) -> None:
    labels = model.sample_labels(5)
    with one_thread():
        images = model.generate(torch.randn(5, model.z_dim), labels)
    assert images.shape == (5, channels, resolution, resolution)
    assert images.abs().max() <= 1  # tanh output
    assert model.discriminate(images, labels).shape == (5,)


def check_training(spec: ModelSpec, request: ModelRequest, steps: int = 2) -> GAN:
    """The model ``request`` asks for, built from seed 0 and trained ``steps`` generator steps, each
    after ``n_disc`` discriminator steps, the way the engine takes them, with the paper's objective,
    optimizers and ``n_disc``; the trained model.

    Every D step's loss reaches every D parameter (its gradient is not None) and none of G's (the
    generated batch is detached); every G step's loss reaches every G parameter. D's optimizer
    step (with the objective's after-step, e.g. weight clipping) leaves every G parameter as it
    was, and G's leaves every D parameter as it was. Every parameter changes in at least one step.

    Gradients need not be nonzero in every step: some are exactly 0 at the start of training and
    become nonzero only once training has moved other weights. So a parameter need only change
    in one step, and some models need more than one step before all have:
    - a self-attention block's gamma starts at 0, which zeroes the gradients of its convs until
      the block's first step has moved gamma: the convs change from the block's second step on;
    - the hinge loss's gradient of D's output bias is (fake logits inside the margin - real
      logits inside it) / batch: exactly 0 while every logit lies inside the margin, as all may
      at initialisation. The bias moves once D's weights have pushed a logit beyond the margin;
    - in a critic whose weights are clipped to 0.01 the biases dominate, every sample then takes
      the same LeakyReLU slopes, and the Wasserstein loss's gradient of a bias cancels exactly
      between real and fake.
    """
    with one_thread():
        torch.manual_seed(0)
        model = spec.build(request)
        config = paper_config(spec)
        objective = paper_objective(spec)
        g_optimizer = build_optimizer(model.generator, config.lr_g, config)
        d_optimizer = build_optimizer(model.discriminator, config.lr_d, config)
        g_params, d_params = dict(model.generator.named_parameters()), dict(model.discriminator.named_parameters())
        never_changed = set(_snapshot(model))
        labels = None
        for step in range(steps):
            objective.set_progress(step, steps)
            for _ in range(config.n_disc):
                real = torch.rand(4, request.channels, request.resolution, request.resolution) * 2 - 1
                labels = model.sample_labels(4)
                d_loss = model.discriminator_loss(real, labels, objective)
                assert torch.isfinite(d_loss)
                model.zero_grad(set_to_none=True)
                d_loss.backward()
                assert all(p.grad is not None for p in d_params.values())
                assert all(p.grad is None for p in g_params.values())  # D's loss does not reach G
                before = _snapshot(model)
                d_optimizer.step()
                objective.after_discriminator_step(model.discriminator)
                changed = _changed(model, before)
                assert {network for network, _ in changed} <= {"discriminator"}  # D's step leaves G as it was
                never_changed -= changed
            model.discriminator.requires_grad_(False)  # as in the engine: G's step needs gradients through D only
            g_loss = model.generator_loss(4, labels, objective)
            assert torch.isfinite(g_loss)
            model.zero_grad(set_to_none=True)
            g_loss.backward()
            model.discriminator.requires_grad_(True)
            assert all(p.grad is not None for p in g_params.values())
            before = _snapshot(model)
            g_optimizer.step()
            changed = _changed(model, before)
            assert {network for network, _ in changed} <= {"generator"}  # G's step leaves D as it was
            never_changed -= changed
    assert not never_changed, f"unchanged after {steps} steps: {sorted(never_changed)}"
    return model


def _named_parameters(model: GAN) -> Iterator[tuple[tuple[str, str], nn.Parameter]]:
    for network in ("generator", "discriminator"):
        for name, parameter in getattr(model, network).named_parameters():
            yield (network, name), parameter


def _snapshot(model: GAN) -> dict[tuple[str, str], torch.Tensor]:
    return {key: parameter.detach().clone() for key, parameter in _named_parameters(model)}


def _changed(model: GAN, before: dict[tuple[str, str], torch.Tensor]) -> set[tuple[str, str]]:
    """``(network, name)`` of every parameter whose value is no longer the one in ``before``."""
    return {key for key, parameter in _named_parameters(model) if not torch.equal(parameter, before[key])}


def _contains(distribution: BaseDistribution, value) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    return distribution.low <= value <= distribution.high


def check_spec(spec: ModelSpec) -> None:
    """The declarations every model makes, and a search space whose keys name real settings holding the defaults."""
    assert spec.resolutions == (32, 64) and spec.channels == (1, 3)
    assert spec.description and "\n" not in spec.description and spec.citation
    assert set(spec.defaults) <= set(FIELDS)
    assert spec.search_space
    for key, distribution in spec.search_space.items():
        assert isinstance(distribution, BaseDistribution), key
        field, _, rest = key.partition(".")
        assert field in FIELDS, key
        if field == "model_options":
            default = spec.options[rest]
        elif field == "reg_options":
            assert rest.partition(".")[0] in spec.defaults["reg"], key
            default = spec.defaults["reg_options"][rest]
        else:
            assert not rest, key
            default = spec.defaults.get(field, getattr(DEFAULTS, field))
        assert _contains(distribution, default), f"{key}: the default {default} lies outside {distribution}"


# --------------------------------------------------------------------------- spectral norm


def is_normalised(layer: nn.Module) -> bool:
    return parametrize.is_parametrized(layer, "weight")


def singular_values(module: nn.Module, power_iterations: int = 0) -> list[float]:
    """The largest singular value of every spectrally normalised weight, as its layer uses it.

    The weight is reshaped to the matrix the parametrization normalises: the dimension it
    names (1 for a transposed conv, else 0) first, the rest flattened. In train mode every
    read of a normalised weight is one more power iteration: ``power_iterations`` reads
    come first, as that many more forward passes would.
    """
    values = []
    with torch.no_grad():
        for layer in module.modules():
            if is_normalised(layer):
                for _ in range(power_iterations):
                    _ = layer.weight
                dim = layer.parametrizations.weight[0].dim
                matrix = layer.weight.movedim(dim, 0).flatten(1)
                values.append(torch.linalg.matrix_norm(matrix, ord=2).item())
    return values


def check_spectral_norms(module: nn.Module, expected_layers: int) -> None:
    """``module`` has ``expected_layers`` normalised weights, each with spectral norm within 0.1 of 1.

    Five more power iterations in train mode come first: one iteration per step lags behind
    weights that Adam moves fast relative to their size, as it moves N(0, 0.02) ones (by up
    to 15% after ten steps of SNGAN's CNN discriminator).
    """
    values = singular_values(module.train(), power_iterations=5)
    assert len(values) == expected_layers
    assert all(abs(value - 1) < 0.1 for value in values), values


def _metric_history(results: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    client = MlflowClient(tracking_uri=f"sqlite:///{results.resolve() / 'mlflow.db'}")
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def check_resume_bit_for_bit(registry, console, flags: dict, tmp_path: Path) -> list[dict]:
    """A 2-step run, and a 1-step run resumed to step 2, log the same losses and end with the same weights and
    average of G; returns both final checkpoints (uninterrupted first) for further checks."""
    whole_dir = tmp_path / "whole"
    whole = run(registry, {**flags, "steps": 2, "results_dir": str(whole_dir)}, {}, None, console)
    first = run(registry, {**flags, "steps": 1}, {}, None, console)
    resumed = run(registry, {"steps": 2, "results_dir": flags["results_dir"]}, {}, first.run_id, console)
    assert resumed.step == 2
    for key in ("loss_d", "loss_g"):
        halves = _metric_history(Path(flags["results_dir"]), first.run_id, key)
        assert halves == _metric_history(whole_dir, whole.run_id, key), key
    ends = [load_checkpoint(outcome.checkpoint) for outcome in (whole, resumed)]
    for part in ("model", "ema"):
        assert ends[0][part].keys() == ends[1][part].keys()
        assert all(torch.equal(ends[0][part][name], ends[1][part][name]) for name in ends[0][part]), part
    return ends
