"""Data: real-image batches, condition images, dataset options and identity, and the public building
blocks of dataset plugins, importable from here (nothing else under ``ganbench.data`` is public)::

    from ganbench.data import TensorImageDataset, cached, fit_square_all
"""

from ganbench.data.files import cached, find_folder, fingerprint, folder_files, source_stamp, verify_checksums
from ganbench.data.idxfiles import IDX_FILES, idx_folders, idx_missing_error, locate_idx_files, read_idx_split
from ganbench.data.images import (
    ImageFileDataset,
    TensorImageDataset,
    decode_all,
    detect_channels,
    fit_square,
    fit_square_all,
    load_image,
    to_signed_unit,
    to_uint8,
    to_uint8_rgb,
)
from ganbench.data.options import (
    LABELLED_OPTIONS,
    TRAINING_ONLY_OPTIONS,
    UNLABELLED_OPTIONS,
    build_dataset,
    center_crop,
    describe_options,
    parse_options,
)

__all__ = [
    "IDX_FILES",
    "LABELLED_OPTIONS",
    "TRAINING_ONLY_OPTIONS",
    "UNLABELLED_OPTIONS",
    "ImageFileDataset",
    "TensorImageDataset",
    "build_dataset",
    "cached",
    "center_crop",
    "decode_all",
    "describe_options",
    "detect_channels",
    "find_folder",
    "fingerprint",
    "fit_square",
    "fit_square_all",
    "folder_files",
    "idx_folders",
    "idx_missing_error",
    "load_image",
    "locate_idx_files",
    "parse_options",
    "read_idx_split",
    "source_stamp",
    "to_signed_unit",
    "to_uint8",
    "to_uint8_rgb",
    "verify_checksums",
]
