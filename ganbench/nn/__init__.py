"""Layers and initialisations that model plugins share."""

from ganbench.nn.conditioning import LabelMap, concat_label_embedding
from ganbench.nn.init import normal_init

__all__ = ["LabelMap", "concat_label_embedding", "normal_init"]
