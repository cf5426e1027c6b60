"""sketch2img: sketch + label -> image, trained end to end on shapes' edge maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench import ImageConditionedGAN, ModelRequest, Objective, Regularizer
from ganbench.config import resolve_config
from ganbench.data.images import to_uint8
from ganbench.errors import ConfigError
from ganbench.training.assembly import build_components
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.runner import run
from ganbench_plugins import sketch2img
from ganbench_plugins.losses import WassersteinLoss
from tests.support.models import check_spec, one_thread

SPEC = sketch2img.ganbench_models()[0]


def _request(resolution: int = 32, channels: int = 3, **options) -> ModelRequest:
    return ModelRequest(resolution, channels, 3, 8, {**SPEC.options, "width": 4, "embedding_dim": 5, **options}, 1)


def test_spec_declares_the_study_defaults():
    check_spec(SPEC)
    assert SPEC.conditional and SPEC.condition_image
    defaults = SPEC.defaults
    assert (defaults["loss"], defaults["reg"], defaults["reg_options"]) == ("wasserstein", ["gp"], {"gp.weight": 100.0})
    assert (defaults["n_disc"], defaults["lr_g"], defaults["lr_d"]) == (5, 1e-4, 1e-4)
    assert SPEC.options["norm"] == "instance" and defaults["reference_split"] == "test"


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("noise", [True, False])
def test_generator_maps_sketch_and_label_to_an_image(resolution, channels, noise):
    model = SPEC.build(_request(resolution, channels, noise=noise))
    assert isinstance(model, ImageConditionedGAN)
    sketches = torch.rand(5, 1, resolution, resolution) * 2 - 1
    labels = torch.tensor([0, 1, 2, 0, 1])
    with one_thread():
        z = torch.randn(5, 8)
        images = model.sample(z, labels, conditions=sketches)
        assert images.shape == (5, channels, resolution, resolution) and images.abs().max() <= 1
        other_label = model.sample(z, (labels + 1) % 3, conditions=sketches)
        other_sketch = model.sample(z, labels, conditions=sketches.flip(-1))
        other_noise = model.sample(torch.randn(5, 8), labels, conditions=sketches)
        logits = model.discriminate(model.critic_input(images, sketches), labels)
    assert logits.shape == (5,)
    assert not torch.allclose(images, other_label) and not torch.allclose(images, other_sketch)
    assert torch.allclose(images, other_noise) != noise  # without noise, G is a function of sketch and label


def test_batch_norm_in_the_critic_is_refused():
    with pytest.raises(ConfigError, match="norm = 'batch'"):
        SPEC.build(_request(norm="batch"))


class _Recorder(Regularizer):
    """Records what the penalty is handed, and returns a penalty through the critic."""

    def penalty(self, critic, real, fake):
        self.seen = (real, fake, critic(real))
        return critic(real).square().mean()


def test_the_critic_and_its_penalty_see_the_image_with_its_sketch():
    model = SPEC.build(_request())
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    sketches, labels = torch.rand(4, 1, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0])
    recorder = _Recorder()
    with one_thread():
        loss = model.discriminator_loss(real, labels, Objective(WassersteinLoss(), [recorder]), conditions=sketches)
        seen_real, seen_fake, critic_on_real = recorder.seen
        assert seen_real.shape[1] == seen_fake.shape[1] == 4  # RGB + the sketch
        assert torch.equal(seen_real, torch.cat([real, sketches], dim=1))
        assert torch.equal(seen_fake[:, 3:], sketches)  # generated images are judged with the sketch they came from
        assert torch.allclose(critic_on_real, model.discriminate(seen_real, labels))
        loss.backward()
    assert all(p.grad is not None for p in model.discriminator.parameters())
    assert all(p.grad is None for p in model.generator.parameters())


def test_a_sketch_model_without_sketches_and_sketches_without_a_sketch_model_are_refused(registry):
    with pytest.raises(ConfigError, match="--sketch edges"):
        resolve_config(registry, {}, {"model": "sketch2img"})
    with pytest.raises(ConfigError, match="sketch = edges .* dcgan is not conditioned on an image"):
        resolve_config(registry, {}, {"model": "dcgan", "sketch": "edges"})
    with pytest.raises(ConfigError, match="pairing = unpaired .* cdcgan is not conditioned on an image"):
        resolve_config(registry, {}, {"model": "cdcgan", "pairing": "unpaired"})
    with pytest.raises(ConfigError, match="sketch = canny is invalid: it must be one of none, edges"):
        resolve_config(registry, {}, {"model": "sketch2img", "sketch": "canny"})


def _tiles(path, rows: int, columns: int, size: int) -> np.ndarray:
    """The tiles of a grid PNG written by ``save_grid`` (1 px padding) as (rows, columns, 3, size, size) uint8."""
    grid = np.asarray(Image.open(path).convert("RGB"))
    step = size + 1
    return np.stack(
        [
            np.stack(
                [grid[1 + r * step : 1 + r * step + size, 1 + c * step : 1 + c * step + size] for c in range(columns)]
            )
            for r in range(rows)
        ]
    ).transpose(0, 1, 4, 2, 3)


def test_trains_end_to_end_on_shapes_edges_and_logs_condition_generated_real_grids(registry, console, fast_flags):
    flags = {
        **fast_flags,
        "model": "sketch2img",
        "sketch": "edges",
        "steps": 4,
        "eval_every": 2,
        "log_every": 2,
        "n_disc": 2,
        "grid_size": 12,
        "metrics": ["pixel-fid", "ssim", "psnr"],
    }
    with one_thread():
        outcome = run(registry, flags, {}, None, console)
    assert outcome.status == "FINISHED" and outcome.step == 4
    results = {r.metric: r for r in outcome.evaluations[-1].results}
    assert {name: r.unavailable for name, r in results.items()} == {"pixel-fid": None, "ssim": None, "psnr": None}
    assert -1 <= results["ssim"].value <= 1 and results["psnr"].value > 0
    # the study's test split
    assert "32 generated vs 32 shapes[size=256]/test v2" in results["ssim"].protocol.describe()

    # the last grid, against the checkpoint's model: condition | generated | real of the same reference images
    config = resolve_config(registry, {}, flags).config
    with one_thread():
        components = build_components(config, registry)
        components.model.load_state_dict(load_checkpoint(outcome.checkpoint)["model"])
        conditions, generated, real = components.evaluator.condition_samples(components.model, 12, config.seed + 1)
    per_row = 2  # 12 triplets: about square
    tiles = _tiles(outcome.run_dir / "samples" / "step_0000004.png", 12 // per_row, 3 * per_row, 32)
    for index in range(12):
        row, first = divmod(index, per_row)
        shown = tiles[row, 3 * first : 3 * first + 3]
        expected = [to_uint8(t[index].expand(3, -1, -1)).numpy() for t in (conditions, generated, real)]
        for column, (tile, image) in enumerate(zip(shown, expected, strict=True)):
            assert np.abs(tile.astype(int) - image.astype(int)).max() <= 1, (index, column)
    assert not np.array_equal(expected[1], expected[2])  # the generated column is not a copy of the real one
