"""Inception V2 at upstream's module path (`from nets import inception_v2`); the network is tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.inception_v2 import inception_v2, inception_v2_arg_scope, inception_v2_base

__all__ = ["inception_v2", "inception_v2_arg_scope", "inception_v2_base"]
