"""Tracking: MLflow runs and their records, the MLflow UI, and the leaderboard that reads them."""
