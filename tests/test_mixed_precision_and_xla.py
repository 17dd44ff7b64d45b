"""--mixed_precision and --xla: what the rewrites compute, and training with them on real TFRecords."""
import math
import os

import numpy as np
import pytest
from absl import flags
from tensorflow.core.protobuf import rewriter_config_pb2

from datasets import dataset_factory, input_pipeline
from evaluation import evaluate
from inference import model_runner
from preprocessing import preprocessing_factory
from slim_compat import slim, tf
from training import precision, trainer

import train_image_classifier  # noqa: F401  (defines the flags)


def small_conv_net(images):
    """A convolution with batch norm and a loss, its weights constant so two graphs compute the same."""
    net = slim.conv2d(images, 8, [3, 3], normalizer_fn=slim.batch_norm,
                      weights_initializer=tf.constant_initializer(0.05), scope="conv")
    return tf.reduce_mean(tf.square(net))


def run_with_partition_graphs(fetches, config):
    """Runs `fetches` once in a fresh session; returns (values, the executed nodes' (op, T) pairs)."""
    metadata = tf.RunMetadata()
    with tf.Session(config=config) as session:
        session.run(tf.global_variables_initializer())
        values = session.run(fetches, options=tf.RunOptions(output_partition_graphs=True), run_metadata=metadata)
    nodes = [(node.op, node.attr["T"].type if "T" in node.attr else None)
             for graph in metadata.partition_graphs for node in graph.node]
    return values, nodes


def test_bfloat16_rewrite_runs_the_convolution_in_bfloat16_and_keeps_float32_variables():
    def conv_dtypes(dtype):
        with tf.Graph().as_default():
            loss = small_conv_net(tf.random.uniform([2, 16, 16, 3], seed=1))
            gradients = tf.gradients(loss, tf.trainable_variables())
            (loss_value, _), nodes = run_with_partition_graphs((loss, gradients), precision.session_config(dtype))
            assert {variable.dtype.base_dtype for variable in tf.global_variables()} == {tf.float32}
        return loss_value, {data_type for op, data_type in nodes if op.endswith("Conv2D")}  # the forward one

    loss32, dtypes32 = conv_dtypes(None)
    loss16, dtypes16 = conv_dtypes("bfloat16")
    assert dtypes32 == {tf.float32.as_datatype_enum}
    assert dtypes16 == {tf.bfloat16.as_datatype_enum}
    assert loss16 == np.float32(loss16) and abs(loss16 - loss32) < 0.02 * loss32  # bfloat16 keeps ~3 digits


def test_float16_loss_scaling_skips_a_step_with_infinite_gradients_and_halves_the_scale():
    with tf.Graph().as_default():
        global_step = tf.train.create_global_step()
        weight = tf.Variable(1.0)
        slope = tf.placeholder(tf.float32, [])
        optimizer = precision.loss_scaled(tf.train.GradientDescentOptimizer(0.1), "float16")
        step = optimizer.minimize(weight * slope, global_step=global_step)
        # The scale is session state, not saved: a checkpoint holds only the model and the step.
        assert set(tf.global_variables()) == {global_step, weight}
        with tf.Session() as session:
            session.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            scale = session.run(optimizer._loss_scale())
            session.run(step, {slope: math.inf})
            assert session.run([weight, global_step]) == [1.0, 0]
            assert session.run(optimizer._loss_scale()) == scale / 2
            session.run(step, {slope: 2.0})
            assert session.run(weight) == np.float32(1.0 - 0.1 * 2.0)
            assert session.run(global_step) == 1


def test_bfloat16_needs_no_loss_scaling_and_unknown_types_are_refused():
    optimizer = tf.train.GradientDescentOptimizer(0.1)
    assert precision.loss_scaled(optimizer, "bfloat16") is optimizer
    assert precision.loss_scaled(optimizer, None) is optimizer
    try:
        precision.session_config("float8")
    except ValueError as error:
        assert str(error) == "--mixed_precision_dtype [float8] was not recognized; use one of float16, bfloat16"
    else:
        raise AssertionError("float8 was accepted")


