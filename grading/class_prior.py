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

The posterior mean is cautious with the rarest grades: an eye the network cannot place between
grades 3 and 4 scores nearer 3, because grade 4 is the rarer. The frequency cuts keep the
grades as frequent as they are: `python -m evaluation.frequency_cuts
--checkpoint_path=TRAIN --dataset_dir=DIR/tfrecords` grades the training split and records, as FREQUENCY_CUTS, the cuts
of its grade scores at the quantiles of its own grade frequencies (73.5 % of its images below
the first cut on Kaggle's; thresholds.frequency_thresholds). Eval, predict and export then cut
the score there instead of rounding it (thresholds fitted on validation with --fit_grading still
come first). No validation label is used, and only the order of the training images' scores
matters. The cuts belong to one checkpoint: training clears them when it starts.

Records (utils.run_settings keys; utils.model_description.ClassPrior and FrequencyCuts read them):
  CLASS_PRIOR      {"frequencies": [π_0, ..., π_{n-1}],  each class's share of the training split
                    "sampled": [s_0, ..., s_{n-1}]}      the class probabilities of the training batches
                                                         (balanced: 1/k for each of the k classes present)
  FREQUENCY_CUTS   {"thresholds": [t_1, ..., t_{n-1}],   the cuts of the grade score
                    "frequencies": [...],                the grade frequencies they give the split
                    "fitted_on": "..."}                  the checkpoint and split
"""
import numpy as np

from grading import thresholds
from utils import model_description, run_settings

CLASS_PRIOR = run_settings.CLASS_PRIOR
FREQUENCY_CUTS = run_settings.FREQUENCY_CUTS


def corrected(probabilities, factors):
    """Returns `probabilities` ([num_images, num_classes]) under the true frequencies: p_g f_g / Σ_h p_h f_h."""
    weighted = np.asarray(probabilities, dtype=np.float64) * np.asarray(factors, dtype=np.float64)
    return weighted / weighted.sum(axis=1, keepdims=True)


def fit_frequency_cuts(labels, scores, num_classes, fitted_on):
    """Returns the FREQUENCY_CUTS record: cuts that grade `scores` with the grade frequencies of `labels`.

    Raises:
      ValueError: fewer than two grades among the labels (nothing to cut).
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels[labels >= 0], minlength=num_classes)[:num_classes]
    if np.count_nonzero(counts) < 2:
        raise ValueError("frequency cuts need labelled images of at least two grades")
    cuts = thresholds.frequency_thresholds(np.asarray(scores)[labels >= 0], counts)
    return {"thresholds": [float(cut) for cut in cuts],
            "frequencies": [float(count) / counts.sum() for count in counts], "fitted_on": fitted_on}
