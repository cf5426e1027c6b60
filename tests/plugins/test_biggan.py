import pytest
import torch

from ganbench import ModelRequest, hookimpl
from ganbench.config import resolve_config
from ganbench.errors import ConfigError
from ganbench.evaluation.evaluator import generate
from ganbench.nn import LinearConditionalBatchNorm2d, SelfAttention, orthogonal_penalty
from ganbench.registry import build_registry
from ganbench_plugins import biggan
from tests.support.models import (
    check_generate_and_discriminate,
    check_resume_bit_for_bit,
    check_spec,
    check_spectral_norms,
    check_training,
    count,
    one_thread,
)

SPEC = biggan.ganbench_models()[0]


def request(resolution: int = 32, classes: int = 3, z_dim: int = 20, **options) -> ModelRequest:
    """A small BigGAN: width 8 (G 32 channels at 32 px, D 16), a latent of 20 that splits into 4 or 5 chunks."""
    merged = {**SPEC.options, "width": 8, "shared_dim": 6, **options}
    return ModelRequest(resolution, 3, classes, z_dim, merged)


# The reference: StudioGAN's src/models/big_resnet.py (POSTECH-CVLab/PyTorch-StudioGAN), instantiated
# offline from a snapshot of the repository with spectrally normalised layers (apply_g_sn, apply_d_sn),
# cBN in G and PD in D (or W/O without labels), z_dim 80, g_shared_dim 128, g_conv_dim = d_conv_dim = 96,
# 10 classes: CIFAR10/BigGAN.yaml. Its counts equal ganbench's exactly.
# 32 px by hand, G (C = 4 * 96 = 384, chunk 80 / 4 = 20, cBN input 20 + 128 = 148): linear 20 -> 4x4x384 129,024;
# shared 1,280; per block two cBNs 2 * 2 * 148 * 384 (bias-free linears), a 1x1 and two 3x3 convs: 3,030,144
# (x3); attention at 16x16 (f, g C -> C/8, h C -> C/2, v C/2 -> C, gamma) 184,321; final BN 768; conv 10,371.
# D (C = 2 * 96 = 192): optimized block 338,112, down-block 700,992, two blocks without pooling or shortcut
# conv 663,936 each, attention 46,081, linear 193, projection embedding 1,920.
# At 64 px the reference's CIFAR-10 layout puts D's attention after its first block (attn_d_loc [1], 32x32);
# ganbench's attention_resolution sits on the same map size in both networks, so the 64 px reference
# counts are those of attn_g_loc [2], attn_d_loc [2] (16x16 in both).
@pytest.mark.parametrize(
    ("resolution", "classes", "g_params", "d_params"),
    [
        (32, 10, 9_416_196, 2_415_170),
        (32, 0, 8_825_092, 2_413_250),
        (64, 10, 24_572_100, 44_025_890),
    ],
)
def test_parameter_counts_match_studiogan(resolution, classes, g_params, d_params, monkeypatch):
    monkeypatch.setattr(biggan, "orthogonal_init", lambda module: None)  # QR of the 64 px weights takes seconds
    options = {**SPEC.options, "conditional": bool(classes)}
    with one_thread():
        model = biggan.build_biggan(ModelRequest(resolution, 3, classes, 80, options))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("resolution", [32, 64])
def test_shapes(resolution):
    check_generate_and_discriminate(SPEC.build(request(resolution)), resolution, 3)


def test_each_block_reads_its_own_latent_chunk_and_the_shared_embedding():
    model = SPEC.build(request(32))
    generator = model.generator
    seen: list[torch.Tensor] = []
    for block in generator.blocks:
        block.norm1.register_forward_pre_hook(lambda module, args: seen.append(args[1]))
    first: list[torch.Tensor] = []
    generator.linear.register_forward_pre_hook(lambda module, args: first.append(args[0]))
    z, labels = torch.randn(4, 20), torch.tensor([0, 1, 2, 1])
    with one_thread():
        model.generate(z, labels)
    chunks = z.split(5, dim=1)
    assert torch.equal(first[0], chunks[0])
    assert len(seen) == 3
    for i, condition in enumerate(seen):
        assert torch.equal(condition, torch.cat([chunks[i + 1], generator.shared[labels]], dim=1))
    # BigGAN's conditional batch norm: gain and bias are linear maps of that vector
    norm = generator.blocks[0].norm1
    assert isinstance(norm, LinearConditionalBatchNorm2d) and norm.gain.in_features == 5 + 6


def test_unconditional_build_has_no_embedding_and_needs_no_labels():
    model = SPEC.build(request(32, classes=0, conditional=False))
    assert not model.conditional and model.generator.shared is None and model.discriminator.head.embedding is None
    assert model.generator.blocks[0].norm1.gain.in_features == 5  # the chunk alone
    check_generate_and_discriminate(model, 32, 3)


def test_the_conditional_switch_builds_without_labels_even_on_labelled_data():
    assert not SPEC.build(request(32, classes=3, conditional=False)).conditional


def test_attention_sits_on_16x16_maps_by_default():
    model = SPEC.build(request(32))
    sizes = []
    for block in model.modules():
        if isinstance(block, SelfAttention):
            block.register_forward_hook(lambda module, inputs, output: sizes.append(tuple(inputs[0].shape[1:])))
    labels = torch.tensor([0, 1])
    with one_thread():
        model.discriminate(model.generate(torch.randn(2, 20), labels), labels)
    assert sizes == [(32, 16, 16), (16, 16, 16)]


