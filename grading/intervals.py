"""95 % confidence intervals: exact (Clopper-Pearson) for proportions, a patient bootstrap for the rest.

A rate such as sensitivity is k successes out of n: its exact interval (Clopper and
Pearson 1934) inverts the binomial test, so it covers the true rate at least 95 % of
the time whatever n and the rate are. AUC and QWK have no such closed form: their
interval is the percentile interval of the statistic over resamples of the patients
(both eyes of a patient go in or out together, since they are not independent), from
a fixed seed so that a report is reproducible.
"""
import dataclasses
import math

import numpy as np
from scipy import stats

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95 % interval; all NaN when undefined (e.g. a rate of nothing).

    `successes` and `total` are the counts of a proportion, None for other statistics.
    """
    value: float
    low: float
    high: float
    successes: int = None
    total: int = None

    def as_dict(self):
        """The estimate for report.json: NaN becomes None, counts only for proportions."""
        entry = {name: None if math.isnan(number) else number
                 for name, number in (("estimate", self.value), ("low", self.low), ("high", self.high))}
        if self.total is not None:
            entry.update(successes=self.successes, total=self.total)
        return entry

    def text(self, digits=3):
        """`0.912 (0.871-0.943)`, with `k/n` after a proportion; `n/a` when undefined."""
        if math.isnan(self.value):
            return "n/a" + (f" (0/{self.total})" if self.total is not None else "")
        counts = f", {self.successes}/{self.total}" if self.total is not None else ""
        return f"{self.value:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f}{counts})"


def exact_proportion(successes, total, level=LEVEL):
    """Returns the Estimate of successes / total with its Clopper-Pearson interval (NaN when total is 0)."""
    successes, total = int(successes), int(total)
    if total == 0:
        return Estimate(math.nan, math.nan, math.nan, successes, total)
    alpha = 1 - level
    low = stats.beta.ppf(alpha / 2, successes, total - successes + 1) if successes else 0.0
    high = stats.beta.ppf(1 - alpha / 2, successes + 1, total - successes) if successes < total else 1.0
    return Estimate(successes / total, float(low), float(high), successes, total)


def patient_resamples(patient_of, num_resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """Yields `num_resamples` resamples of the images: whole patients drawn with replacement.

    Args:
      patient_of: [num_images] int patient index 0..P-1 of each image.

    Yields:
      (image indices, patient indices) of one resample: the images of the drawn patients (a patient
      drawn twice brings its images twice), and the drawn patients themselves.
    """
    patient_of = np.asarray(patient_of)
    num_patients = int(patient_of.max()) + 1 if patient_of.size else 0
    order = np.argsort(patient_of, kind="stable")
    sizes = np.bincount(patient_of, minlength=num_patients)
    starts = np.cumsum(sizes) - sizes
    rng = np.random.default_rng(seed)
    for _ in range(num_resamples):
        patients = rng.integers(0, num_patients, num_patients)
        lengths = sizes[patients]
        ends = np.cumsum(lengths)
        positions = np.repeat(starts[patients] - (ends - lengths), lengths) + np.arange(ends[-1] if ends.size else 0)
        yield order[positions], patients


def bootstrap_estimate(value, replicates, level=LEVEL):
    """Returns the Estimate of `value` with the percentile interval of its bootstrap `replicates`.

    Undefined replicates (NaN: a resample without a class) are left out. The interval is
    widened to reach `value` when all replicates fall on one side of it (tiny samples), so it
    always contains the point estimate.
    """
    replicates = np.asarray(replicates, dtype=np.float64)
    replicates = replicates[np.isfinite(replicates)]
    if math.isnan(value) or replicates.size == 0:
        return Estimate(value, math.nan, math.nan)
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(value, float(min(low, value)), float(max(high, value)))
