"""ResNet building blocks at upstream's module path (`from nets import resnet_utils`); tf-slim's code."""
import slim_compat  # noqa: F401  (repairs tf-slim before it builds graphs)
from tf_slim.nets.resnet_utils import Block, conv2d_same, resnet_arg_scope, stack_blocks_dense, subsample

__all__ = ["Block", "conv2d_same", "resnet_arg_scope", "stack_blocks_dense", "subsample"]