def test_xla_compiles_the_forward_and_backward_pass_to_the_same_values():
    def loss_and_gradients(compile_with_xla):
        with tf.Graph().as_default():
            images = tf.constant(np.random.default_rng(0).uniform(size=[2, 16, 16, 3]), tf.float32)
            with precision.compiled(compile_with_xla):
                loss = small_conv_net(images)
            gradients = tf.gradients(loss, tf.trainable_variables())
            return run_with_partition_graphs((loss, gradients), precision.session_config())

    (loss, gradients), nodes = loss_and_gradients(False)
    (xla_loss, xla_gradients), xla_nodes = loss_and_gradients(True)
    assert not any(op.startswith("_Xla") for op, _ in nodes)
    assert {"_XlaCompile", "_XlaRun"} <= {op for op, _ in xla_nodes}
    np.testing.assert_allclose(xla_loss, loss, rtol=1e-4)
    for xla_gradient, gradient in zip(xla_gradients, gradients):
        np.testing.assert_allclose(xla_gradient, gradient, rtol=1e-3, atol=1e-6)


def test_batches_prefetched_to_a_device_start_with_the_tables_initializer(tiny_diabetic_dir):
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir)
        batch = input_pipeline.build_batches(
            dataset, preprocessing_factory.get_preprocessing("fundus", is_training=True), 32, 4, is_training=True,
            prefetch_device="/cpu:0")
        assert batch["images"].device == batch["labels"].device == "/device:CPU:0"  # read on the device
        with tf.Session() as session:
            session.run(tf.tables_initializer())  # what slim.learning.train's local init op runs
            for _ in range(5):  # more than the 16 images: the device stream repeats like the host one
                images, labels = session.run([batch["images"], batch["labels"]])
                assert images.shape == (4, 32, 32, 3) and set(labels) <= set(range(5))


def parse_train_flags(train_dir, dataset_dir, *extra):
    """Upstream's flags for LeNet (small enough for XLA to compile it in seconds on a CPU) on `dataset_dir`."""
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train_image_classifier.py", f"--train_dir={train_dir}", "--dataset_name=diabetic",
                 f"--dataset_dir={dataset_dir}", "--model_name=lenet", "--batch_size=2", "--optimizer=sgd",
                 "--learning_rate=0.001", *extra])
    return flags.FLAGS


def test_xla_flag_compiles_the_network_and_its_gradients_not_the_input_pipeline(tiny_diabetic_dir, tmp_path,
                                                                                monkeypatch):
    graphs = []
    monkeypatch.setattr(slim.learning, "train", lambda train_op, **_: graphs.append(train_op.graph) or 0.0)
    trainer.train(parse_train_flags(str(tmp_path), tiny_diabetic_dir, "--xla"))

    def compiled(op):
        try:
            return op.get_attr("_XlaCompile")
        except ValueError:
            return False

    operations = graphs[0].get_operations()
    convolutions = [op for op in operations if op.type in ("Conv2D", "Conv2DBackpropFilter", "MatMul")]
    assert len(convolutions) == 2 + 2 + 3 * 2  # LeNet: 2 convolutions, 2 fully connected layers, their gradients
    assert all(compiled(op) for op in convolutions)
    assert not any(compiled(op) for op in operations if op.type in ("IteratorGetNext", "ApplyGradientDescent"))


@pytest.mark.parametrize("extra", [["--mixed_precision"],
                                   ["--mixed_precision", "--mixed_precision_dtype=bfloat16", "--xla"]],
                         ids=["float16", "bfloat16_xla"])
