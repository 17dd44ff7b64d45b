"""Each tf-slim API that slim_compat repairs works on the pinned TensorFlow."""
import warnings

import numpy as np

from slim_compat import slim, tf


def run(fetches, feed=None, init_local=False):
    with tf.Session() as session:
        session.run(tf.global_variables_initializer())
        if init_local:
            session.run(tf.local_variables_initializer())
        return session.run(fetches, feed)


def test_graph_mode_is_on():
    assert not tf.executing_eagerly()


def test_batch_norm_with_inplace_updates_normalises_and_moves_statistics():
    with tf.Graph().as_default():
        inputs = tf.constant(np.arange(24, dtype=np.float32).reshape(4, 1, 2, 3))
        outputs = slim.batch_norm(inputs, is_training=True, updates_collections=None, decay=0.5)
        moving_mean = slim.get_variables_by_name("moving_mean")[0]
        normalised, mean_after = run([outputs, moving_mean])
    np.testing.assert_allclose(normalised.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    assert np.all(mean_after > 0)


def test_tfexample_decoder_decodes_image_and_label():
    image = np.random.RandomState(0).randint(0, 255, (5, 7, 3), dtype=np.uint8)
    with tf.Graph().as_default():
        encoded = tf.image.encode_png(image)
        with tf.Session() as session:
            png_bytes = session.run(encoded)
        example = tf.train.Example(features=tf.train.Features(feature={
            "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png_bytes])),
            "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"])),
            "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[3])),
        }))
        decoder = slim.tfexample_decoder.TFExampleDecoder(
            {"image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
             "image/format": tf.FixedLenFeature((), tf.string, default_value="jpg"),
             "image/class/label": tf.FixedLenFeature((), tf.int64, default_value=0)},
            {"image": slim.tfexample_decoder.Image(), "label": slim.tfexample_decoder.Tensor("image/class/label")})
        decoded_image, label = decoder.decode(example.SerializeToString(), ["image", "label"])
        got_image, got_label = run([decoded_image, label])
    np.testing.assert_array_equal(got_image, image)
    assert got_label == 3


def test_streaming_concat_and_dynamic_auc():
    with tf.Graph().as_default():
        scores = tf.constant([0.1, 0.9, 0.2, 0.8])
        concat, concat_update = slim.metrics.streaming_concat(scores)
        auc, auc_update = slim.metrics.streaming_dynamic_auc(tf.constant([0, 1, 1, 0]), scores)
        with tf.Session() as session:
            session.run(tf.local_variables_initializer())
            session.run([concat_update, auc_update])
            session.run(concat_update)
            all_scores, auc_value = session.run([concat, auc])
    np.testing.assert_allclose(all_scores, [0.1, 0.9, 0.2, 0.8] * 2, rtol=1e-6)
    # 3 of the 4 positive/negative pairs are ranked correctly.
    np.testing.assert_allclose(auc_value, 0.75)


def test_create_train_op_with_clipping_multipliers_and_gradient_summaries():
    with tf.Graph().as_default():
        tf.train.create_global_step()
        weight = tf.Variable(1.0, name="weight")
        loss = tf.square(weight * 10.0)
        train_op = slim.learning.create_train_op(
            loss, tf.train.GradientDescentOptimizer(0.1), clip_gradient_norm=1.0,
            gradient_multipliers={weight: 0.5}, summarize_gradients=True)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(train_op)
            weight_after = session.run(weight)
        assert tf.get_collection(tf.GraphKeys.SUMMARIES)
    # gradient 200 is halved to 100, clipped to norm 1, times lr 0.1 -> a step of 0.1
    np.testing.assert_allclose(weight_after, 0.9, rtol=1e-6)


def test_learning_train_saves_final_checkpoint(tmp_path):
    with tf.Graph().as_default():
        tf.train.create_global_step()
        weight = tf.Variable(1.0, name="weight")
        train_op = slim.learning.create_train_op(tf.square(weight), tf.train.GradientDescentOptimizer(0.1))
        slim.learning.train(train_op, str(tmp_path), number_of_steps=3, save_summaries_secs=600)
    checkpoint = tf.train.latest_checkpoint(str(tmp_path))
    assert checkpoint.endswith("model.ckpt-3")
    # Each step scales the weight by 0.8.
    np.testing.assert_allclose(tf.train.load_variable(checkpoint, "weight"), 0.8 ** 3, rtol=1e-6)


def test_training_closes_the_summary_writer_without_warning(tmp_path):
    with tf.Graph().as_default():
        tf.train.create_global_step()
        weight = tf.Variable(1.0, name="weight")
        tf.summary.scalar("weight", weight)
        train_op = slim.learning.create_train_op(tf.square(weight), tf.train.GradientDescentOptimizer(0.1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            slim.learning.train(train_op, str(tmp_path), number_of_steps=2)
    assert not [warning for warning in caught if "closed FileWriter" in str(warning.message)]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-2")
