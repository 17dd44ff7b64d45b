"""AlexNet v2 at upstream's module path (`from nets import alexnet`); the network is tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.alexnet import alexnet_v2, alexnet_v2_arg_scope

__all__ = ["alexnet_v2", "alexnet_v2_arg_scope"]
