"""Trains an image classifier on a TFRecord dataset, as upstream TF-Slim's script does.

Fine-tuning Inception V3 from the ImageNet checkpoint on diabetic retinopathy::

    python train_image_classifier.py --train_dir=TRAIN --dataset_name=diabetic \
        --dataset_split_name=train --dataset_dir=DIR/tfrecords --model_name=inception_v3 \
        --checkpoint_path=CKPT/inception_v3.ckpt \
        --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
        --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
        --learning_rate=0.000001 --learning_rate_decay_type=exponential

Batch-norm moving statistics of every layer keep updating during training, as
upstream does (even in layers outside --trainable_scopes); --freeze_batch_norm
keeps the checkpoint's statistics and normalises with them.
"""
import sys

from absl import app, flags, logging

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from training import trainer
from utils import interruption, shared_flags

# Upstream's flags, names and defaults unchanged.
shared_flags.define_master()
flags.DEFINE_string("train_dir", "/tmp/tfmodel/", "Directory where checkpoints and event logs are written to.")
flags.DEFINE_integer("num_clones", 1, "Number of model clones to deploy. Note For historical reasons loss from "
                     "all clones averaged out and learning rate decay happen per clone epochs")
flags.DEFINE_boolean("clone_on_cpu", False, "Use CPUs to deploy clones.")
flags.DEFINE_integer("worker_replicas", 1, "Number of worker replicas.")
flags.DEFINE_integer("num_ps_tasks", 0, "The number of parameter servers. If the value is 0, then the parameters "
                     "are handled locally by the worker.")
flags.DEFINE_integer("num_readers", None, "The number of TFRecord shards read in parallel. None: one per "
                     "CPU core, tf.data autotuning the reads.")
shared_flags.define_num_preprocessing_threads(None)
flags.DEFINE_integer("log_every_n_steps", 10, "The frequency with which logs are printed.")
flags.DEFINE_integer("save_summaries_secs", 600, "The frequency with which summaries are saved, in seconds.")
flags.DEFINE_integer("save_interval_secs", 600, "The frequency with which the model is saved, in seconds.")
flags.DEFINE_integer("task", 0, "Task id of the replica running the training.")
flags.DEFINE_float("weight_decay", 0.00004, "The weight decay on the model weights.")
flags.DEFINE_string("optimizer", "rmsprop", "One of adadelta, adagrad, adam, ftrl, momentum, sgd or rmsprop.")
flags.DEFINE_float("adadelta_rho", 0.95, "The decay rate for adadelta.")
flags.DEFINE_float("adagrad_initial_accumulator_value", 0.1, "Starting value for the AdaGrad accumulators.")
flags.DEFINE_float("adam_beta1", 0.9, "The exponential decay rate for the 1st moment estimates.")
flags.DEFINE_float("adam_beta2", 0.999, "The exponential decay rate for the 2nd moment estimates.")
flags.DEFINE_float("opt_epsilon", 1.0, "Epsilon term for the optimizer.")
flags.DEFINE_float("ftrl_learning_rate_power", -0.5, "The learning rate power.")
flags.DEFINE_float("ftrl_initial_accumulator_value", 0.1, "Starting value for the FTRL accumulators.")
flags.DEFINE_float("ftrl_l1", 0.0, "The FTRL l1 regularization strength.")
flags.DEFINE_float("ftrl_l2", 0.0, "The FTRL l2 regularization strength.")
flags.DEFINE_float("momentum", 0.9, "The momentum for the MomentumOptimizer and RMSPropOptimizer.")
flags.DEFINE_float("rmsprop_momentum", 0.9, "Momentum.")
flags.DEFINE_float("rmsprop_decay", 0.9, "Decay term for RMSProp.")
shared_flags.define_refused("quantize_delay", "use_grayscale")
flags.DEFINE_string("learning_rate_decay_type", "exponential", "Specifies how the learning rate is decayed. "
                    "One of fixed, exponential or polynomial")
