"""The class-prior correction: a model trained on balanced batches graded under the split's own frequencies."""
import os
import types

import numpy as np
import pytest

from datasets import input_pipeline
from grading import class_prior, metrics, thresholds
from inference import model_runner
from reporting import baseline
from tests.fine_tuning import train_in_process
from tests.model_helpers import split_predictions
from training import trainer
from utils import model_description, run_settings
from utils.model_description import ClassPrior

KAGGLE = np.array([0.735, 0.069, 0.151, 0.025, 0.020])
BALANCED = np.full(5, 0.2)
IMAGE_SIZE = 28


def test_the_factors_undo_balanced_sampling_and_are_none_when_there_is_nothing_to_undo():
    factors = ClassPrior(KAGGLE, BALANCED).factors()
    np.testing.assert_allclose(factors, KAGGLE / 0.2)
    assert ClassPrior(KAGGLE, KAGGLE).factors() is None
    # A grade absent from training (never sampled) keeps its probability's weight.
    absent = ClassPrior([0.9, 0.1, 0.0], [0.5, 0.5, 0.0]).factors()
    np.testing.assert_allclose(absent, [1.8, 0.2, 1.0])
    with pytest.raises(ValueError, match="class_prior"):
        ClassPrior.from_json({"frequencies": [0.5, 0.5], "sampled": [1.0]}).factors()


def balanced_posteriors(labels, rng):
    """What a softmax trained on balanced batches says of eyes whose grade 0 and 1 look alike.

    Each eye's likelihood is peaked on its grade, except that grades 0 and 1 give the same picture
    (few microaneurysms at low resolution); under balanced sampling the posterior is the
    normalised likelihood.
    """
    likelihood = np.full((labels.size, 5), 0.001)
    likelihood[np.arange(labels.size), labels] = 1.0
    mild_or_healthy = labels <= 1
    likelihood[mild_or_healthy, :2] = rng.uniform(0.8, 1.0, size=(mild_or_healthy.sum(), 2))
    return likelihood / likelihood.sum(axis=1, keepdims=True)


def test_on_kaggle_frequencies_the_corrected_grades_beat_the_majority_baseline_where_balanced_ones_do_not():
    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=400, p=KAGGLE)
    balanced = balanced_posteriors(labels, rng)
    rounding = thresholds.rounding_thresholds(5)
    as_trained = thresholds.apply_thresholds(thresholds.expected_grade(balanced), rounding)
    corrected = class_prior.corrected(balanced, ClassPrior(KAGGLE, BALANCED).factors())
    graded = thresholds.apply_thresholds(thresholds.expected_grade(corrected), rounding)
    majority = np.mean(labels == 0)
    # As trained: the healthy eyes' expected grade sits near 0.5, and about half of them are called 1.
    assert np.mean(as_trained == labels) < majority
    assert baseline.below_majority_warning("as trained", labels, as_trained, 0) is not None
    # Corrected: the ambiguous eyes go to the grade that is 10 times as common; the others keep theirs.
    assert np.mean(graded == labels) > majority
    assert np.all(graded[labels >= 2] == labels[labels >= 2])
    kappa = metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, graded, 5))
    assert kappa > metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, as_trained, 5))


def test_frequency_thresholds_give_each_grade_its_share():
    scores = np.linspace(0.0, 1.0, 1000)
    cuts = thresholds.frequency_thresholds(scores, [0.7, 0.1, 0.1, 0.05, 0.05])
    shares = np.bincount(thresholds.apply_thresholds(scores, cuts), minlength=5) / scores.size
    np.testing.assert_allclose(shares, [0.7, 0.1, 0.1, 0.05, 0.05], atol=0.002)
    record = class_prior.fit_frequency_cuts([0, 0, 0, 1, -1], [0.1, 0.2, 0.3, 0.9, 5.0], 2, "here")
    assert record["frequencies"] == [0.75, 0.25] and len(record["thresholds"]) == 1
    assert 0.3 <= record["thresholds"][0] <= 0.9  # the unlabelled image (-1) does not count
    with pytest.raises(ValueError, match="two grades"):
        class_prior.fit_frequency_cuts([0, 0], [0.1, 0.2], 2, "here")


