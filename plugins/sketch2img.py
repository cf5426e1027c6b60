"""``sketch2img``: a conditional WGAN-GP that turns a condition image (a sketch) and a class label into an image.

The family of the skin-lesion study of issue 7 (ISIC 2016, 64x64: a sketch of a lesion plus its
class label in, an image out; gradient penalty lambda = 100, 5 critic steps, lr 1e-4, instance
norm in the critic), trained on paired sketches (each drawn from its image) or unpaired ones
(``--pairing unpaired``).

- G: an encoder-decoder with skip connections (U-Net, as pix2pix: Isola et al., CVPR 2017,
  ``ganbench.nn.UNetGenerator``) from the condition image; the label's embedding and, with
  ``noise`` (default), the latent z enter at its 4x4 bottleneck. Without ``noise`` G is a
  deterministic function of sketch and label.
- D (the critic): DCGAN's discriminator on the image with its condition image as extra
  channels and the label as one more (``LabelMap``), instance norm by default (``norm``: the
  gradient penalty is per sample, so batch norm is refused), no sigmoid.
- Defaults: the ``wasserstein`` loss with the ``gp`` penalty at weight 100 on the
  (image, condition) pair, 5 critic steps per G step, Adam(1e-4, 0, 0.9) for both as in
  WGAN-GP (Gulrajani et al. 2017), scored on the test split (FID, KID, SSIM, PSNR, proxy
  classifier accuracy on generated vs real test images).
"""

from __future__ import annotations

import torch
from optuna.distributions import CategoricalDistribution, IntDistribution
from torch import nn

from ganbench import ImageConditionedGAN, ModelRequest, ModelSpec, hookimpl
from ganbench.nn import LabelMap, UNetGenerator, normal_init
from ganbench_plugins.dcgan import ADAM_BETA1, LEARNING_RATES, Discriminator, check_norm, resolve_options
from ganbench_plugins.wgan import GP_NORMS, WGAN_GP_DEFAULTS

OPTIONS = {"width": 64, "embedding_dim": 50, "noise": True, "norm": "instance"}
DEFAULTS = {
    **WGAN_GP_DEFAULTS,
    "reg_options": {"gp.weight": 100.0},  # the study's λ, ten times WGAN-GP's
    "reference_split": "test",
    "metrics": ["fid", "kid", "ssim", "psnr", "proxy-acc"],
}
SEARCH_SPACE = {
    **LEARNING_RATES,
    **ADAM_BETA1,
    "n_disc": IntDistribution(1, 10),
    "model_options.noise": CategoricalDistribution((True, False)),
    "model_options.norm": CategoricalDistribution(GP_NORMS),
}


class SketchGenerator(nn.Module):
    """(z, labels, conditions) -> images: a U-Net from the condition image, code = [z (with noise), embed(label)]."""

    def __init__(self, request: ModelRequest, width: int, embedding_dim: int, noise: bool) -> None:
        super().__init__()
        self.noise = noise
        self.embedding = nn.Embedding(request.num_classes, embedding_dim) if request.num_classes else None
        code_dim = (request.z_dim if noise else 0) + (embedding_dim if self.embedding is not None else 0)
        self.unet = UNetGenerator(request.condition_channels, request.channels, request.resolution, width, code_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None, conditions: torch.Tensor) -> torch.Tensor:
        parts = [z] if self.noise else []
        if self.embedding is not None:
            if labels is None:
                raise ValueError("a class-conditional sketch2img generator needs the labels")
            parts.append(self.embedding(labels))
        return self.unet(conditions, torch.cat(parts, dim=1) if parts else None)


def build_sketch2img(request: ModelRequest) -> ImageConditionedGAN:
    options = resolve_options(request, OPTIONS)
    norm = check_norm(options["norm"], GP_NORMS, "sketch2img (its critic is trained with a per-sample penalty)")
    generator = SketchGenerator(request, options["width"], options["embedding_dim"], bool(options["noise"]))
    label_map = LabelMap(request.num_classes, request.resolution) if request.num_classes else None
    critic_channels = request.channels + request.condition_channels
    discriminator = Discriminator(request.resolution, critic_channels, options["width"], label_map, norm)
    model = ImageConditionedGAN(
        generator, discriminator, request.z_dim, request.num_classes, request.condition_channels
    )
    normal_init(model)
    return model


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="sketch2img",
            description="Sketch + label -> image: U-Net G, instance-norm critic on (image, sketch, label), WGAN-GP.",
            build=build_sketch2img,
            resolutions=(32, 64),
            conditional=True,
            condition_image=True,
            defaults=DEFAULTS,
            options=OPTIONS,
            citation="U-Net G after Isola et al., CVPR 2017, arXiv:1611.07004; WGAN-GP after Gulrajani et al., "
            "NeurIPS 2017, arXiv:1704.00028",
            search_space=SEARCH_SPACE,
        )
    ]
