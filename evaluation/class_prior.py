"""Undoing the class frequencies a model was trained on, so that its grades follow the ones it will meet.

Balanced sampling (`train_image_classifier.py --balanced_sampling`) shows the network every grade
equally often, so that it learns the rare ones; its softmax then estimates the grades' posterior
p_s(g | x) under the sampled frequencies s_g (1/5 each), not under those of the photos it will
grade, which come as the training split's own π_g (Kaggle's 73.5 % grade 0, 2 % grade 4). An eye
whose photo could be grade 0 or 1 is then called 1 as often as 0, and a regression head trained on
the same batches learns a mean target of 2.0 instead of 0.5: its rounded output calls healthy eyes
grade 1, however well it orders them. Bayes' rule gives the posterior under the true frequencies
from the one under the sampled frequencies (Saerens, Latinne & Decaestecker, Neural Computation
2002; as "logit adjustment", Menon et al., ICLR 2021, the logits shift by log π_g − log s_g):

    p(g | x) = p_s(g | x) π_g / s_g  /  Σ_h p_s(h | x) π_h / s_h.

A model that records the correction (training writes CLASS_PRIOR into its run settings when it
samples other than the split's frequencies) is graded from these probabilities: the grade score is
their expected grade Σ_g g p(g | x) (the posterior mean: the grade estimate under the true
frequencies that a regression head trained on balanced batches cannot give), its own grade that
score rounded (with a regression head) or their argmax (without); fitted thresholds and the two-eye
fusion cut the same score. The regression head still trains the network with its ordinal loss; its
raw output is reported next to the model's grades (eval's `_Regression`).

Record (training.run_settings key CLASS_PRIOR):
  {"frequencies": [π_0, ..., π_{n-1}],    each class's share of the training split
   "sampled": [s_0, ..., s_{n-1}]}        the class probabilities of the training batches
                                          (balanced: 1/k for each of the k classes present)
"""
import numpy as np

CLASS_PRIOR = "class_prior"


def record(frequencies, sampled):
    """Returns the CLASS_PRIOR record of a run that drew classes with probabilities `sampled`."""
    return {"frequencies": [float(value) for value in frequencies], "sampled": [float(value) for value in sampled]}


def ratio(prior_record):
    """Returns the per-class factors π_g / s_g of a CLASS_PRIOR record, or None without one.

    A class never sampled (s_g = 0, so absent from the training split) keeps a factor of 1.
    None also when every factor is 1 (the batches had the split's frequencies: nothing to undo).

    Raises:
      ValueError: a malformed record (lists of different lengths, negative values).
    """
    if not prior_record:
        return None
    frequencies = np.asarray(prior_record.get("frequencies", ()), dtype=np.float64)
    sampled = np.asarray(prior_record.get("sampled", ()), dtype=np.float64)
    if frequencies.size == 0 or frequencies.shape != sampled.shape or np.any(frequencies < 0) or np.any(sampled < 0):
        raise ValueError(f"{CLASS_PRIOR}: expected two lists of as many non-negative class shares, "
                         f"got {prior_record!r}")
    factors = np.ones_like(frequencies)
    drawn = sampled > 0
    factors[drawn] = (frequencies[drawn] / frequencies[drawn].sum()) / (sampled[drawn] / sampled[drawn].sum())
    if np.allclose(factors, 1.0):
        return None
    return tuple(float(factor) for factor in factors)


def corrected(probabilities, factors):
    """Returns `probabilities` ([num_images, num_classes]) under the true frequencies: p_g f_g / Σ_h p_h f_h."""
    weighted = np.asarray(probabilities, dtype=np.float64) * np.asarray(factors, dtype=np.float64)
    return weighted / weighted.sum(axis=1, keepdims=True)