def test_frequency_cuts_from_the_training_split_keep_a_rare_grade_the_posterior_mean_pulls_down():
    rng = np.random.default_rng(1)
    factors = ClassPrior(KAGGLE, BALANCED).factors()

    def split(size):
        labels = rng.choice(5, size=size, p=KAGGLE)
        likelihood = np.full((size, 5), 0.001)
        likelihood[np.arange(size), labels] = 1.0
        # Grade-4 eyes look half like grade 3: under the true frequencies grade 3 is the likelier.
        severe = labels == 4
        likelihood[severe, 3] = rng.uniform(0.6, 0.9, severe.sum())
        corrected = class_prior.corrected(likelihood / likelihood.sum(axis=1, keepdims=True), factors)
        return labels, thresholds.expected_grade(corrected)

    train_labels, train_scores = split(3000)
    labels, scores = split(1000)
    rounded = thresholds.apply_thresholds(scores, thresholds.rounding_thresholds(5))
    cuts = class_prior.fit_frequency_cuts(train_labels, train_scores, 5, "train")["thresholds"]
    cut = thresholds.apply_thresholds(scores, cuts)
    assert np.mean(rounded[labels == 4] == 4) < 0.2
    assert np.mean(cut[labels == 4] == 4) > 0.8 and np.mean(cut == labels) > 0.95


@pytest.fixture(scope="module")
def balanced_run(tmp_path_factory, tiny_diabetic_dir):
    """A 1-step LeNet run with balanced sampling and the regression head on the tiny TFRecords: its train dir."""
    train_dir = str(tmp_path_factory.mktemp("balanced"))
    train_in_process([f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
                      f"--dataset_dir={tiny_diabetic_dir}", "--model_name=lenet", "--batch_size=2",
                      f"--train_image_size={IMAGE_SIZE}", "--max_number_of_steps=1", "--regression_loss=smooth_l1",
                      "--balanced_sampling", "--optimizer=adam", "--opt_epsilon=1e-8", "--seed=3"])
    return train_dir


@pytest.mark.slow
def test_training_records_the_sampled_frequencies_and_eval_grades_under_the_split_ones(balanced_run,
                                                                                       tiny_diabetic_dir):
    settings = run_settings.read(balanced_run)
    record = settings[class_prior.CLASS_PRIOR]
    # The tiny training split holds grades 0-4 as 4, 3, 3, 3, 3 of 16; balanced sampling drew each at 1/5.
    np.testing.assert_allclose(record["frequencies"], [4 / 16, 3 / 16, 3 / 16, 3 / 16, 3 / 16])
    np.testing.assert_allclose(record["sampled"], [0.2] * 5)
    factors = ClassPrior.from_json(record).factors()
    described = model_runner.ModelConfig.from_description(model_description.ModelDescription.from_json(settings))
    assert described.prior_factors == factors
    checkpoint = os.path.join(balanced_run, "model.ckpt-1")
    plain = model_runner.ModelConfig("lenet", 5, image_size=IMAGE_SIZE, regression=True)
    raw = split_predictions(tiny_diabetic_dir, checkpoint, "validation", plain)
    fixed = split_predictions(tiny_diabetic_dir, checkpoint, "validation",
                              model_runner.ModelConfig("lenet", 5, image_size=IMAGE_SIZE, regression=True,
                                                       prior_factors=factors))
    # Without the correction the score is the regression head's; with it, the corrected probabilities' mean.
    np.testing.assert_allclose(raw.scores, raw.regression)
    np.testing.assert_allclose(fixed.probabilities, class_prior.corrected(raw.probabilities, factors), atol=1e-5)
    np.testing.assert_allclose(fixed.scores, thresholds.expected_grade(fixed.probabilities), atol=1e-5)
    np.testing.assert_allclose(fixed.regression, raw.regression, atol=1e-5)
    np.testing.assert_array_equal(fixed.grades, thresholds.apply_thresholds(fixed.scores, (0.5, 1.5, 2.5, 3.5)))


