import pytest
import torch

from ganbench import ModelRequest
from ganbench.errors import ConfigError
from ganbench_plugins import stylegan2
from tests.support.models import (
    check_resume_bit_for_bit,
    check_spec,
    check_training,
    count,
    one_thread,
    paper_objective,
)

SPEC = stylegan2.ganbench_models()[0]


def request(resolution: int = 32, classes: int = 3, z_dim: int = 8, **options) -> ModelRequest:
    """A small StyleGAN2: 8 channels, w of 16 features, minibatch std over groups of 4."""
    merged = {**SPEC.options, "width": 8, "w_dim": 16, "mbstd_group": 4, "conditional": bool(classes), **options}
    return ModelRequest(resolution, 3, classes, z_dim, merged)


def build(resolution: int = 32, classes: int = 3, **options) -> stylegan2.StyleGAN2:
    torch.manual_seed(0)
    model = SPEC.build(request(resolution, classes, **options))
    assert isinstance(model, stylegan2.StyleGAN2)
    return model


# The reference: NVlabs/stylegan2-ada-pytorch (commit d72cc7d), training/networks.py's Generator and
# Discriminator built on the CPU with train.py's cifar config: z_dim = w_dim = 512, mapping num_layers 2 (map=2),
# channel_base int(fmaps * 32768) = 32768 and channel_max 512, D architecture 'orig', mbstd_group_size 32 and
# D's mapping_kwargs left empty (so its mapping network has MappingNetwork's default 8 layers), c_dim 10 or 0.
# The config does not depend on the resolution: at 64 px every layer is 512 wide too. ganbench's counts equal
# them exactly. By hand at 32 px, conditional: G's mapping 10*512 + 512 (embedding) + (1024*512 + 512)
# + (512*512 + 512) = 793,088; each StyleConv 512*512*9 + 512 (weights, bias) + 512*512 + 512 (affine) + 1
# (noise strength) = 2,622,465, seven of them; each toRGB 3*512 + 3 + 512*512 + 512 = 264,707, four; the
# constant 8,192: G 20,215,315. D: fromRGB 2,048, six 3x3 convs 2,359,808 each, the epilogue's conv (513 in)
# 2,364,416, fc 8,192*512 + 512, out 512*512 + 512, the mapping of the class 2,106,880: 23,089,664.
@pytest.mark.parametrize(
    ("resolution", "classes", "g_params", "d_params"),
    [
        (32, 10, 20_215_315, 23_089_664),
        (32, 0, 19_947_539, 20_720_641),
        (64, 10, 25_724_440, 27_809_280),
        (64, 0, 25_456_664, 25_440_257),
    ],
)
def test_parameter_counts_match_stylegan2_ada_pytorch(resolution, classes, g_params, d_params):
    options = {**SPEC.options, "conditional": bool(classes)}
    with one_thread():
        model = SPEC.build(ModelRequest(resolution, 3, classes, 512, options))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)
    assert model.generator.num_ws == {32: 8, 64: 10}[resolution]  # the reference's num_ws


@pytest.mark.parametrize(("resolution", "classes"), [(32, 3), (64, 0)])
def test_shapes(resolution, classes):
    model = build(resolution, classes)
    labels = model.sample_labels(5)
    with one_thread():
        images = model.generate(torch.randn(5, 8), labels)
        assert images.shape == (5, 3, resolution, resolution)
        assert model.discriminate(images, labels).shape == (5,)


def test_the_class_enters_g_through_the_mapping_and_d_through_the_projection():
    model = build(32, 3)
    z, images = torch.randn(2, 8), torch.randn(2, 3, 32, 32)
    with one_thread(), torch.no_grad():
        w = [model.generator.mapping(z, torch.tensor([c, c])) for c in range(2)]
        logits = [model.discriminate(images, torch.tensor([c, c])) for c in range(2)]
    assert not torch.equal(w[0], w[1]) and not torch.equal(logits[0], logits[1])
    unconditional = build(32, 0)
    assert unconditional.generator.mapping.embed is None and unconditional.discriminator.mapping is None
    assert unconditional.generator.mapping.layers[0].weight.shape == (16, 8)  # z alone


def test_truncation_zero_gives_the_image_of_the_mean_w():
    model = build(32, 3, truncation=0.0)
    generator = model.generator
    with one_thread():
        generator(torch.randn(16, 8), torch.randint(3, (16,)))  # training: w_avg moves toward the batch's w
        w_avg = generator.w_avg.clone()
        assert w_avg.abs().sum() > 0
        images = model.sample(torch.randn(4, 8), torch.tensor([0, 1, 2, 0]))
        generator.eval()
        with torch.no_grad():
            mean_image = generator.synthesize(w_avg.expand(1, generator.num_ws, -1))
    assert torch.equal(generator.w_avg, w_avg)  # evaluation leaves it alone
    torch.testing.assert_close(images, mean_image.expand(4, -1, -1, -1))


def test_truncation_moves_w_toward_the_mean_in_eval_mode_only():
    model = build(32, 3, truncation=0.5)
    generator = model.generator
    with torch.no_grad():
        generator.w_avg.normal_()
    z, labels = torch.randn(3, 8), torch.tensor([0, 1, 2])
    with one_thread(), torch.no_grad():
        generator.eval()
        w = generator.mapping(z, labels)
        truncated = generator.styles(z, labels)
        expected = generator.w_avg.lerp(w, 0.5)
        generator.train()
        untruncated = generator.styles(z, labels)
    torch.testing.assert_close(truncated, expected.unsqueeze(1).expand(-1, generator.num_ws, -1))
    torch.testing.assert_close(untruncated[:, 0], w)


