"""Maps a preprocessing (or network) name to its preprocessing function."""
import functools

from preprocessing import (cifarnet_preprocessing, fundus_preprocessing, inception_preprocessing, lenet_preprocessing,
                           vgg_preprocessing)
from slim_compat import tf

preprocessing_fn_map = {
    "fundus": fundus_preprocessing,
    "cifarnet": cifarnet_preprocessing,
    "inception": inception_preprocessing,
    "inception_v1": inception_preprocessing,
    "inception_v2": inception_preprocessing,
    "inception_v3": inception_preprocessing,
    "inception_v4": inception_preprocessing,
    "inception_resnet_v2": inception_preprocessing,
    "lenet": lenet_preprocessing,
    "mobilenet_v1": inception_preprocessing,
    "mobilenet_v2": inception_preprocessing,
    "mobilenet_v2_035": inception_preprocessing,
    "mobilenet_v2_140": inception_preprocessing,
    "mobilenet_v3_small": inception_preprocessing,
    "mobilenet_v3_large": inception_preprocessing,
    "mobilenet_v3_small_minimalistic": inception_preprocessing,
    "mobilenet_v3_large_minimalistic": inception_preprocessing,
    "mobilenet_edgetpu": inception_preprocessing,
    "mobilenet_edgetpu_075": inception_preprocessing,
    "nasnet_mobile": inception_preprocessing,
    "nasnet_large": inception_preprocessing,
    "pnasnet_mobile": inception_preprocessing,
    "pnasnet_large": inception_preprocessing,
    "alexnet_v2": vgg_preprocessing,
    "overfeat": vgg_preprocessing,
    "vgg": vgg_preprocessing,
    "vgg_a": vgg_preprocessing,
    "vgg_16": vgg_preprocessing,
    "vgg_19": vgg_preprocessing,
    **{f"resnet_v{version}_{depth}": vgg_preprocessing for version in (1, 2) for depth in (50, 101, 152, 200)},
}


def _to_grayscale(preprocessing_fn):
    """Returns `preprocessing_fn` followed by a conversion of its colour output to one grayscale channel."""

    def preprocess_to_grayscale(image, output_height, output_width, **kwargs):
        return tf.image.rgb_to_grayscale(preprocessing_fn(image, output_height, output_width, **kwargs))

    return preprocess_to_grayscale


def get_preprocessing(name, is_training=False, use_grayscale=False):
    """Returns `preprocessing_fn(image, output_height, output_width, **kwargs)` for `name`.

    With `use_grayscale` (upstream's flag) the preprocessed images have one grayscale channel.

    Raises:
      ValueError: `name` is not a known preprocessing.
    """
    if name not in preprocessing_fn_map:
        raise ValueError(f"Preprocessing name [{name}] was not recognized; known: "
                         f"{', '.join(sorted(preprocessing_fn_map))}")
    preprocessing_fn = functools.partial(preprocessing_fn_map[name].preprocess_image, is_training=is_training)
    return _to_grayscale(preprocessing_fn) if use_grayscale else preprocessing_fn
