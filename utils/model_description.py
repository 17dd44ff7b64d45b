"""A trained model's description: what the network is and how its outputs become grades.

`ModelDescription` holds the settings a checkpoint cannot be used without (network,
preprocessing, image size, dataset, classes, batch-norm options, moving averages, regression
head, how its photographs were converted, the class frequencies it was trained on) and its
`Grading` (the cuts and the two-eye fusion fitted after training). Training turns its flags
into one when it starts and records it in TRAIN/run_settings.json (utils.run_settings: its JSON
form is that file's content, so every file written by earlier versions reads); eval, predict,
export and evaluation.frequency_cuts read it back from the checkpoint's folder (`for_checkpoint`)
and merge their explicit flags into it (inference.model_flags.read_description).

Adding a setting: a field here, its JSON key in utils.run_settings (MODEL_KEYS when a restart
must not change it), the value training gives it (training.model_record) and, when a script
may give it as a flag, an entry of inference.model_flags.SETTING_FLAGS.
"""
import dataclasses

import numpy as np

from utils import run_settings

# The version of the JSON form written; files without one were written before versions (the same keys).
FORMAT_VERSION = 1
# JSON keys whose field has another name.
IMAGE_SIZE_KEY = "train_image_size"
REGRESSION_SCORE = "regression"
EXPECTED_GRADE_SCORE = "expected_grade"


@dataclasses.dataclass(frozen=True)
class Conversion:
    """How the training photographs were prepared (download_and_convert_data.py's settings, fundus.preparation).

    `image_size` 0 (a merged flag, never recorded) reads images prepared already.
    """
    image_size: int = None
    crop_threshold: int = None
    graham: bool = None
    crop_mode: str = None

    def to_json(self):
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                if getattr(self, field.name) is not None}

    @classmethod
    def from_json(cls, record):
        """A recorded conversion; one recorded before crop modes existed made the book's crop."""
        known = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in record.items() if key in known}
        return cls(**{run_settings.CONVERSION_CROP_MODE: run_settings.LEGACY_CROP_MODE, **values})


@dataclasses.dataclass(frozen=True)
class ClassPrior:
    """The class frequencies of the training split and of its batches (grading.class_prior)."""
    frequencies: tuple
    sampled: tuple

    def to_json(self):
        return {"frequencies": [float(value) for value in self.frequencies],
                "sampled": [float(value) for value in self.sampled]}

    @classmethod
    def from_json(cls, record):
        return cls(tuple(record.get("frequencies", ())), tuple(record.get("sampled", ())))

    def factors(self):
        """Returns the per-class factors π_g / s_g undoing the sampled frequencies, or None when all are 1.

        A class never sampled (s_g = 0, absent from the training split) keeps a factor of 1.

        Raises:
          ValueError: lists of different lengths, or negative values.
        """
        frequencies = np.asarray(self.frequencies, dtype=np.float64)
        sampled = np.asarray(self.sampled, dtype=np.float64)
        if frequencies.size == 0 or frequencies.shape != sampled.shape or np.any(frequencies < 0) \
                or np.any(sampled < 0):
            raise ValueError(f"{run_settings.CLASS_PRIOR}: expected two lists of as many non-negative class "
                             f"shares, got {self.to_json()!r}")
        factors = np.ones_like(frequencies)
        drawn = sampled > 0
        factors[drawn] = (frequencies[drawn] / frequencies[drawn].sum()) / (sampled[drawn] / sampled[drawn].sum())
        if np.allclose(factors, 1.0):
            return None
        return tuple(float(factor) for factor in factors)


@dataclasses.dataclass(frozen=True)
class FittedGrading:
    """What `eval --fit_grading` fits on the validation split (grading.fitting.fit).

    Attributes:
      thresholds: ascending cuts of the grade score (fitted for QWK).
      fitted_on: the checkpoint and split.
      score: REGRESSION_SCORE or EXPECTED_GRADE_SCORE, the score cut.
      eye_fusion: {"weights", "thresholds"} of grading.eye_fusion, or None (no pairs of eyes).
      operating_points: grading.operating_points' record, or None.
    """
    thresholds: tuple
    fitted_on: str = None
    score: str = None
    eye_fusion: dict = None
    operating_points: dict = None

    def to_json(self):
        record = {"thresholds": [float(cut) for cut in self.thresholds], "fitted_on": self.fitted_on,
                  "score": self.score}
        if self.eye_fusion is not None:
            record["eye_fusion"] = self.eye_fusion
        if self.operating_points is not None:
            record[run_settings.OPERATING_POINTS] = self.operating_points
        return record

    @classmethod
    def from_json(cls, record):
        return cls(thresholds=tuple(record.get("thresholds") or ()), fitted_on=record.get("fitted_on"),
                   score=record.get("score"), eye_fusion=record.get("eye_fusion"),
                   operating_points=record.get(run_settings.OPERATING_POINTS))


@dataclasses.dataclass(frozen=True)
class FrequencyCuts:
    """Cuts giving the training split its own grade frequencies (grading.class_prior.fit_frequency_cuts)."""
    thresholds: tuple
    frequencies: tuple = ()
    fitted_on: str = None

    def to_json(self):
        return {"thresholds": [float(cut) for cut in self.thresholds],
                "frequencies": [float(share) for share in self.frequencies], "fitted_on": self.fitted_on}

    @classmethod
    def from_json(cls, record):
        return cls(tuple(record.get("thresholds") or ()), tuple(record.get("frequencies") or ()),
                   record.get("fitted_on"))


