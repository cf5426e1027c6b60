"""mode-seeking: MSGAN's term in the generator's loss, and how every model hands it a second batch."""

import pytest
import torch

from ganbench import ModelRequest, Objective
from ganbench.config import resolve_config
from ganbench.errors import ConfigError
from ganbench_plugins import acgan, dcgan, sketch2img
from ganbench_plugins.bce import BCELoss
from ganbench_plugins.mode_seeking import EPS, ModeSeeking
from tests.support.models import one_thread, tiny_request


def test_the_penalty_is_the_weight_over_the_ratio_of_image_to_latent_distances():
    z, z2 = torch.zeros(2, 3), torch.full((2, 3), 2.0)
    fake, fake2 = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)
    # mean |fake2 - fake| = 0.5, mean |z2 - z| = 2: ratio 0.25, so the term is 3 / 0.25 = 12
    penalty = ModeSeeking(weight=3.0).generator_penalty(z, fake, lambda: (z2, fake2))
    assert penalty.item() == pytest.approx(3.0 / (0.25 + EPS))


def test_a_generator_that_ignores_its_latent_pays_the_most():
    z, fake = torch.randn(4, 8), torch.rand(4, 3, 4, 4)
    collapsed = ModeSeeking().generator_penalty(z, fake, lambda: (torch.randn(4, 8), fake.clone()))
    diverse = ModeSeeking().generator_penalty(z, fake, lambda: (torch.randn(4, 8), torch.rand(4, 3, 4, 4)))
    assert collapsed.item() == pytest.approx(1 / EPS)
    assert diverse.item() < 10


def test_a_negative_weight_is_refused():
    with pytest.raises(ConfigError, match="mode-seeking.weight"):
        ModeSeeking(weight=-1.0)


def _spread_across_latents(model, labels: torch.Tensor) -> float:
    """Mean absolute difference between G's images of two latent batches under the same labels."""
    with torch.no_grad():
        first, second = (model.generate(model.sample_latent(len(labels)), labels) for _ in range(2))
        return (first - second).abs().mean().item()


def test_descending_the_penalty_makes_a_collapsed_conditional_generator_use_its_latent():
    spec = dcgan.ganbench_models()[1]  # cdcgan: the label enters G beside the latent
    with one_thread():
        torch.manual_seed(0)
        model = spec.build(tiny_request(spec, 32))
        first = model.generator.net[0]
        with torch.no_grad():
            first.weight[:8] *= 0.01  # the latent's 8 input channels barely reach the image: intra-class collapse
        labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
        before = _spread_across_latents(model, labels)
        optimizer = torch.optim.Adam(model.generator.parameters(), lr=1e-2)
        regularizer = ModeSeeking()
        for _ in range(20):
            z, fake = model.draw(len(labels), labels)
            penalty = regularizer.generator_penalty(z, fake, lambda: model.draw(len(labels), labels))
            optimizer.zero_grad()
            penalty.backward()
            optimizer.step()
        assert _spread_across_latents(model, labels) > 5 * before


class _Recorder(ModeSeeking):
    """Mode seeking that keeps the second batch it drew."""

    def generator_penalty(self, z, fake, draw):
        def recorded():
            self.second = draw()
            return self.second

        return super().generator_penalty(z, fake, recorded)


@pytest.mark.parametrize(
    "build",
    [
        lambda: dcgan.ganbench_models()[1].build(tiny_request(dcgan.ganbench_models()[1], 32)),
        lambda: acgan.ganbench_models()[0].build(tiny_request(acgan.ganbench_models()[0], 32)),
    ],
    ids=["cdcgan", "acgan"],
)
def test_class_conditional_models_draw_the_second_batch_with_the_same_labels_and_new_latents(build):
    torch.manual_seed(0)
    model = build()
    calls = []
    model.generator.register_forward_pre_hook(lambda module, args: calls.append(args))
    recorder = _Recorder(weight=2.0)
    labels = torch.tensor([0, 1, 2, 2])
    plain = model.generator_loss(4, labels, Objective(BCELoss()))
    torch.manual_seed(0)
    calls.clear()
    loss = model.generator_loss(4, labels, Objective(BCELoss(), [recorder]))
    (z, first_labels), (z2, second_labels) = calls
    assert torch.equal(first_labels, labels) and torch.equal(second_labels, labels)
    assert not torch.equal(z, z2) and torch.equal(recorder.second[0], z2)
    # the same first batch as without the regularizer, plus the term
    assert (loss - plain).item() > 0


def test_an_image_conditioned_model_draws_the_second_batch_with_the_same_condition_images():
    spec = sketch2img.ganbench_models()[0]
    request = ModelRequest(32, 3, 3, 8, {**spec.options, "width": 4, "embedding_dim": 5}, 1)
    model = spec.build(request)
    calls = []
    model.generator.register_forward_pre_hook(lambda module, args: calls.append(args))
    labels, sketches = torch.tensor([0, 1, 2, 0]), torch.rand(4, 1, 32, 32) * 2 - 1
    model.generator_loss(4, labels, Objective(BCELoss(), [ModeSeeking()]), conditions=sketches)
    (z, _, first_sketches), (z2, second_labels, second_sketches) = calls
    assert torch.equal(second_labels, labels) and torch.equal(first_sketches, sketches)
    assert torch.equal(second_sketches, sketches) and not torch.equal(z, z2)


def test_a_generator_without_a_latent_is_refused_before_training(registry):
    flags = {"model": "sketch2img", "sketch": "edges", "reg": ["mode-seeking"], "model_options": {"noise": False}}
    with pytest.raises(ConfigError, match="without a latent .* noise = false"):
        resolve_config(registry, {}, flags)
    resolve_config(registry, {}, {**flags, "model_options": {"noise": True}})
