"""``ganbench report``: a comparison's leaderboard, curves, samples, protocol and environment as one file."""
