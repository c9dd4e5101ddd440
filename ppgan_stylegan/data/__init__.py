"""Data: the image-folder and latent datasets (ppgan DATASETS), augmentation before D, dataset preparation."""
from .augment import AdaptiveAugment
from .datasets import StyleGANImageFolder, StyleGANLatentDataset, z_from_seed

__all__ = ["AdaptiveAugment", "StyleGANImageFolder", "StyleGANLatentDataset", "z_from_seed"]
