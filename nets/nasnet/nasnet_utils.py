"""Building blocks shared by NASNet-A and PNASNet: the cell, factorized reduction, drop path.

A cell takes the previous two layers, runs five "combinations" (two operations
summed) and concatenates the hidden states no combination consumed. Scope and
variable names follow upstream's `nets/nasnet/nasnet_utils.py`, so the
published NASNet/PNASNet checkpoints restore unchanged:
`<cell>/1x1`, `<cell>/beginning_bn`, `<cell>/comb_iter_<i>/<left|right>/separable_<k>x<k>_<n>`, ...

The functions that take `data_format` get it from the builder's arg scope.
"""
from slim_compat import slim, tf

DATA_FORMAT_NCHW = "NCHW"
DATA_FORMAT_NHWC = "NHWC"
INVALID = "null"
# Bounded activations (for quantized inference) clip hidden states to [-6, 6].
CLIP_BY_VALUE_CAP = 6


def calc_reduction_layers(num_cells, num_reduction_layers):
    """Indices of the cells preceded by a reduction: evenly spaced through `num_cells`."""
    return [int(num_cells * pool_num / (num_reduction_layers + 1)) for pool_num in range(1, num_reduction_layers + 1)]


def _check_data_format(data_format):
    if data_format not in (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW):
        raise ValueError(f"data_format must be NHWC or NCHW (set by the builder's arg scope), got {data_format!r}")


@slim.add_arg_scope
def get_channel_index(data_format=INVALID):
    """Axis of the channels."""
    _check_data_format(data_format)
    return 3 if data_format == DATA_FORMAT_NHWC else 1


@slim.add_arg_scope
def get_channel_dim(shape, data_format=INVALID):
    """Number of channels of a 4-D `shape`."""
    _check_data_format(data_format)
    if len(shape) != 4:
        raise ValueError(f"expected a 4-D shape, got {shape}")
    return int(shape[get_channel_index(data_format=data_format)])


@slim.add_arg_scope
def global_avg_pool(x, data_format=INVALID):
    """Averages away the two spatial dimensions of 4-D `x`."""
    _check_data_format(data_format)
    return tf.reduce_mean(x, [1, 2] if data_format == DATA_FORMAT_NHWC else [2, 3])


def _spatial_size(net):
    """Width in NHWC, height in NCHW: the cells only see square maps, so either will do."""
    return int(net.shape[2])


@slim.add_arg_scope
def factorized_reduction(net, output_filters, stride, data_format=INVALID):
    """Maps `net` to `output_filters` channels, halving its size when `stride` is 2.

    A strided 1x1 convolution would skip every other pixel; instead two
    half-width paths sample the even and the odd pixel grids and are
    concatenated (the second path gets the extra filter of an odd count).
    """
    _check_data_format(data_format)
    if stride == 1:
        net = slim.conv2d(net, output_filters, 1, scope="path_conv")
        return slim.batch_norm(net, scope="path_bn")
    channels_last = data_format == DATA_FORMAT_NHWC
    strides = [1, stride, stride, 1] if channels_last else [1, 1, stride, stride]
    half = output_filters // 2

    path1 = tf.nn.avg_pool(net, [1, 1, 1, 1], strides, "VALID", data_format=data_format)
    path1 = slim.conv2d(path1, half, 1, scope="path1_conv")

    # Shift the grid by one pixel: pad bottom/right with zeros and drop the first row and column.
    if channels_last:
        shifted = tf.pad(net, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]
    else:
        shifted = tf.pad(net, [[0, 0], [0, 0], [0, 1], [0, 1]])[:, :, 1:, 1:]
    path2 = tf.nn.avg_pool(shifted, [1, 1, 1, 1], strides, "VALID", data_format=data_format)
    path2 = slim.conv2d(path2, output_filters - half, 1, scope="path2_conv")

    net = tf.concat([path1, path2], axis=get_channel_index(data_format=data_format))
    return slim.batch_norm(net, scope="final_path_bn")


@slim.add_arg_scope
def drop_path(net, keep_prob, is_training=True):
    """Zeroes whole examples of `net` with probability 1 - `keep_prob` (scaling the kept ones up)."""
    if not is_training:
        return net
    noise_shape = [tf.shape(net)[0], 1, 1, 1]
    keep_mask = tf.cast(tf.floor(keep_prob + tf.random_uniform(noise_shape, dtype=tf.float32)), net.dtype)
    return net * tf.cast(1.0 / keep_prob, net.dtype) * keep_mask


def _parse_separable(operation):
    """'separable_5x5_2' -> (kernel size 5, 2 stacked layers)."""
    _, kernel, num_layers = operation.split("_")
    height, width = kernel.split("x")
    if height != width:
        raise ValueError(f"rectangular filters are not supported: {operation}")
    return int(height), int(num_layers)


def _parse_pooling(operation):
    """'avg_pool_3x3' -> ('avg', 3)."""
    pooling_type, _, kernel = operation.split("_")
    height, width = kernel.split("x")
    if height != width:
        raise ValueError(f"rectangular pooling is not supported: {operation}")
    return pooling_type, int(height)


