"""The MobileNet builder shared by V2 and V3 (upstream TF-Slim `nets/mobilenet/mobilenet.py`).

A network is a `conv_defs` dict: `spec`, the list of layers made with `op(...)`, and
optional `defaults` and `overrides`, each a mapping from a tuple of slim functions to
arg-scope values. `mobilenet_base` builds the layers as end points `layer_1` ...
`layer_N` (plus each block's `layer_N/*output` tensors); `mobilenet` adds the global
pool and the `Logits/Conv2d_1c_1x1` classifier of the published checkpoints.
"""
import collections
import contextlib
import copy
import functools
import os

from nets.mobilenet.conv_blocks import _fixed_padding, _make_divisible
from slim_compat import slim, tf


@slim.add_arg_scope
def apply_activation(x, name=None, activation_fn=None):
    """Applies `activation_fn` to `x`, or returns `x` when there is none."""
    return activation_fn(x, name=name) if activation_fn else x


@slim.add_arg_scope
def depth_multiplier(output_params, multiplier, divisible_by=8, min_depth=8, **unused_kwargs):
    """Scales `output_params['num_outputs']` in place by `multiplier`, rounded to `divisible_by`, at least `min_depth`."""
    if "num_outputs" in output_params:
        output_params["num_outputs"] = _make_divisible(output_params["num_outputs"] * multiplier, divisible_by,
                                                       min_depth)


_Op = collections.namedtuple("Op", ["op", "params", "multiplier_func"])


def op(opfunc, multiplier_func=depth_multiplier, **params):
    """One layer of a `conv_defs` spec: `opfunc(net, **params)`, depth scaled by `multiplier_func(params, multiplier)`."""
    return _Op(opfunc, params=params, multiplier_func=params.pop("multiplier_transform", multiplier_func))


class NoOpScope:
    """Context manager that does nothing."""

    def __enter__(self):
        return None

    def __exit__(self, exc_type, exc_value, traceback):
        return False


def safe_arg_scope(funcs, **kwargs):
    """`slim.arg_scope(funcs, **kwargs)` without the None values (None means: keep what is set)."""
    given = {name: value for name, value in kwargs.items() if value is not None}
    return slim.arg_scope(funcs, **given) if given else NoOpScope()


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults):
    """Enters one arg scope per (functions, values) item of `defaults` (a dict or a list of pairs)."""
    with contextlib.ExitStack() as stack:
        for funcs, values in (defaults.items() if hasattr(defaults, "items") else defaults):
            stack.enter_context(slim.arg_scope(funcs, **values))
        yield


@contextlib.contextmanager
def _scope_all(scope, default_scope=None):
    """Opens variable scope `scope` and the name scope it was created with."""
    with tf.variable_scope(scope, default_name=default_scope) as var_scope, \
            tf.name_scope(var_scope.original_name_scope):
        yield var_scope


@slim.add_arg_scope
def mobilenet_base(inputs, conv_defs, multiplier=1.0, final_endpoint=None, output_stride=None,
                   use_explicit_padding=False, scope=None, is_training=False):
    """Builds the layers of `conv_defs`, without pooling or classifier.

    Inference mode by default; train inside `slim.arg_scope(training_scope())`.

    Args:
      inputs: [batch, height, width, channels] images.
      conv_defs: dict with `spec` (layers from `op`) and optional `defaults`/`overrides`.
      multiplier: depth multiplier (> 0) applied through each layer's `multiplier_func`.
      final_endpoint: last layer to build, e.g. 'layer_14'.
      output_stride: None, 1 or an even number: once reached, later strides become atrous rates.
      use_explicit_padding: pad explicitly and convolve with 'VALID'.
      scope: variable scope (default 'Mobilenet').
      is_training: batch-norm mode; None leaves the arg scope's.

    Returns:
      (output tensor, end points dict).

    Raises:
      ValueError: multiplier <= 0, or an output_stride that is 0 or odd and above 1.
    """
    if multiplier <= 0:
        raise ValueError("multiplier is not greater than zero.")
    if output_stride is not None and (output_stride == 0 or (output_stride > 1 and output_stride % 2)):
        raise ValueError("Output stride must be None, 1 or a multiple of 2.")
    overrides = conv_defs.get("overrides", {})
    if use_explicit_padding:
        overrides = dict(copy.deepcopy(overrides))
        overrides[(slim.conv2d, slim.separable_conv2d)] = {"padding": "VALID"}

    with _scope_all(scope, default_scope="Mobilenet"), \
            safe_arg_scope([slim.batch_norm], is_training=is_training), \
            _set_arg_scope_defaults(conv_defs.get("defaults", {})), \
            _set_arg_scope_defaults(overrides):
        stride_so_far, rate = 1, 1
        net = inputs
        end_points = {}
        layer_of_scope = {}
        for index, layer in enumerate(conv_defs["spec"]):
            params = dict(layer.params)
            layer.multiplier_func(params, multiplier)
            stride = params.get("stride", 1)
            layer_rate = 1
            if output_stride is not None and stride_so_far == output_stride:
                layer_rate, rate = rate, rate * stride
                stride = 1
            else:
                stride_so_far *= stride
            params["stride"] = stride
            if layer_rate > 1 and tuple(params.get("kernel_size", [])) != (1, 1):
                params["rate"] = layer_rate
            if use_explicit_padding:
                if "kernel_size" in params:
                    net = _fixed_padding(net, params["kernel_size"], layer_rate)
                else:
                    params["use_explicit_padding"] = True

            end_point = f"layer_{index + 1}"
            try:
                net = layer.op(net, **params)
            except Exception:
                print(f"Failed to create op {index}: {layer!r} params: {params!r}")
                raise
            end_points[end_point] = net
            layer_of_scope[os.path.dirname(net.name)] = end_point
            if end_point == final_endpoint:
                break

        # Each block's named '...output' tensors become 'layer_N/<name>' end points.
        for graph_op in net.graph.get_operations():
            op_scope, op_name = os.path.split(graph_op.name)
            if op_scope in layer_of_scope and graph_op.name.endswith("output"):
                end_points[f"{layer_of_scope[op_scope]}/{op_name}"] = graph_op.outputs[0]
        return net, end_points


