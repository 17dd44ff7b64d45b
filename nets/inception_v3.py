"""Inception V3 at upstream's module path (`from nets import inception_v3`); the network is tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.inception_v3 import inception_v3, inception_v3_arg_scope, inception_v3_base

__all__ = ["inception_v3", "inception_v3_arg_scope", "inception_v3_base"]