class NasNetABaseCell:
    """A NASNet-style cell, called as a layer.

    Args:
      num_conv_filters: filters of each operation at filter scaling 1.
      operations: the ten operations, two per combination (left, right).
      used_hiddenstates: 1 for each hidden state some combination consumes;
        the others are concatenated into the cell's output.
      hiddenstate_indices: the ten hidden states the operations read
        (0: this cell's input, 1: the previous layer, 2+: combination outputs).
      drop_path_keep_prob: keep probability of drop path at the last cell and
        the end of training (scaled up linearly towards 1 before).
      total_num_cells: cells in the whole network, for that scaling.
      total_training_steps: steps over which drop path reaches full strength.
      use_bounded_activation: ReLU6 and clipping instead of ReLU.
    """

    def __init__(self, num_conv_filters, operations, used_hiddenstates, hiddenstate_indices, drop_path_keep_prob,
                 total_num_cells, total_training_steps, use_bounded_activation=False):
        self._num_conv_filters = num_conv_filters
        self._operations = operations
        self._used_hiddenstates = used_hiddenstates
        self._hiddenstate_indices = hiddenstate_indices
        self._drop_path_keep_prob = drop_path_keep_prob
        self._total_num_cells = total_num_cells
        self._total_training_steps = total_training_steps
        self._use_bounded_activation = use_bounded_activation
        self._activation_fn = tf.nn.relu6 if use_bounded_activation else tf.nn.relu

    def __call__(self, net, scope=None, filter_scaling=1, stride=1, prev_layer=None, cell_num=-1,
                 current_step=None):
        """Runs the cell on `net` (and `prev_layer`, the layer before it) and returns its output."""
        self._cell_num = cell_num
        self._filter_size = int(self._num_conv_filters * filter_scaling)
        with tf.variable_scope(scope):
            hidden_states = self._cell_base(net, prev_layer)
            for iteration in range(5):
                with tf.variable_scope(f"comb_iter_{iteration}"):
                    hidden_states.append(self._combination(hidden_states, 2 * iteration, stride, current_step))
            with tf.variable_scope("cell_output"):
                return self._combine_unused_states(hidden_states)

    def _combination(self, hidden_states, first, stride, current_step):
        """Sums the left and right operations of one combination."""
        outputs = []
        for side, index in (("left", first), ("right", first + 1)):
            state_index = self._hiddenstate_indices[index]
            with tf.variable_scope(side):
                outputs.append(self._apply_conv_operation(hidden_states[state_index], self._operations[index],
                                                          stride, state_index < 2, current_step))
        with tf.variable_scope("combine"):
            combined = outputs[0] + outputs[1]
            return tf.nn.relu6(combined) if self._use_bounded_activation else combined

    def _reduce_prev_layer(self, prev_layer, curr_layer):
        """Brings `prev_layer` to the size and filter count of this cell."""
        if prev_layer is None:
            return curr_layer
        if _spatial_size(prev_layer) != _spatial_size(curr_layer):
            return factorized_reduction(self._activation_fn(prev_layer), self._filter_size, stride=2)
        if get_channel_dim(prev_layer.shape) != self._filter_size:
            prev_layer = slim.conv2d(self._activation_fn(prev_layer), self._filter_size, 1, scope="prev_1x1")
            return slim.batch_norm(prev_layer, scope="prev_bn")
        return prev_layer

    def _cell_base(self, net, prev_layer):
        """The two starting hidden states: `net` through a 1x1 convolution, and the matched previous layer."""
        prev_layer = self._reduce_prev_layer(prev_layer, net)
        net = slim.conv2d(self._activation_fn(net), self._filter_size, 1, scope="1x1")
        net = slim.batch_norm(net, scope="beginning_bn")
        return [net, prev_layer]

    def _clip(self, net):
        if self._use_bounded_activation:
            return tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
        return net

    def _stacked_separable_conv(self, net, stride, operation):
        """`num_layers` x (activation, separable conv, batch norm); only the first one strides."""
        kernel_size, num_layers = _parse_separable(operation)
        for layer in range(1, num_layers + 1):
            net = slim.separable_conv2d(self._activation_fn(net), self._filter_size, kernel_size,
                                        depth_multiplier=1, stride=stride,
                                        scope=f"separable_{kernel_size}x{kernel_size}_{layer}")
            net = slim.batch_norm(net, scope=f"bn_sep_{kernel_size}x{kernel_size}_{layer}")
            stride = 1
        return self._clip(net)

    def _identity(self, net, stride):
        """'none': the input itself, or a (strided) 1x1 convolution where the shape must change."""
        if self._use_bounded_activation:
            net = tf.nn.relu6(net)
        if stride > 1 or get_channel_dim(net.shape) != self._filter_size:
            if not self._use_bounded_activation:
                net = tf.nn.relu(net)
            net = slim.conv2d(net, self._filter_size, 1, stride=stride, scope="1x1")
            net = self._clip(slim.batch_norm(net, scope="bn_1"))
        return net

    def _pooling(self, net, stride, operation):
        """'avg_pool_3x3' / 'max_pool_3x3', then a 1x1 convolution if the filter count differs."""
        pooling_type, kernel_size = _parse_pooling(operation)
        if self._use_bounded_activation:
            net = tf.nn.relu6(net)
        pools = {"avg": slim.avg_pool2d, "max": slim.max_pool2d}
        if pooling_type not in pools:
            raise ValueError(f"unknown pooling type in {operation}")
        input_filters = get_channel_dim(net.shape)
        net = pools[pooling_type](net, kernel_size, stride=stride, padding="SAME")
        if input_filters != self._filter_size:
            net = slim.conv2d(net, self._filter_size, 1, stride=1, scope="1x1")
            net = slim.batch_norm(net, scope="bn_1")
        return self._clip(net)

    def _apply_conv_operation(self, net, operation, stride, is_from_original_input, current_step):
        """Applies one of the cell's operations; only the cell's two inputs are strided."""
        if not is_from_original_input:
            stride = 1
        if operation.startswith("separable"):
            net = self._stacked_separable_conv(net, stride, operation)
        elif operation == "none":
            return self._identity(net, stride)
        elif "pool" in operation:
            net = self._pooling(net, stride, operation)
        else:
            raise ValueError(f"unknown cell operation {operation}")
        return self._apply_drop_path(net, current_step=current_step)

    def _combine_unused_states(self, hidden_states):
        """Concatenates the hidden states no combination consumed, reduced to the last one's shape."""
        final = hidden_states[-1]
        final_size, final_filters = _spatial_size(final), get_channel_dim(final.shape)
        if len(self._used_hiddenstates) != len(hidden_states):
            raise ValueError("used_hiddenstates must flag every hidden state of the cell")
        unused = []
        for index, (state, used) in enumerate(zip(hidden_states, self._used_hiddenstates)):
            if used:
                continue
            size = _spatial_size(state)
            if size != final_size or get_channel_dim(state.shape) != final_filters:
                with tf.variable_scope(f"reduction_{index}"):
                    state = factorized_reduction(state, final_filters, 2 if size != final_size else 1)
            unused.append(state)
        return tf.concat(unused, axis=get_channel_index())

    def _apply_drop_path(self, net, current_step=None):
        """Drop path whose drop rate grows with the cell's depth and with training progress.

        `current_step` defaults to the global step; progress is its ratio to
        `total_training_steps`, capped at 1.
        """
        keep_prob = self._drop_path_keep_prob
        if keep_prob >= 1.0:
            return net
        if self._cell_num == -1:
            raise ValueError("drop path needs the cell's number (cell_num)")
        layer_ratio = (self._cell_num + 1) / float(self._total_num_cells)
        keep_prob = 1 - layer_ratio * (1 - keep_prob)
        if current_step is None:
            current_step = tf.train.get_or_create_global_step()
        progress = tf.minimum(1.0, tf.cast(current_step, tf.float32) / self._total_training_steps)
        return drop_path(net, 1 - progress * (1 - keep_prob))


