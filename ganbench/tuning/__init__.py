"""Tuning (`ganbench search`): Optuna studies over a model's hyperparameters, their space, workers and plots."""
