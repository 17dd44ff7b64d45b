"""Inception V1 at upstream's module path (`from nets import inception_v1`); the network is tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.inception_v1 import inception_v1, inception_v1_arg_scope, inception_v1_base

__all__ = ["inception_v1", "inception_v1_arg_scope", "inception_v1_base"]
