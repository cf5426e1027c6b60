"""Evaluation: sampling generated images, features computed once per extractor, metrics under one protocol."""
