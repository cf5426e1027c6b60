"""Intra-class FID and KID: each class's generated images against the reference images of that class.

``ifid`` (Miyato and Koyama 2018, "cGANs with Projection Discriminator") is the FID between the
images a conditional model made when asked for class c and the reference images of class c,
averaged over the classes; ``ikid`` is the same with KID. Plain FID compares the two sets as a
whole, so a model that draws a good image of the wrong class loses nothing: these see it. Values:
the mean over classes (the headline), the worst class (``_max``) and the number of classes
(``_classes``). Every class present on either side must have 2 or more generated and 2 or more
reference images, or the metric is unavailable, so the mean is always over all the classes.
Each class's FID is one eigendecomposition of a d x d matrix: seconds per class for Inception's 2048.
``proxy-ifid`` and ``proxy-ikid`` read the proxy classifier's features.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.proxy as proxy
from ganbench import MetricInput, MetricSpec, MetricUnavailable, hookimpl

INCEPTION_POOL3 = (fidelity.EXTRACTOR, fidelity.POOL3)
PROXY_FEATURES = (proxy.NAME, proxy.FEATURES)


def class_inputs(inputs: MetricInput, metric: str) -> dict[int, MetricInput]:
    """Each class's generated and reference features, by class; MetricUnavailable unless every class has enough."""
    fake_labels, real_labels = _labels(inputs, metric)
    fake, real = fidelity.fake_and_real(inputs, metric)
    classes = sorted(set(fake_labels.tolist()) | set(real_labels.tolist()))
    counts = {c: (int((fake_labels == c).sum()), int((real_labels == c).sum())) for c in classes}
    # a covariance (FID) and the unbiased MMD estimate (KID) need 2 samples
    short = [f"class {c}: {n_fake} and {n_real}" for c, (n_fake, n_real) in counts.items() if min(n_fake, n_real) < 2]
    if short:
        raise MetricUnavailable(
            f"{metric} needs at least 2 generated and 2 reference images of every class, and {len(short)} of "
            f"{len(classes)} classes have fewer ({'; '.join(short)}). Raise --eval-samples and --reference-samples."
        )
    return {c: MetricInput(fake[fake_labels == c], real[real_labels == c], inputs.seed) for c in classes}


def _labels(inputs: MetricInput, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes the generated images were asked for and those of the reference images, on the CPU."""
    if inputs.fake_labels is None:
        raise MetricUnavailable(
            f"{metric} compares the images a model made for each class with the reference images of that class, and "
            "the model is unconditional: evaluate a class-conditional model."
        )
    if inputs.real_labels is None or bool((inputs.real_labels < 0).any()):
        raise MetricUnavailable(
            f"{metric} needs reference images with class labels, and these have none: use a labelled dataset "
            "(for imagefolder, one subfolder per class)."
        )
    return inputs.fake_labels.cpu(), inputs.real_labels.cpu()


def per_class(inputs: MetricInput, name: str, metric: str, compute: Callable[[MetricInput], float]) -> dict[str, float]:
    """``compute`` of each class: the mean as ``name``, the worst (largest) and the number of classes."""
    values = []
    for c, class_input in class_inputs(inputs, metric).items():
        try:
            values.append(compute(class_input))
        except MetricUnavailable as exc:
            raise MetricUnavailable(f"{metric}, class {c}: {exc}") from exc
    return {name: sum(values) / len(values), f"{name}_max": max(values), f"{name}_classes": float(len(values))}


def ifid(inputs: MetricInput) -> dict[str, float]:
    return per_class(inputs, "ifid", "Intra-class FID", lambda i: fidelity.fid(i)["fid"])


def ikid(inputs: MetricInput) -> dict[str, float]:
    return per_class(inputs, "ikid", "Intra-class KID", lambda i: fidelity.kid(i)["kid"])


def proxy_ifid(inputs: MetricInput) -> dict[str, float]:
    return per_class(inputs, "proxy_ifid", "proxy-ifid", lambda i: proxy.proxy_fid(i)["proxy_fid"])


def proxy_ikid(inputs: MetricInput) -> dict[str, float]:
    return per_class(inputs, "proxy_ikid", "proxy-ikid", lambda i: proxy.proxy_kid(i)["proxy_kid"])


def _spec(
    name: str,
    description: str,
    compute: Callable[[MetricInput], dict[str, float]],
    features: tuple[str, str],
    fid: bool,
) -> MetricSpec:
    """A per-class metric on ``features`` (extractor, feature), with FID's sample-count caveats when ``fid``."""
    extractor, feature = features
    return MetricSpec(
        name=name,
        description=description,
        extractor=extractor,
        feature=feature,
        compute=compute,
        # as FID and KID, within each class: the evaluator flags from the smallest class's sample counts
        biased_below=fidelity.UNBIASED_SAMPLES if fid else 0,
        estimates_covariance=fid,
        per_class=True,
    )


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    per_class_values = "the mean over classes, the worst class (_max), the number of classes (_classes)"
    return [
        _spec(
            "ifid",
            f"Intra-class FID (Miyato and Koyama 2018): FID of each class's generated vs reference images; "
            f"{per_class_values}.",
            ifid,
            INCEPTION_POOL3,
            fid=True,
        ),
        _spec(
            "ikid",
            f"Intra-class KID: KID of each class's generated vs reference images; {per_class_values}.",
            ikid,
            INCEPTION_POOL3,
            fid=False,
        ),
        _spec(
            "proxy-ifid",
            f"Intra-class FID on the proxy classifier's features; {per_class_values}.",
            proxy_ifid,
            PROXY_FEATURES,
            fid=True,
        ),
        _spec(
            "proxy-ikid",
            f"Intra-class KID on the proxy classifier's features; {per_class_values}.",
            proxy_ikid,
            PROXY_FEATURES,
            fid=False,
        ),
    ]