def test_noise_is_random_in_training_and_fixed_for_evaluation():
    model = build(32, 0)
    for block in model.generator.blocks:
        for conv in block.convs:
            conv.noise_strength.data.fill_(1.0)
    z = torch.randn(2, 8)
    with one_thread():
        assert not torch.equal(model.generate(z), model.generate(z))
        assert torch.equal(model.sample(z), model.sample(z))


def test_style_mixing_takes_the_ws_of_a_second_latent_from_a_random_layer_on():
    z, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    with one_thread(), torch.no_grad():
        mixed = build(32, 3, style_mixing=1.0).generator
        ws = mixed.styles(z, labels)
        firsts = ws[:, 0:1].expand_as(ws)
        changed = (ws != firsts).any(dim=2).any(dim=0)  # which layers took another w
        cutoff = int(changed.float().argmax())
        assert 1 <= cutoff and changed[cutoff:].all() and not changed[:cutoff].any()
        mixed.eval()
        assert (mixed.styles(z, labels) == mixed.styles(z, labels)[:, :1]).all()  # not when evaluating
        plain = build(32, 3).generator.styles(z, labels)
    assert (plain == plain[:, :1]).all()


def test_path_length_regularization_is_lazy_and_tracks_the_mean_length(monkeypatch):
    model = build(32, 3, pl_weight=2.0, pl_interval=4)
    objective = paper_objective(SPEC)
    labels = torch.tensor([0, 1, 2, 0])
    with one_thread():
        torch.manual_seed(1)
        penalty = model.path_length_penalty(4, labels)
        assert penalty.item() > 0 and model.pl_mean.item() > 0
        penalty.backward()
        assert model.generator.mapping.layers[0].weight.grad is not None
        calls = []
        original = model.path_length_penalty
        monkeypatch.setattr(model, "path_length_penalty", lambda n, y: calls.append(n) or original(n, y))
        for _ in range(8):
            model.generator_loss(4, labels, objective)
    assert calls == [4, 4] and model.pl_steps.item() == 8  # G steps 0 and 4
    assert "pl_mean" in model.state_dict() and "pl_mean" not in build(32, 3).state_dict()


def test_a_few_training_steps_with_the_paper_objective():
    model = check_training(SPEC, request(32, mbstd_group=4), steps=2)
    assert model.generator.w_avg.abs().sum() > 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("truncation", 1.5, r"truncation = 1.5 is invalid for stylegan2: use a value in \[0, 1\] \(1: no truncation"),
        ("style_mixing", -0.1, r"style_mixing = -0.1 is invalid for stylegan2: use a probability in \[0, 1\]"),
        ("pl_weight", -2.0, r"pl_weight = -2.0 is invalid for stylegan2: use 0 \(off\) or more"),
        ("pl_interval", 0, r"pl_interval = 0 is invalid for stylegan2: use 1 \(every G step\) or more"),
        ("mapping_layers", 0, r"mapping_layers = 0 is invalid for stylegan2: use 1 or more layers"),
        ("mbstd_group", 0, r"mbstd_group = 0 is invalid for stylegan2: use a group of 1 or more samples"),
        ("width", 0, r"width = 0 is invalid for stylegan2: use 1 or more channels"),
    ],
)
def test_invalid_options_are_config_errors_with_the_fix(option, value, message):
    with pytest.raises(ConfigError, match=message):
        SPEC.build(request(32, **{option: value}))


def test_spec():
    check_spec(SPEC)
    assert SPEC.conditional and SPEC.options["conditional"]
    defaults = SPEC.defaults
    assert (defaults["loss"], defaults["reg"], defaults["reg_options"]) == (
        "bce",
        ["r1"],
        {"r1.weight": 0.01, "r1.interval": 16},
    )
    assert (defaults["beta1"], defaults["beta2"], defaults["batch_size"], defaults["z_dim"]) == (0.0, 0.99, 64, 512)
    assert defaults["lr_g"] == pytest.approx(0.002) and defaults["lr_d"] == pytest.approx(0.0025 * 16 / 17)
    # a half-life of 500k images at 64 images a step
    assert defaults["ema_decay"] ** (500_000 / 64) == pytest.approx(0.5) and defaults["ema_rampup"] == 0.05
    assert (SPEC.options["style_mixing"], SPEC.options["pl_weight"]) == (0.0, 0.0)  # off, as the cifar config


def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(registry, console, fast_flags, tmp_path):
    # on shapes with the paper defaults (bce, lazy r1, the ramped average), path length regularization and style
    # mixing on so that their state and random draws are covered too; no metrics (the weights are compared)
    flags = {
        **fast_flags,
        "model": "stylegan2",
        "eval_every": 2,
        "log_every": 1,
        "batch_size": 8,
        "metrics": [],
        "z_dim": 8,
        "model_options": {"width": 8, "w_dim": 16, "mbstd_group": 4, "pl_weight": 2.0, "style_mixing": 0.9},
    }
    ends = check_resume_bit_for_bit(registry, console, flags, tmp_path)
    assert ends[0]["config"]["ema_rampup"] == 0.05