@slim.add_arg_scope
def mobilenet(inputs, num_classes=1001, prediction_fn=slim.softmax, reuse=None, scope="Mobilenet", base_only=False,
              use_reduce_mean_for_pooling=False, **mobilenet_args):
    """MobileNet classifier (V2 and V3 conv_defs); inference mode unless `is_training` or a training scope says so.

    Args:
      inputs: [batch, height, width, channels] images.
      num_classes: classifier width; 0 or None returns the pooled features (end point 'global_pool').
      prediction_fn: turns logits into end point 'Predictions'.
      reuse: reuse the variables of `scope`.
      scope: variable scope.
      base_only: return `mobilenet_base`'s output, without pooling and classifier.
      use_reduce_mean_for_pooling: pool with reduce_mean instead of a full-size average pool.
      **mobilenet_args: passed to `mobilenet_base` (conv_defs, multiplier, output_stride, ...).

    Returns:
      (logits [batch, num_classes], end points dict).

    Raises:
      ValueError: inputs not of rank 4.
    """
    is_training = mobilenet_args.get("is_training", False)
    rank = len(inputs.get_shape().as_list())
    if rank != 4:
        raise ValueError(f"Expected rank 4 input, was: {rank}")

    with tf.variable_scope(scope, "Mobilenet", reuse=reuse) as var_scope:
        inputs = tf.identity(inputs, "input")
        net, end_points = mobilenet_base(inputs, scope=var_scope, **mobilenet_args)
        if base_only:
            return net, end_points
        net = tf.identity(net, name="embedding")
        with tf.variable_scope("Logits"):
            net = global_pool(net, use_reduce_mean_for_pooling)
            end_points["global_pool"] = net
            if not num_classes:
                return net, end_points
            net = slim.dropout(net, scope="Dropout", is_training=is_training)
            logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                                 biases_initializer=tf.zeros_initializer(), scope="Conv2d_1c_1x1")
            logits = tf.identity(tf.squeeze(logits, [1, 2]), name="output")
        end_points["Logits"] = logits
        if prediction_fn:
            end_points["Predictions"] = prediction_fn(logits, "Predictions")
    return logits, end_points


def global_pool(input_tensor, use_reduce_mean_for_pooling=False, pool_op=tf.nn.avg_pool2d):
    """Averages `input_tensor` to [batch, 1, 1, depth] (a full-size average pool, or reduce_mean)."""
    if use_reduce_mean_for_pooling:
        return tf.reduce_mean(input_tensor, [1, 2], keepdims=True, name="ReduceMean")
    height, width = input_tensor.get_shape().as_list()[1:3]
    if height is None or width is None:
        dynamic_shape = tf.shape(input_tensor)
        kernel_size = tf.convert_to_tensor([1, dynamic_shape[1], dynamic_shape[2], 1])
    else:
        kernel_size = [1, height, width, 1]
    output = pool_op(input_tensor, ksize=kernel_size, strides=[1, 1, 1, 1], padding="VALID")
    output.set_shape([None, 1, 1, None])
    return output


def training_scope(is_training=True, weight_decay=0.00004, stddev=0.09, dropout_keep_prob=0.8, bn_decay=0.997):
    """Arg scope to train a MobileNet: initialiser, L2 on convolutions, batch norm and dropout settings.

    Args:
      is_training: batch-norm and dropout mode; None leaves them unset.
      weight_decay: L2 weight of the (non-separable) convolutions.
      stddev: truncated-normal initialiser deviation; negative uses Xavier.
      dropout_keep_prob: keep probability of dropout (None: unset).
      bn_decay: batch-norm moving-average decay (None: unset).

    Returns:
      The arg scope.
    """
    if stddev < 0:
        initializer = slim.initializers.xavier_initializer()
    else:
        initializer = tf.truncated_normal_initializer(stddev=stddev)
    with slim.arg_scope([slim.conv2d, slim.fully_connected, slim.separable_conv2d], weights_initializer=initializer,
                        normalizer_fn=slim.batch_norm), \
            slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
            safe_arg_scope([slim.batch_norm], decay=bn_decay, is_training=is_training), \
            safe_arg_scope([slim.dropout], is_training=is_training, keep_prob=dropout_keep_prob), \
            slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay)), \
            slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as scope:
        return scope


def base_only(network):
    """Returns `mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs)`: `network` without pooling and classifier."""
    @slim.add_arg_scope
    def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
        return network(input_tensor, depth_multiplier=depth_multiplier, base_only=True, **kwargs)
    mobilenet_base.__doc__ = f"{network.__module__}.{network.__name__} without pooling and classifier."
    return mobilenet_base


def wrapped_partial(func, new_defaults=None, **kwargs):
    """`func` with `kwargs` bound and `new_defaults` as overridable defaults, keeping its name, doc and attributes.

    The attributes include `default_image_size`, which the network factory reads.
    """
    new_defaults = dict(new_defaults or {})

    @functools.wraps(func)
    def with_defaults(*args, **call_kwargs):
        return func(*args, **{**new_defaults, **call_kwargs})

    partial_func = functools.partial(with_defaults, **kwargs)
    functools.update_wrapper(partial_func, func)
    return partial_func
