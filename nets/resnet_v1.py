"""ResNet V1 at upstream's module path (`from nets import resnet_v1`); the networks are tf-slim's."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.resnet_v1 import (bottleneck, resnet_arg_scope, resnet_v1, resnet_v1_50, resnet_v1_101,
                                    resnet_v1_152, resnet_v1_200, resnet_v1_block)

# Upstream gives every depth the generic network's size; tf-slim sets only the generic one.
for _network in (resnet_v1_50, resnet_v1_101, resnet_v1_152, resnet_v1_200):
    _network.default_image_size = resnet_v1.default_image_size

__all__ = ["bottleneck", "resnet_arg_scope", "resnet_v1", "resnet_v1_50", "resnet_v1_101", "resnet_v1_152",
           "resnet_v1_200", "resnet_v1_block"]