flags.DEFINE_float("learning_rate", 0.01, "Initial learning rate.")
flags.DEFINE_float("end_learning_rate", 0.0001, "The minimal end learning rate used by a polynomial decay.")
flags.DEFINE_float("label_smoothing", 0.0, "The amount of label smoothing.")
flags.DEFINE_float("learning_rate_decay_factor", 0.94, "Learning rate decay factor.")
flags.DEFINE_float("num_epochs_per_decay", 2.0, "Number of epochs after which learning rate decays.")
flags.DEFINE_bool("sync_replicas", False, "Whether or not to synchronize the replicas during training.")
flags.DEFINE_integer("replicas_to_aggregate", 1, "The Number of gradients to collect before updating params.")
shared_flags.define_moving_average_decay()
shared_flags.define_dataset_name()
shared_flags.define_dataset_split_name("train")
shared_flags.define_dataset_dir()
shared_flags.define_network()
shared_flags.define_batch_size(32)
flags.DEFINE_integer("train_image_size", None, "Train image size")
flags.DEFINE_integer("max_number_of_steps", None, "The maximum number of training steps.")
shared_flags.define_checkpoint_path(None, "training fine-tunes from it (None: from scratch).")
flags.DEFINE_string("checkpoint_exclude_scopes", None, "Comma-separated list of scopes of variables to exclude "
                    "when restoring from a checkpoint.")
flags.DEFINE_string("trainable_scopes", None, "Comma-separated list of scopes to filter the set of variables "
                    "to train. By default, None would train all the variables.")
flags.DEFINE_boolean("ignore_missing_vars", False, "When restoring a checkpoint would ignore missing variables.")

# Beyond upstream.
flags.DEFINE_string("class_weights", None, "Weigh each example's loss by its class: 'balanced' (inverse class "
                    "frequency of the split) or comma-separated weights, one per class. None: unweighted.")
flags.DEFINE_bool("balanced_sampling", False, "Sample every class equally often in the input pipeline.")
flags.DEFINE_float("balanced_sampling_end", 1.0, "With --balanced_sampling: the share of balanced sampling at the "
                   "last step (--max_number_of_steps), the rest drawn at the training split's own class "
                   "frequencies; the mix moves linearly from balanced at step 0. 1: balanced throughout; 0: the "
                   "split's frequencies at the end (as De Fauw, 5th on Kaggle in 2015, moved from balanced "
                   "towards the true frequencies).")
flags.DEFINE_bool("prior_correction", True, "With --balanced_sampling: record the class frequencies the batches "
                  "had next to the training split's, so that eval, predict and export undo the sampling (Bayes' "
                  "rule: the probabilities under the split's own frequencies, graded by their expected grade; "
                  "grading/class_prior.py). --noprior_correction grades as trained, under the sampled "
                  "frequencies.")
flags.DEFINE_float("batch_norm_decay", None, "Batch-norm moving-average decay; None keeps the network's "
                   "(0.9997 for Inception: too slow to adapt in short fine-tuning runs).")
flags.DEFINE_bool("freeze_batch_norm", False, "Run batch norm in inference mode: normalise with the "
                  "checkpoint's moving statistics and never update them.")
flags.DEFINE_string("regression_loss", None, "Also train a one-output grade regression head next to the "
                    "softmax, with this loss on the grade: 'squared' or 'smooth_l1'. None: softmax only.")
flags.DEFINE_integer("seed", None, "Seed the graph's random ops and the input pipeline's order (runs with "
                     "the same seed start from the same weights and read the same batches). None: unseeded.")
flags.DEFINE_bool("mixed_precision", None, "Compute in --mixed_precision_dtype where that is numerically safe; "
                  "variables and checkpoints stay float32. Not given: bfloat16 on a machine without a GPU whose "
                  "CPU has AVX512-BF16 or AMX (read from /proc/cpuinfo; the log says which), except for MobileNets "
                  "(slower in bfloat16), else float32; --nomixed_precision forces float32.")
flags.DEFINE_string("mixed_precision_dtype", "float16", "float16 (NVIDIA GPUs with Tensor Cores; dynamic loss "
                    "scaling) or bfloat16 (CPUs with AVX512-BF16/AMX, through oneDNN).")
flags.DEFINE_bool("xla", False, "Compile each clone's forward and backward pass with XLA.")

FLAGS = flags.FLAGS


def main(_):
    logging.set_verbosity(logging.INFO)
    try:
        trainer.train(FLAGS)
    except (ValueError, FloatingPointError) as error:
        sys.exit(f"train_image_classifier.py: {error}")
    except KeyboardInterrupt:
        interruption.stop(trainer.what_an_interruption_keeps(FLAGS.train_dir))


if __name__ == "__main__":
    app.run(main)
