import pytest
import torch

from ganbench import ModelRequest, ModelSpec, Objective, hookimpl
from ganbench.config import resolve_config
from ganbench.errors import ConfigError
from ganbench.registry import build_registry
from ganbench_plugins.clip import WeightClipping, conflicts
from ganbench_plugins.dcgan import build_dcgan
from ganbench_plugins.losses import WassersteinLoss


def test_every_discriminator_parameter_stays_within_the_limit_after_each_step():
    torch.manual_seed(0)
    model = build_dcgan(ModelRequest(32, 1, 0, 8, {"width": 4, "norm": "batch"}))  # batch-norm scales start near 1
    objective = Objective(WassersteinLoss(), [WeightClipping(limit=0.01)])
    optimizer = torch.optim.RMSprop(model.discriminator.parameters(), lr=0.1)
    assert max(p.abs().max() for p in model.discriminator.parameters()) > 0.5
    for _ in range(3):
        loss = model.discriminator_loss(torch.rand(4, 1, 32, 32) * 2 - 1, None, objective)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        objective.after_discriminator_step(model.discriminator)
        assert all(p.abs().max() <= 0.01 for p in model.discriminator.parameters())
    assert any(p.abs().max() == 0.01 for p in model.discriminator.parameters())  # clipping was active


def test_clipping_leaves_the_generator_alone():
    model = build_dcgan(ModelRequest(32, 1, 0, 8, {"width": 4}))
    before = [p.clone() for p in model.generator.parameters()]
    WeightClipping(0.01).after_discriminator_step(model.discriminator)
    assert all(torch.equal(a, b) for a, b in zip(before, model.generator.parameters(), strict=True))


def test_refuses_a_model_with_spectral_norm():
    spec = ModelSpec("sn-model", "test", build=lambda request: None, resolutions=(32,), options={"spectral_norm": True})
    message = conflicts(spec, {"spectral_norm": True})
    assert message and "clip" in message and "spectral_norm" in message and "sn-model" in message
    assert "--model-option spectral_norm=false" in message
    assert conflicts(spec, {"spectral_norm": False}) is None
    assert conflicts(spec, {"width": 64}) is None


def test_registered_with_its_conflict_check(registry):
    spec = registry.get("regularizer", "clip")
    assert spec.conflicts is conflicts and spec.build(dict(spec.options)).limit == 0.01


def test_non_positive_limit_is_refused():
    with pytest.raises(ConfigError, match="clip.limit"):
        WeightClipping(limit=0.0)


class SpectralNormModel:
    @hookimpl
    def ganbench_models(self) -> list[ModelSpec]:
        options = {"width": 8, "spectral_norm": True}
        return [ModelSpec("sn-test", "test", build=lambda request: None, resolutions=(32,), options=options)]


def test_a_run_asking_for_clip_on_a_spectrally_normalized_model_stops_before_any_work():
    registry = build_registry(extra_plugins=(SpectralNormModel(),))
    with pytest.raises(ConfigError, match="The regularizer clip cannot train sn-test as configured: weight clipping"):
        resolve_config(registry, flags={"model": "sn-test", "reg": ["clip"]})
    flags = {"model": "sn-test", "reg": ["clip"], "model_options": {"spectral_norm": "false"}}  # as a flag gives it
    assert resolve_config(registry, flags=flags).config.reg == ["clip"]
