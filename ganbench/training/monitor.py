"""The best evaluation so far of one metric: it picks a run's best checkpoint and stops a run that stalled."""

from __future__ import annotations

from dataclasses import dataclass

from ganbench.config import RunConfig, monitored_metric
from ganbench.evaluation.evaluator import MetricResult


@dataclass
class BestSoFar:
    """Best value of ``metric`` over a run's evaluations, and how many evaluations ago it was.

    Kept in checkpoints, so a resumed run continues counting where it stopped.
    """

    metric: str
    step: int | None = None
    value: float | None = None
    stale: int = 0  # evaluations since the best (all of them while the metric was never available)

    def update(self, step: int, results: list[MetricResult]) -> bool:
        """Take one evaluation's results; True when it is the new best."""
        result = next((r for r in results if r.metric == self.metric), None)
        value = result.value if result else None
        if result is None or value is None or not self._improves(value, result.higher_is_better):
            self.stale += 1
            return False
        self.step, self.value, self.stale = step, value, 0
        return True

    def _improves(self, value: float, higher_is_better: bool) -> bool:
        if self.value is None:
            return True
        return value > self.value if higher_is_better else value < self.value

    def describe(self) -> str:
        if self.value is None:
            return f"{self.metric} was never available"
        return f"{self.metric} {self.value:.4g} at step {self.step}"


def watched(config: RunConfig, best: BestSoFar | None) -> BestSoFar | None:
    """What a run tracks: the monitored metric, with a resumed run's count kept unless the metric changed."""
    metric = monitored_metric(config)
    return best if best and best.metric == metric else BestSoFar(metric) if metric else None


def stall(best: BestSoFar | None, patience: int, step: int) -> str:
    """Why the run stops early at ``step`` ("": it goes on): its metric has not improved for ``patience``
    evaluations (0: never stop)."""
    if best is None or not patience or best.stale < patience:
        return ""
    return (
        f"Stopped early at step {step}: {best.metric} has not improved for {patience} evaluations "
        f"(best: {best.describe()})."
    )
