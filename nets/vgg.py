"""VGG A, 16 and 19 at upstream's module path (`from nets import vgg`); the networks are tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.vgg import vgg_16, vgg_19, vgg_a, vgg_arg_scope, vgg_d, vgg_e

__all__ = ["vgg_16", "vgg_19", "vgg_a", "vgg_arg_scope", "vgg_d", "vgg_e"]
