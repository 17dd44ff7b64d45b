"""Convolution blocks of the MobileNet family.

Scope names are those of upstream TF-Slim's `nets/mobilenet/conv_blocks.py`, so the
published MobileNet V2/V3 checkpoints restore: an inverted-residual block keeps its
variables under `expanded_conv[_N]/{expand,depthwise,project}` and a squeeze-excite
gate under `squeeze_excite/Conv` and `squeeze_excite/Conv_1`.
"""
import contextlib
import functools

from slim_compat import slim, tf


def _fixed_padding(inputs, kernel_size, rate=1):
    """Pads height and width so that a 'VALID' convolution keeps the output size of 'SAME'.

    Unlike 'SAME', the padding does not depend on the input size (upstream pads
    both axes by the first kernel dimension).
    """
    effective_size = kernel_size[0] + (kernel_size[0] - 1) * (rate - 1)
    before = (effective_size - 1) // 2
    after = effective_size - 1 - before
    return tf.pad(inputs, [[0, 0], [before, after], [before, after], [0, 0]])


def _make_divisible(value, divisor, min_value=None):
    """Rounds `value` to a multiple of `divisor`, at least `min_value`, never more than 10 % down."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def _split_divisible(num, num_ways, divisible_by=8):
    """Splits `num` into `num_ways` multiples of `divisible_by` that add up to `num`."""
    if num % divisible_by or num / num_ways < divisible_by:
        raise ValueError(f"cannot split {num} {num_ways} ways into multiples of {divisible_by}")
    base = num // num_ways // divisible_by * divisible_by
    parts = []
    for i in range(num_ways):
        part = base
        while sum(parts) + part < num * (i + 1) / num_ways:
            part += divisible_by
        parts.append(part)
    return parts


@contextlib.contextmanager
def _v1_compatible_scope_naming(scope):
    """Yields the prefix of a V1-style separable block: `scope_` or, unnamed, a fresh `separable[_N]` scope."""
    if scope is not None:
        yield scope + "_"
        return
    with tf.variable_scope(None, default_name="separable") as unique_scope, \
            tf.name_scope(unique_scope.original_name_scope):
        yield ""


@slim.add_arg_scope
def split_separable_conv2d(input_tensor, num_outputs, scope=None, normalizer_fn=None, stride=1, rate=1,
                           endpoints=None, use_explicit_padding=False):
    """MobileNet V1 separable convolution: 3x3 depthwise then 1x1 pointwise, each normalised and activated.

    With `scope`, the two layers are `scope_depthwise` and `scope_pointwise` (the
    V1 checkpoints' numbered names); `endpoints`, when given, receives both outputs.
    """
    kernel_size = [3, 3]
    padding = "SAME"
    if use_explicit_padding:
        padding = "VALID"
        input_tensor = _fixed_padding(input_tensor, kernel_size, rate)
    endpoints = {} if endpoints is None else endpoints
    with _v1_compatible_scope_naming(scope) as prefix:
        depthwise_scope = prefix + "depthwise"
        net = slim.separable_conv2d(input_tensor, None, kernel_size, depth_multiplier=1, stride=stride, rate=rate,
                                    normalizer_fn=normalizer_fn, padding=padding, scope=depthwise_scope)
        endpoints[depthwise_scope] = net
        pointwise_scope = prefix + "pointwise"
        net = slim.conv2d(net, num_outputs, [1, 1], stride=1, normalizer_fn=normalizer_fn, scope=pointwise_scope)
        endpoints[pointwise_scope] = net
    return net


def expand_input_by_factor(n, divisible_by=8):
    """Returns an `expansion_size` callable: `n` times the input depth, rounded to `divisible_by`."""
    def expansion_size(num_inputs, **_):
        return _make_divisible(num_inputs * n, divisible_by)
    return expansion_size


def split_conv(input_tensor, num_outputs, num_ways, scope, divisible_by=8, **kwargs):
    """1x1 convolution whose input and output channels are cut into `num_ways` groups joined one to one.

    Stays a single `slim.conv2d` named `scope` when a group would get fewer than
    `divisible_by` channels; otherwise the groups are `scope_part_<i>`.
    """
    input_depth = input_tensor.get_shape().as_list()[3]
    if num_ways == 1 or min(input_depth // num_ways, num_outputs // num_ways) < divisible_by:
        return slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope, **kwargs)
    input_parts = tf.split(input_tensor, _split_divisible(input_depth, num_ways, divisible_by), axis=3,
                           name="split_" + scope)
    output_sizes = _split_divisible(num_outputs, num_ways, divisible_by)
    outputs = []
    for i, (part, size) in enumerate(zip(input_parts, output_sizes)):
        part_scope = f"{scope}_part_{i}"
        part = slim.conv2d(part, size, [1, 1], scope=part_scope, **kwargs)
        outputs.append(tf.identity(part, part_scope + "_output"))
    return tf.concat(outputs, 3, name=part_scope + "_concat")


@slim.add_arg_scope
def expanded_conv(input_tensor,
                  num_outputs,
                  expansion_size=expand_input_by_factor(6),
                  stride=1,
                  rate=1,
                  kernel_size=(3, 3),
                  residual=True,
                  normalizer_fn=None,
                  split_projection=1,
                  split_expansion=1,
                  split_divisible_by=8,
                  expansion_transform=None,
                  depthwise_location="expansion",
                  depthwise_channel_multiplier=1,
                  endpoints=None,
                  use_explicit_padding=False,
                  padding="SAME",
                  inner_activation_fn=None,
                  depthwise_activation_fn=None,
                  project_activation_fn=tf.identity,
                  depthwise_fn=slim.separable_conv2d,
                  expansion_fn=split_conv,
                  projection_fn=split_conv,
                  scope=None):
    """Inverted residual block: 1x1 expansion, depthwise convolution, linear 1x1 projection.

    Args:
      input_tensor: [batch, height, width, depth] input.
      num_outputs: depth of the projection.
      expansion_size: depth of the expansion, or a callable of `num_inputs` (6x by default);
        no expansion layer when it is not larger than the input depth.
      stride, rate, kernel_size: of the depthwise convolution.
      residual: add the input when stride is 1 and depths match, or a callable
        `residual(input_tensor=, output_tensor=)`.
      normalizer_fn: normalizer of every convolution (batch norm in the networks).
      split_projection, split_expansion, split_divisible_by: grouping of the 1x1 convolutions
        (see `split_conv`); ignored for custom `expansion_fn`/`projection_fn`.
      expansion_transform: optional `f(expansion_tensor=, input_tensor=)` applied after the
        depthwise convolution (squeeze-excite in V3).
      depthwise_location: 'expansion' (default), 'input', 'output' or None.
      depthwise_channel_multiplier: channel multiplier of the depthwise convolution.
      endpoints: optional dict receiving 'expansion_output', 'depthwise_output', 'projection_output'.
      use_explicit_padding: pad explicitly and convolve with 'VALID' (requires padding 'SAME').
      padding: padding of the depthwise convolution.
      inner_activation_fn: activation of expansion and depthwise (default: the arg scope's).
      depthwise_activation_fn: activation of the depthwise convolution only (wins over inner).
      project_activation_fn: activation of the projection (linear by default).
      depthwise_fn, expansion_fn, projection_fn: the three convolutions.
      scope: variable scope, `expanded_conv[_N]` by default.

    Returns:
      The block's output, of depth `num_outputs`.

    Raises:
      TypeError: unknown `depthwise_location`, or explicit padding with padding other than 'SAME'.
    """
    conv_defaults, depthwise_defaults = {}, {}
    if inner_activation_fn is not None:
        conv_defaults["activation_fn"] = inner_activation_fn
        depthwise_defaults["activation_fn"] = inner_activation_fn
    if depthwise_activation_fn is not None:
        depthwise_defaults["activation_fn"] = depthwise_activation_fn
    if depthwise_location not in (None, "input", "output", "expansion"):
        raise TypeError(f"{depthwise_location!r} is unknown value for depthwise_location")
    if use_explicit_padding:
        if padding != "SAME":
            raise TypeError('`use_explicit_padding` should only be used with "SAME" padding.')
        padding = "VALID"
    with tf.variable_scope(scope, default_name="expanded_conv") as block_scope, \
            tf.name_scope(block_scope.original_name_scope), \
            slim.arg_scope((slim.conv2d,), **conv_defaults), \
            slim.arg_scope((slim.separable_conv2d,), **depthwise_defaults):
        input_depth = input_tensor.get_shape().as_list()[3]
        depthwise = functools.partial(depthwise_fn, num_outputs=None, kernel_size=kernel_size,
                                      depth_multiplier=depthwise_channel_multiplier, stride=stride, rate=rate,
                                      normalizer_fn=normalizer_fn, padding=padding, scope="depthwise")

        def add_depthwise(net, **kwargs):
            if use_explicit_padding:
                net = _fixed_padding(net, kernel_size, rate)
            net = tf.identity(depthwise(net, **kwargs), name="depthwise_output")
            if endpoints is not None:
                endpoints["depthwise_output"] = net
            return net

        def grouped(conv_fn, num_ways):
            if conv_fn is not split_conv:
                return conv_fn
            return functools.partial(split_conv, num_ways=num_ways, divisible_by=split_divisible_by, stride=1)

        input_tensor = tf.identity(input_tensor, "input")
        net = input_tensor
        if depthwise_location == "input":
            net = add_depthwise(net, activation_fn=None)

        inner_size = expansion_size(num_inputs=input_depth) if callable(expansion_size) else expansion_size
        if inner_size > net.shape[3]:
            net = grouped(expansion_fn, split_expansion)(net, inner_size, scope="expand", normalizer_fn=normalizer_fn)
            net = tf.identity(net, "expansion_output")
            if endpoints is not None:
                endpoints["expansion_output"] = net

        if depthwise_location == "expansion":
            net = add_depthwise(net)
        if expansion_transform:
            net = expansion_transform(expansion_tensor=net, input_tensor=input_tensor)

        net = grouped(projection_fn, split_projection)(net, num_outputs, scope="project", normalizer_fn=normalizer_fn,
                                                       activation_fn=project_activation_fn)
        if endpoints is not None:
            endpoints["projection_output"] = net
        if depthwise_location == "output":
            net = add_depthwise(net, activation_fn=None)

        if callable(residual):
            net = residual(input_tensor=input_tensor, output_tensor=net)
        elif residual and stride == 1 and net.get_shape().as_list()[3] == input_depth:
            net += input_tensor
        return tf.identity(net, name="output")


@slim.add_arg_scope
def squeeze_excite(input_tensor, divisible_by=8, squeeze_factor=3, inner_activation_fn=tf.nn.relu,
                   gating_fn=tf.sigmoid, squeeze_input_tensor=None, pool=None):
    """Squeeze-excite gate of MobileNet V3: `input_tensor * gate(squeeze_input_tensor)`.

    The gate averages `squeeze_input_tensor` (the input by default) over height and
    width, or with a `pool` x `pool` window then resizes back, and passes it through
    two biased 1x1 convolutions (`Conv`: depth / `squeeze_factor`, `inner_activation_fn`;
    `Conv_1`: back to the input depth, `gating_fn`). Works for unknown height and width.
    """
    with tf.variable_scope("squeeze_excite"):
        if squeeze_input_tensor is None:
            squeeze_input_tensor = input_tensor
        squeeze_depth = _make_divisible(squeeze_input_tensor.shape.as_list()[3] / squeeze_factor,
                                        divisor=divisible_by)
        if pool is None:
            pooled = tf.reduce_mean(squeeze_input_tensor, axis=[1, 2], keepdims=True)
        else:
            height, width = squeeze_input_tensor.shape.as_list()[1:3]
            window, stride = ((pool, pool), pool) if height >= pool else ((height, width), 1)
            pooled = tf.nn.avg_pool(squeeze_input_tensor, (1, *window, 1), strides=(1, stride, stride, 1),
                                    padding="VALID")
        squeeze = slim.conv2d(pooled, kernel_size=(1, 1), num_outputs=squeeze_depth, normalizer_fn=None,
                              activation_fn=inner_activation_fn)
        gate = slim.conv2d(squeeze, num_outputs=input_tensor.shape.as_list()[3], kernel_size=[1, 1],
                           normalizer_fn=None, activation_fn=gating_fn)
        if pool is not None:
            gate = tf.image.resize_images(gate, input_tensor.shape.as_list()[1:3], align_corners=True)
        return input_tensor * gate
