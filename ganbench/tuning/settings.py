"""How a search runs (budget, sampler, pruner, storage): light enough for the CLI to import at start."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ganbench.errors import ConfigError

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SearchSettings:
    """Saved with the study, so that ``--resume`` continues it unchanged (but for the budget)."""

    metric: str = "fid"
    trials: int = 20  # finished trials (complete, pruned or failed) the study should hold
    timeout: float | None = None  # seconds of this process's work; None: no limit
    sampler: str = "tpe"
    pruner: str = "median"
    study: str | None = None
    storage: str | None = None
    stale_after: int = 120  # seconds without a heartbeat before a running trial counts as dead
    confirm_seeds: int = 0  # once the budget is spent, train the best trial's settings with this many new seeds

    def __post_init__(self) -> None:
        problems = []
        if self.trials < 1:
            problems.append(f"--trials {self.trials} must be at least 1")
        if self.timeout is not None and self.timeout <= 0:
            problems.append("--timeout must be a positive duration, e.g. 30m or 8h")
        if self.sampler not in SAMPLERS:
            problems.append(f"--sampler {self.sampler!r} must be one of {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            problems.append(f"--pruner {self.pruner!r} must be one of {', '.join(PRUNERS)}")
        if self.stale_after < 1:
            problems.append("--stale-after must be at least 1 second")
        if self.confirm_seeds < 0:
            problems.append(f"--confirm-seeds {self.confirm_seeds} must be 0 (none) or more")
        if problems:
            raise ConfigError("Invalid search settings: " + "; ".join(problems) + ".")


SETTING_NAMES = tuple(f.name for f in fields(SearchSettings))
BUDGET_NAMES = ("trials", "timeout", "stale_after", "confirm_seeds")  # what a resumed search may change


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``8h``, ``1h30m`` or ``2d``."""
    total, number = 0.0, ""
    for char in text.strip().lower():
        if char.isdigit() or char == ".":
            number += char
        elif char in DURATION_UNITS and number:
            total, number = total + float(number) * DURATION_UNITS[char], ""
        else:
            raise ConfigError(f"--timeout {text!r} is not a duration: write e.g. 90s, 30m, 8h or 1h30m.")
    if number:
        total += float(number)
    if total <= 0:
        raise ConfigError(f"--timeout {text!r} must be longer than 0: write e.g. 30m or 8h.")
    return total