@pytest.mark.slow
def test_mixed_precision_training_writes_checkpoints_that_a_float32_evaluation_restores(tiny_diabetic_dir, tmp_path,
                                                                                        extra):
    train_dir = str(tmp_path / "train")
    loss = trainer.train(parse_train_flags(train_dir, tiny_diabetic_dir, "--max_number_of_steps=2", *extra))
    assert math.isfinite(loss)
    checkpoint = tf.train.latest_checkpoint(train_dir)
    assert checkpoint.endswith("model.ckpt-2")
    dtypes = tf.train.load_checkpoint(checkpoint).get_variable_to_dtype_map()
    assert {dtypes[name] for name in dtypes if name != "global_step"} == {tf.float32}
    assert not [name for name in dtypes if "loss_scale" in name or "good_steps" in name]

    dataset = dataset_factory.get_dataset("diabetic", "validation", tiny_diabetic_dir)
    [metrics] = evaluate.evaluate(checkpoint, evaluate.dataset_input(dataset, 5, 5),
                                  model_runner.ModelConfig("lenet", num_classes=5), str(tmp_path / "eval"))
    assert 0.0 <= metrics["Accuracy"] <= 1.0


CPUINFO_HEAD = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Example CPU\n"


def test_bfloat16_support_is_read_from_the_processor_flags_of_cpuinfo():
    with_bf16 = precision.cpu_flags(CPUINFO_HEAD + "flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    without = precision.cpu_flags(CPUINFO_HEAD + "flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert {"avx512f", "avx512_bf16"} <= with_bf16
    assert precision.cpu_bfloat16_support(with_bf16) == "avx512_bf16,amx_bf16"
    assert precision.cpu_bfloat16_support(without) == ""
    assert precision.cpu_flags("processor\t: 0\n") == frozenset()  # no flags line (other systems): nothing claimed


@pytest.mark.parametrize("flags_line, model_name, master, dtype, said", [
    ("fpu avx2 avx512f avx512_bf16", "inception_v3", "", "bfloat16",
     "Training in mixed bfloat16: this CPU has avx512_bf16 (--nomixed_precision trains in float32)"),
    ("fpu avx2 avx512f avx512_vnni", "inception_v3", "", None,
     "Training in float32: this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16)"),
    ("fpu avx2 avx512f avx512_bf16", "mobilenet_v3_small", "", None,
     "Training in float32: mobilenet_v3_small's depthwise convolutions are slower in bfloat16 on a CPU"),
    ("fpu avx2 avx512f avx512_bf16", "inception_v3", "grpc://localhost:2222", None,
     "Training in float32: the session runs on grpc://localhost:2222 (--mixed_precision_dtype chooses)")],
    ids=["bf16_cpu", "older_cpu", "mobilenet", "tensorflow_server"])
def test_training_computes_in_bfloat16_exactly_on_cpus_that_have_it_and_says_so_in_one_line(
        flags_line, model_name, master, dtype, said, monkeypatch, caplog):
    monkeypatch.setattr(precision, "gpu_available", lambda: False)
    with caplog.at_level("INFO", logger="absl"):
        assert precision.automatic_dtype(f"{CPUINFO_HEAD}flags\t\t: {flags_line}\n", model_name, master) == dtype
    assert [record.getMessage() for record in caplog.records if "Training in" in record.getMessage()] == [said]


@pytest.mark.parametrize("cpu_flags_line, extra, bfloat16", [
    ("avx512f avx512_bf16", [], True),
    ("avx512f avx512_vnni", [], False),
    ("avx512f avx512_bf16", ["--nomixed_precision"], False)],
    ids=["bf16_cpu", "older_cpu", "float32_forced"])
def test_training_without_the_flag_rewrites_to_bfloat16_only_on_a_bf16_cpu_and_nomixed_precision_forces_float32(
        cpu_flags_line, extra, bfloat16, tiny_diabetic_dir, tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"{CPUINFO_HEAD}flags\t\t: fpu sse2 {cpu_flags_line}\n")
    monkeypatch.setattr(precision, "CPUINFO", str(cpuinfo))
    monkeypatch.setattr(precision, "gpu_available", lambda: False)
    configs = []
    monkeypatch.setattr(slim.learning, "train", lambda train_op, **kwargs: configs.append(kwargs["session_config"]))
    trainer.train(parse_train_flags(str(tmp_path / "train"), tiny_diabetic_dir, *extra))
    rewrite = configs[0].graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16
    assert (rewrite == rewriter_config_pb2.RewriterConfig.ON) == bfloat16