def test_truncated_latents_stay_within_the_threshold():
    z = biggan.truncated_normal(2000, 20, 0.5, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5
    assert z.std() > 0.2  # redrawn, not clamped: a clamp would pile a quarter of the mass at +-0.5
    assert (z.abs() == 0.5).float().mean() < 0.01


def test_truncation_applies_to_evaluation_latents_only():
    model = SPEC.build(request(32, truncation=0.5))
    seen: list[torch.Tensor] = []
    model.generator.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    with one_thread():
        list(generate(model, 64, 32, seed=0))  # what the metrics score
        assert all(z.abs().max() <= 0.5 for z in seen) and len(seen) == 2
        z, _ = model.draw(64, model.sample_labels(64))  # G's side of training
    assert z.abs().max() > 0.5
    assert model.sample_latent(64).abs().max() > 0.5  # D's side of training
    untruncated = SPEC.build(request(32))
    assert untruncated.sample_latent(64, torch.Generator().manual_seed(0)).abs().max() > 0.5


def test_orthogonal_penalty_has_biggans_gradient():
    w = torch.randn(6, 3, 3, 3, requires_grad=True)
    orthogonal_penalty([w]).backward()
    flat = w.detach().view(6, -1)
    # BigGAN-PyTorch utils.ortho adds 2 (W W^T * (1 - I)) W to the gradient
    expected = 2 * ((flat @ flat.t()) * (1 - torch.eye(6))) @ flat
    assert torch.allclose(w.grad.view(6, -1), expected, atol=1e-4)


def test_ortho_regularization_adds_to_gs_loss_and_spares_the_shared_embedding():
    from tests.support.models import paper_objective

    losses = []
    for ortho in (0.0, 1e-4):
        torch.manual_seed(0)
        model = SPEC.build(request(32, ortho=ortho))
        torch.manual_seed(1)
        labels = model.sample_labels(4)
        with one_thread():
            loss = model.generator_loss(4, labels, paper_objective(SPEC))
        losses.append(loss)
    assert losses[1] > losses[0]
    loss.backward()
    assert model.generator.shared.grad is not None  # from the adversarial loss, through the cBNs


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("attention_resolution", 32, "attention_resolution = 32 is invalid for biggan at 32 px: use one of 0, 8, 16"),
        ("truncation", -1.0, "truncation = -1.0 is invalid for biggan: use 0 .off. or more"),
        ("width", 6, "width = 6 is invalid for biggan: use a multiple of 4"),
    ],
)
def test_invalid_options_are_config_errors(option, value, message):
    with pytest.raises(ConfigError, match=message):
        SPEC.build(request(32, **{option: value}))


def test_a_latent_that_does_not_split_into_chunks_is_a_config_error():
    with pytest.raises(ConfigError, match="z_dim = 22 is invalid for biggan at 32 px.*divisible by 4"):
        SPEC.build(request(32, z_dim=22))


class _Unlabelled:
    @hookimpl
    def ganbench_datasets(self):
        from ganbench import DatasetSpec

        return [DatasetSpec("unlabelled", "no labels", build=lambda request: None, labelled=False)]


def test_conditional_on_unlabelled_data_is_refused_with_the_fix():
    registry = build_registry(extra_plugins=(_Unlabelled(),))
    flags = {"model": "biggan", "dataset": "unlabelled"}
    refusal = r"biggan is class-conditional but unlabelled has no labels.*--model-option conditional=false"
    with pytest.raises(ConfigError, match=refusal):
        resolve_config(registry, {}, flags)
    config = resolve_config(registry, {}, {**flags, "model_options": {"conditional": "false"}}).config
    assert config.model_options == {"conditional": False}


def test_spec():
    check_spec(SPEC)
    assert SPEC.conditional
    assert SPEC.defaults["ema_decay"] == 0.9999 and SPEC.defaults["ema_start"] == 1000
    assert (SPEC.defaults["loss"], SPEC.defaults["n_disc"], SPEC.defaults["z_dim"]) == ("hinge", 5, 80)


# Normalised layers. G: the linear layer; per block the four bias-free cBN linears and three convs; the
# attention's four convs; the output conv: 1 + 3*7 + 4 + 1 = 27. Not G's shared embedding (a plain
# parameter). D: 3 convs in the optimized and the down-block, 2 in each of the others, the attention's 4,
# the linear layer and the projection embedding: 3 + 3 + 2 + 2 + 4 + 2 = 16.
def test_training_steps_keep_both_networks_spectrally_normalised():
    model = check_training(SPEC, request(32), steps=3)
    check_spectral_norms(model.generator, 27)
    check_spectral_norms(model.discriminator, 16)


def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(registry, console, fast_flags, tmp_path):
    # the average starts at step 1, so the resumed half continues an average already under way;
    # one D step per G step and no metrics keep it to seconds (the weights are compared instead)
    flags = {
        **fast_flags,
        "model": "biggan",
        "eval_every": 2,
        "log_every": 1,
        "batch_size": 8,
        "n_disc": 1,
        "metrics": [],
        "z_dim": 20,
        "ema_start": 1,
        "model_options": {"width": 8, "truncation": 1.0},
    }
    check_resume_bit_for_bit(registry, console, flags, tmp_path)
