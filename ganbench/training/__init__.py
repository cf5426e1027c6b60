"""Training: assembling a run, the generic loop, checkpoints, precision, and ``ganbench run``'s runner."""