class FixedCell(NasNetABaseCell):
    """A cell whose structure is fixed by the class attributes OPERATIONS, USED_HIDDENSTATES and
    HIDDENSTATE_INDICES (see NasNetABaseCell)."""

    OPERATIONS = USED_HIDDENSTATES = HIDDENSTATE_INDICES = None

    def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells, total_training_steps,
                 use_bounded_activation=False):
        super().__init__(num_conv_filters, self.OPERATIONS, self.USED_HIDDENSTATES, self.HIDDENSTATE_INDICES,
                         drop_path_keep_prob, total_num_cells, total_training_steps, use_bounded_activation)


class NasNetANormalCell(FixedCell):
    """The NASNet-A normal cell (keeps size and filter count)."""

    OPERATIONS = ["separable_5x5_2", "separable_3x3_2", "separable_5x5_2", "separable_3x3_2", "avg_pool_3x3",
                  "none", "avg_pool_3x3", "avg_pool_3x3", "separable_3x3_2", "none"]
    USED_HIDDENSTATES = [1, 0, 0, 0, 0, 0, 0]
    HIDDENSTATE_INDICES = [0, 1, 1, 1, 0, 1, 1, 1, 0, 0]


class NasNetAReductionCell(FixedCell):
    """The NASNet-A reduction cell (called with stride 2)."""

    OPERATIONS = ["separable_5x5_2", "separable_7x7_2", "max_pool_3x3", "separable_7x7_2", "avg_pool_3x3",
                  "separable_5x5_2", "none", "avg_pool_3x3", "separable_3x3_2", "max_pool_3x3"]
    USED_HIDDENSTATES = [1, 1, 1, 0, 0, 0, 0]
    HIDDENSTATE_INDICES = [0, 1, 0, 1, 0, 1, 3, 2, 2, 0]
