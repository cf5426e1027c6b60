"""The version of ganbench, recorded with every run and checkpoint."""

__version__ = "0.1.0"
