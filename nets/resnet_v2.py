"""ResNet V2 at upstream's module path (`from nets import resnet_v2`); the networks are tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.resnet_v2 import (bottleneck, resnet_arg_scope, resnet_v2, resnet_v2_50, resnet_v2_101,
                                    resnet_v2_152, resnet_v2_200, resnet_v2_block)

# Upstream gives every depth the generic network's size; tf-slim sets only the generic one.
for _network in (resnet_v2_50, resnet_v2_101, resnet_v2_152, resnet_v2_200):
    _network.default_image_size = resnet_v2.default_image_size

__all__ = ["bottleneck", "resnet_arg_scope", "resnet_v2", "resnet_v2_50", "resnet_v2_101", "resnet_v2_152",
           "resnet_v2_200", "resnet_v2_block"]