def test_a_schedule_records_its_last_mix_and_noprior_correction_records_nothing():
    flags = types.SimpleNamespace(prior_correction=True)
    counts = [60, 20, 20, 0, 0]
    schedule = input_pipeline.SamplingSchedule((0.6, 0.2, 0.2), num_examples=100, end_mix=0.5)
    prior = trainer._class_prior(flags, lambda: counts, [0, 1, 2], schedule)
    np.testing.assert_allclose(prior.frequencies, [0.6, 0.2, 0.2, 0, 0])
    np.testing.assert_allclose(prior.sampled, [0.5 / 3 + 0.3, 0.5 / 3 + 0.1, 0.5 / 3 + 0.1, 0, 0])
    assert trainer._class_prior(flags, lambda: counts, None, None) is None
    flags.prior_correction = False
    assert trainer._class_prior(flags, lambda: counts, [0, 1, 2], None) is None


@pytest.mark.slow
def test_eval_warns_loudly_when_a_trained_model_grades_worse_than_the_majority_grade(balanced_run,
                                                                                     tiny_diabetic_dir, tmp_path,
                                                                                     caplog):
    from datasets import dataset_factory
    from evaluation import evaluate

    dataset = dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir)
    split_input = evaluate.dataset_input(dataset, 5, batch_size=8)
    # Cuts below every score: each eye graded 4 (3 of 16 right), while the split's commonest grade is 0 (4 of 16).
    everything_four = model_runner.ModelConfig("lenet", 5, image_size=IMAGE_SIZE, regression=True,
                                               thresholds=(-1e9, -1e9 + 1, -1e9 + 2, -1e9 + 3))
    with caplog.at_level("WARNING"):
        evaluate.evaluate(os.path.join(balanced_run, "model.ckpt-1"), split_input, everything_four,
                          str(tmp_path / "eval"), num_heatmaps=0)
    warnings = [record.getMessage() for record in caplog.records if "BELOW the majority-class baseline" in
                record.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING: the grades of ")


@pytest.mark.slow
def test_the_recipe_step_records_frequency_cuts_that_eval_uses_and_training_clears(balanced_run,
                                                                                   tiny_diabetic_dir):
    from tests.model_helpers import run_script

    fitted = run_script("-m", "evaluation.frequency_cuts", f"--checkpoint_path={balanced_run}",
                        f"--dataset_dir={tiny_diabetic_dir}", "--model_name=lenet", "--batch_size=8")
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    assert "Frequency cuts of the grade score on train (16 images" in fitted.stdout
    settings = run_settings.read(balanced_run)
    cuts = settings[class_prior.FREQUENCY_CUTS]["thresholds"]
    assert len(cuts) == 4 and cuts == sorted(cuts)
    train_in_process([f"--train_dir={balanced_run}", "--dataset_name=diabetic", "--dataset_split_name=train",
                      f"--dataset_dir={tiny_diabetic_dir}", "--model_name=lenet", "--batch_size=2",
                      f"--train_image_size={IMAGE_SIZE}", "--max_number_of_steps=2", "--regression_loss=smooth_l1",
                      "--balanced_sampling", "--optimizer=adam", "--opt_epsilon=1e-8", "--seed=3"])
    assert run_settings.read(balanced_run)[class_prior.FREQUENCY_CUTS] is None


@pytest.mark.slow
def test_the_commands_former_name_runs_the_same_command(tmp_path):
    from tests.model_helpers import run_script

    result = run_script("-m", "evaluation.class_prior", f"--checkpoint_path={tmp_path}", f"--dataset_dir={tmp_path}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (f"frequency_cuts: {tmp_path}: no TFRecords match "
                                                      "diabetic_train_?????-of-?????.tfrecord; run "
                                                      "download_and_convert_data.py first")