@dataclasses.dataclass(frozen=True)
class Grading:
    """How the model's grade score is cut into grades, fitted after training; empty until something is fitted."""
    fitted: FittedGrading = None
    frequency_cuts: FrequencyCuts = None

    def to_json(self):
        """The run_settings.json keys of the parts that are set: {GRADING: …, FREQUENCY_CUTS: …}."""
        record = {}
        if self.fitted is not None:
            record[run_settings.GRADING] = self.fitted.to_json()
        if self.frequency_cuts is not None:
            record[run_settings.FREQUENCY_CUTS] = self.frequency_cuts.to_json()
        return record

    def cuts(self):
        """The cuts eval, predict and export grade at: the fitted thresholds, else the frequency cuts, else None."""
        for found in (self.fitted, self.frequency_cuts):
            if found is not None and found.thresholds:
                return tuple(found.thresholds)
        return None

    @property
    def eye_fusion(self):
        """The fitted two-eye fusion ({"weights", "thresholds"}), or None."""
        return self.fitted.eye_fusion if self.fitted else None


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What a checkpoint is; see the module's docstring. None: not recorded (the flag's default, the network's)."""
    model_name: str
    preprocessing_name: str = None
    image_size: int = None
    dataset_name: str = None
    num_classes: int = None
    labels_offset: int = 0
    class_names: tuple = None
    batch_norm_decay: float = None
    freeze_batch_norm: bool = False
    moving_average_decay: float = None
    regression_loss: str = None
    conversion: Conversion = None
    class_prior: ClassPrior = None
    grading: Grading = Grading()

    @property
    def regression(self):
        """Whether the network has a grade regression head."""
        return bool(self.regression_loss)

    def to_json(self):
        """The run_settings.json form: MODEL_KEYS, label names, conversion, class prior and grading when known."""
        settings = {run_settings.FORMAT_VERSION: FORMAT_VERSION, "model_name": self.model_name,
                    "preprocessing_name": self.preprocessing_name, IMAGE_SIZE_KEY: self.image_size,
                    "dataset_name": self.dataset_name, "num_classes": self.num_classes,
                    "labels_offset": self.labels_offset, "batch_norm_decay": self.batch_norm_decay,
                    "freeze_batch_norm": self.freeze_batch_norm, "moving_average_decay": self.moving_average_decay,
                    run_settings.REGRESSION_LOSS: self.regression_loss}
        if self.class_names is not None:
            settings[run_settings.LABEL_NAMES] = list(self.class_names)
        if self.conversion is not None:
            settings[run_settings.CONVERSION] = self.conversion.to_json()
        settings[run_settings.CLASS_PRIOR] = self.class_prior.to_json() if self.class_prior else None
        settings.update(self.grading.to_json())
        return settings

    @classmethod
    def from_json(cls, settings, where="settings"):
        """The description of a run_settings.json dict of any version (unknown keys are ignored).

        Raises:
          ValueError: one line naming `where`: a newer format, or a value of the wrong kind.
        """
        version = settings.get(run_settings.FORMAT_VERSION, 0)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"{where}: {run_settings.FORMAT_VERSION} {version!r}, written by a newer version of "
                             f"this code (which reads up to {FORMAT_VERSION}); update it, or train again")
        try:
            names = settings.get(run_settings.LABEL_NAMES)
            conversion, prior = settings.get(run_settings.CONVERSION), settings.get(run_settings.CLASS_PRIOR)
            fitted, frequency_cuts = settings.get(run_settings.GRADING), settings.get(run_settings.FREQUENCY_CUTS)
            return cls(
                model_name=settings.get("model_name"), preprocessing_name=settings.get("preprocessing_name"),
                image_size=settings.get(IMAGE_SIZE_KEY), dataset_name=settings.get("dataset_name"),
                num_classes=settings.get("num_classes"), labels_offset=settings.get("labels_offset") or 0,
                class_names=tuple(names) if names is not None else None,
                batch_norm_decay=settings.get("batch_norm_decay"),
                freeze_batch_norm=bool(settings.get("freeze_batch_norm")),
                moving_average_decay=settings.get("moving_average_decay"),
                regression_loss=settings.get(run_settings.REGRESSION_LOSS),
                conversion=Conversion.from_json(conversion) if conversion else None,
                class_prior=ClassPrior.from_json(prior) if prior else None,
                grading=Grading(FittedGrading.from_json(fitted) if fitted else None,
                                FrequencyCuts.from_json(frequency_cuts) if frequency_cuts else None))
        except (AttributeError, TypeError) as error:
            raise ValueError(f"{where}: malformed settings ({error})") from error

    def with_settings(self, values):
        """A copy with `values` ({JSON key: value}, "conversion.KEY" for a conversion setting) replacing its own."""
        settings = self.to_json()
        for key, value in values.items():
            parent, _, last = key.rpartition(".")
            if parent:
                settings[parent] = {**(settings.get(parent) or {}), last: value}
            else:
                settings[key] = value
        return ModelDescription.from_json(settings)


def for_checkpoint(checkpoint_path):
    """Returns the ModelDescription recorded by the training run of `checkpoint_path` (a file or folder).

    Raises:
      ValueError: the settings file is unreadable or malformed (naming it).
    """
    directory = run_settings.checkpoint_directory(checkpoint_path)
    return ModelDescription.from_json(run_settings.read(directory), run_settings.settings_path(directory))


def record_grading(checkpoint, grading):
    """Records the parts of `grading` that are set with the model of `checkpoint` (its folder's settings file)."""
    directory = run_settings.checkpoint_directory(checkpoint)
    run_settings.record(directory, grading.to_json())
    return run_settings.settings_path(directory)
