"""Scoring (``ganbench eval``): a checkpoint or a folder of images under the run protocol, downstream tasks."""
