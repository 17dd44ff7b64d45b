"""OverFeat at upstream's module path (`from nets import overfeat`); the network is tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.overfeat import overfeat, overfeat_arg_scope

# Upstream sets it; tf-slim does not.
overfeat.default_image_size = 231

__all__ = ["overfeat", "overfeat_arg_scope"]
