"""Builds the training graph from upstream's flags and runs slim.learning.train on it."""
from absl import logging

from datasets import dataset_factory, input_pipeline, tfrecord_check
from deployment import model_deploy
from nets import grade_regression, nets_factory
from preprocessing import preprocessing_factory
from slim_compat import slim, tf
from training import (between_steps, checkpoint_init, losses, model_record, optimization, precision, summaries,
                      sync_replicas)
from training.train_step import make_train_step_fn
from utils import checkpoint_files, flag_checks, model_description, shared_flags, writer_lock


def check_flags(flags):
    """Rejects flag values that cannot work before any graph is built, each with a one-line reason.

    Raises:
      ValueError: missing --dataset_dir, a video network, --quantize_delay >= 0, --use_grayscale, a
        count, size, rate or decay out of range, a --train_dir that cannot be written, an image size below the
        network's minimum, an unknown optimizer or decay type, or a --checkpoint_path with no checkpoint.
    """
    if not flags.dataset_dir:
        raise ValueError("You must supply the dataset directory with --dataset_dir")
    nets_factory.check_image_network(flags.model_name)
    flag_checks.positive(flags, "batch_size", "learning_rate", "num_clones", "num_readers",
                         "num_preprocessing_threads", "worker_replicas", "replicas_to_aggregate",
                         "num_epochs_per_decay", "learning_rate_decay_factor", "max_number_of_steps",
                         "train_image_size", "log_every_n_steps")
    flag_checks.non_negative(flags, "weight_decay", "end_learning_rate", "save_summaries_secs",
                             "save_interval_secs", "opt_epsilon")
    flag_checks.fraction(flags, "label_smoothing")
    flag_checks.decay(flags, "moving_average_decay", "batch_norm_decay")
    nets_factory.check_image_size(flags.model_name, flags.train_image_size, "--train_image_size")
    shared_flags.check_refused(flags, "quantize_delay", "use_grayscale")
    losses.check_regression_loss(flags.regression_loss)
    _check_sampling_flags(flags)
    optimization.check_optimizer_name(flags.optimizer)
    optimization.check_decay_type(flags.learning_rate_decay_type)
    if flags.mixed_precision:
        precision.check_dtype(flags.mixed_precision_dtype)
    if flags.checkpoint_path:
        checkpoint_files.resolve(flags.checkpoint_path)
    if flags.task == 0:  # the chief writes the train dir; workers only compute
        flag_checks.writable_directory(flags, "train_dir")


def _check_sampling_flags(flags):
    """--balanced_sampling_end is a share in [0, 1]; below 1 it needs --balanced_sampling and a step limit."""
    end_mix = getattr(flags, "balanced_sampling_end", 1.0)
    if end_mix is None or end_mix == 1.0:
        return
    if not 0.0 <= end_mix <= 1.0:
        raise ValueError(f"--balanced_sampling_end={end_mix}: expected a share between 0 and 1")
    if not flags.balanced_sampling:
        raise ValueError(f"--balanced_sampling_end={end_mix:g} moves balanced sampling towards the split's "
                         "frequencies: add --balanced_sampling")
    if not flags.max_number_of_steps:
        raise ValueError(f"--balanced_sampling_end={end_mix:g} reaches its end mix at the last step: "
                         "give --max_number_of_steps")


def prepare_train_dir(train_dir):
    """Cleans what an interrupted save left in `train_dir` and points its checkpoint state at its own files.

    Returns:
      The checkpoint training will resume from, or None.

    Raises:
      ValueError: that checkpoint is damaged.
    """
    if not tf.gfile.IsDirectory(train_dir):
        return None
    checkpoint_files.remove_save_temporaries(train_dir)
    resume_from = checkpoint_files.localise_state(train_dir)
    if resume_from:
        checkpoint_files.check_whole(resume_from)
    return resume_from


def what_an_interruption_keeps(train_dir):
    """Says, after Ctrl-C, which checkpoint a rerun of the same command resumes from."""
    try:
        latest = checkpoint_files.latest_in(train_dir) if tf.gfile.IsDirectory(train_dir) else None
    except ValueError:
        latest = None
    if latest is None:
        return f"no checkpoint in {train_dir} yet"
    step = checkpoint_files.step_of(latest)
    return f"the latest checkpoint is {latest} (step {step}); run the same command to resume"


def _finished(resume_from, max_number_of_steps):
    """Says where training resumes, or that the run has reached the step limit already (then True)."""
    step = checkpoint_files.step_of(resume_from)
    if max_number_of_steps is None or step < max_number_of_steps:
        logging.info("Resuming from %s (step %d)", resume_from, step)
        return False
    logging.info("%s: the run is already at step %d, at or past --max_number_of_steps=%d; nothing trained, "
                 "nothing changed (raise --max_number_of_steps to train on)", resume_from, step, max_number_of_steps)
    return True


def _sampling_schedule(flags, label_counts, balanced_labels, resume_from, examples_per_step):
    """The input pipeline's SamplingSchedule (--balanced_sampling_end below 1), else None (balanced throughout)."""
    end_mix = getattr(flags, "balanced_sampling_end", 1.0)
    if not balanced_labels or end_mix is None or end_mix >= 1.0:
        return None
    counts = label_counts()
    schedule = input_pipeline.SamplingSchedule(
        frequencies=tuple(counts[label] / sum(counts) for label in balanced_labels),
        num_examples=flags.max_number_of_steps * examples_per_step, end_mix=end_mix,
        start_example=checkpoint_files.step_of(resume_from) * examples_per_step if resume_from else 0)
    logging.info("Sampling moves from balanced to %s by step %d (class probabilities %s)",
                 f"{end_mix:g} balanced + {1 - end_mix:g} the split's frequencies" if end_mix else
                 "the split's frequencies", flags.max_number_of_steps,
                 ", ".join(f"{share:.3f}" for share in schedule.probabilities(schedule.num_examples)))
    return schedule


def _class_prior(flags, label_counts, balanced_labels, schedule):
    """The model_description.ClassPrior of a run whose batches do not follow the split's frequencies, else None.

    Balanced sampling draws each of `balanced_labels` alike; a schedule ends at its last step's mix.
    Eval, predict and export then grade under the split's own frequencies (grading.class_prior)
    unless --noprior_correction.
    """
    if not balanced_labels or not getattr(flags, "prior_correction", True):
        return None
    counts = label_counts()
    sampled = [0.0] * len(counts)
    shares = (schedule.probabilities(schedule.num_examples) if schedule
              else [1.0 / len(balanced_labels)] * len(balanced_labels))
    for label, share in zip(balanced_labels, shares):
        sampled[label] = float(share)
    return model_description.ClassPrior(tuple(count / sum(counts) for count in counts), tuple(sampled))


def _build_clones(flags, deploy_config, dataset, network_fn, image_size, weights, balanced_labels,
                  sampling_schedule=None):
    """Builds the input pipeline and the clones; each clone outputs (end_points, images, labels)."""
    preprocessing_fn = preprocessing_factory.get_preprocessing(
        flags.preprocessing_name or flags.model_name, is_training=True)
    num_classes = dataset.num_classes - flags.labels_offset
    prefetch_device = _prefetch_device(deploy_config)
    with tf.device(deploy_config.inputs_device()):
        batch = input_pipeline.build_batches(
            dataset, preprocessing_fn, image_size, flags.batch_size * deploy_config.num_clones, is_training=True,
            num_readers=flags.num_readers, num_preprocessing_threads=flags.num_preprocessing_threads,
            labels_offset=flags.labels_offset, seed=flags.seed, balanced_labels=balanced_labels,
            prefetch_device=prefetch_device, sampling_schedule=sampling_schedule)
    # One batch of batch_size per clone, like upstream's per-clone dequeue, split where the batch is.
    with tf.device(prefetch_device or deploy_config.inputs_device()):
        clone_images = tf.split(batch["images"], deploy_config.num_clones)
        clone_labels = tf.split(batch["labels"], deploy_config.num_clones)
    clone_inputs = iter(zip(clone_images, clone_labels))

    def clone_fn():
        images, labels = next(clone_inputs)
        return add_clone_losses(flags, network_fn, images, labels, num_classes, weights), images, labels

    return model_deploy.create_clones(deploy_config, clone_fn)


def training_network(flags, num_classes):
    """The network_fn of --model_name in training mode, with the flags' weight decay and batch-norm options."""
    return nets_factory.get_network_fn(flags.model_name, num_classes=num_classes, weight_decay=flags.weight_decay,
                                       is_training=True, batch_norm_decay=flags.batch_norm_decay,
                                       freeze_batch_norm=flags.freeze_batch_norm)


def add_clone_losses(flags, network_fn, images, labels, num_classes, weights=None):
    """Builds one clone's network on its batch and adds its losses (XLA-compiled with --xla); returns its end points."""
    with precision.compiled(flags.xla):
        logits, end_points = network_fn(images)
        losses.add_classification_losses(logits, end_points, labels, num_classes, flags.label_smoothing, weights)
        if flags.regression_loss:
            grade_estimate = grade_regression.add_grade_regression(logits, end_points)
            losses.add_regression_loss(grade_estimate, labels, flags.regression_loss, weights)
    return end_points


def single_clone_step(flags, images, labels, num_classes, num_samples):
    """Training's step under `flags` on one clone fed `images` and `labels`: the op that runs it and yields the loss.

    The benches (bench/bench_gpu.py, bench/bench_input_pipeline.py) time this, the step that training runs.
    `num_samples` only sets the learning rate's decay period.
    """
    deploy_config = model_deploy.DeploymentConfig()
    global_step = tf.train.create_global_step()
    network_fn = training_network(flags, num_classes)
    clones = model_deploy.create_clones(
        deploy_config, lambda: add_clone_losses(flags, network_fn, images, labels, num_classes))
    return train_op(flags, deploy_config, clones, num_samples, global_step)[0]


def _prefetch_device(deploy_config):
    """Returns the GPU that a single clone trains on, for batches to be prefetched to; None otherwise."""
    if deploy_config.num_clones == 1 and not deploy_config.clone_on_cpu and precision.gpu_available():
        return deploy_config.worker_device + "/device:GPU:0"
    return None


def _requested_dtype(flags):
    """The 16-bit type --mixed_precision asks for, or None (float32, or --mixed_precision not given)."""
    return flags.mixed_precision_dtype if flags.mixed_precision else None


def _compute_dtype(flags):
    """The 16-bit type of mixed precision, or None for float32; without --[no]mixed_precision,
    precision.automatic_dtype's (bfloat16 on CPUs that have it, but for MobileNets), said in the log."""
    if flags.mixed_precision is None:
        return precision.automatic_dtype(model_name=flags.model_name, master=flags.master)
    return _requested_dtype(flags)


def _label_counter(dataset, num_classes, labels_offset):
    """Returns a function counting the split's labels on first use and remembering the counts."""
    counts = []

    def label_counts():
        if not counts:
            logging.info("Counting the labels of %s", dataset.data_sources)
            counts.extend(input_pipeline.count_labels(dataset, num_classes, labels_offset))
        return counts

    return label_counts


def _gradients_after(loss, gradients):
    """Returns `gradients` ((gradient, variable) pairs) made to wait for `loss`, each on its own device.

    The logged loss is then the one the gradients came from, read before any
    update. Gating the gradients, not the optimizer's ops, keeps the sync-replicas
    chief's update (run on its own by the chief) free of a forward pass.
    """
    gated = []
    for gradient, variable in gradients:
        with tf.device(gradient.device), tf.control_dependencies([loss]):
            gated.append((tf.identity(gradient), variable))
    return gated


def train_op(flags, deploy_config, clones, num_samples, global_step):
    """Returns (the op that runs one step and yields the loss, the optimizer): the flags' learning rate,
    optimizer, mixed precision, moving averages and sync replicas over the clones' losses."""
    moving_averages = variables_to_average = None
    if flags.moving_average_decay:
        moving_averages = tf.train.ExponentialMovingAverage(flags.moving_average_decay, global_step)
        variables_to_average = slim.get_model_variables()
    with tf.device(deploy_config.optimizer_device()):
        steps_per_decay = optimization.decay_steps(num_samples, flags.num_epochs_per_decay, flags.batch_size,
                                                   flags.replicas_to_aggregate, flags.sync_replicas)
        rate = optimization.learning_rate(flags.learning_rate_decay_type, flags.learning_rate, global_step,
                                          steps_per_decay, flags.learning_rate_decay_factor,
                                          flags.end_learning_rate)
        optimizer = optimization.optimizer(flags.optimizer, rate, flags)
        optimizer = precision.loss_scaled(optimizer, _requested_dtype(flags))  # the automatic type needs no scaling
        tf.summary.scalar("learning_rate", rate)
    # Batch-norm statistics are updated from the first clone only, as upstream does.
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, clones[0].scope)
    if flags.sync_replicas:
        optimizer = sync_replicas.SyncReplicasOptimizer(
            optimizer, replicas_to_aggregate=flags.replicas_to_aggregate,
            total_num_replicas=flags.worker_replicas, variable_averages=moving_averages,
            variables_to_average=variables_to_average)
    elif moving_averages is not None:
        update_ops.append(moving_averages.apply(variables_to_average))
    total_loss, gradients = model_deploy.optimize_clones(
        clones, optimizer, var_list=checkpoint_init.variables_to_train(flags.trainable_scopes))
    model_deploy.scalar_summary("total_loss", total_loss)
    with tf.device(deploy_config.optimizer_device()):
        apply_gradients = optimizer.apply_gradients(_gradients_after(total_loss, gradients), global_step=global_step)
    with tf.control_dependencies([apply_gradients, *update_ops]):
        return tf.identity(total_loss, name="train_op"), optimizer


def train(flags):
    """Trains `flags.model_name` on `flags.dataset_name` as upstream train_image_classifier does.

    Args:
      flags: object with upstream's train_image_classifier flags (plus class_weights,
        balanced_sampling, batch_norm_decay, freeze_batch_norm, mixed_precision,
        mixed_precision_dtype, xla, regression_loss, seed) as attributes.

    Returns:
      The loss of the last step; None when the train dir's run had already reached the step limit.

    Raises:
      ValueError: bad flags, unknown names, missing data or checkpoint, restore mismatch.
      FloatingPointError: the loss became NaN or infinite.
    """
    check_flags(flags)
    if flags.task != 0:  # the chief writes the train dir; workers only compute
        return _train(flags, resume_from=None)
    with writer_lock.sole_writer(flags.train_dir, "train_dir"):
        resume_from = prepare_train_dir(flags.train_dir)
        if resume_from and _finished(resume_from, flags.max_number_of_steps):
            return None
        final_loss = _train(flags, resume_from)
        checkpoint_files.point_latest_at_highest_step(flags.train_dir)
        return final_loss


def _train(flags, resume_from):
    """Builds the graph and runs slim.learning.train; returns the loss of the last step."""
    with tf.Graph().as_default():
        deploy_config = model_deploy.DeploymentConfig(
            num_clones=flags.num_clones, clone_on_cpu=flags.clone_on_cpu, replica_id=flags.task,
            num_replicas=flags.worker_replicas, num_ps_tasks=flags.num_ps_tasks)
        if flags.seed is not None:
            tf.set_random_seed(flags.seed)
        with tf.device(deploy_config.variables_device()):
            global_step = tf.train.create_global_step()
        dataset = dataset_factory.get_dataset(flags.dataset_name, flags.dataset_split_name, flags.dataset_dir)
        num_classes = dataset.num_classes - flags.labels_offset
        network_fn = training_network(flags, num_classes)
        image_size = flags.train_image_size or network_fn.default_image_size
        label_counts = _label_counter(dataset, num_classes, flags.labels_offset)
        weights = losses.class_weights(flags.class_weights, num_classes, label_counts)
        balanced_labels = [label for label, count in enumerate(label_counts()) if count] \
            if flags.balanced_sampling else None
        schedule = _sampling_schedule(flags, label_counts, balanced_labels, resume_from,
                                      flags.batch_size * deploy_config.num_clones)
        description = model_record.describe_model(flags, dataset, num_classes, image_size,
                                                  _class_prior(flags, label_counts, balanced_labels, schedule))
        if flags.task == 0:
            model_record.record_at_start(flags.train_dir, description)
        model_record.add_settings_summary(description)
        clones = _build_clones(flags, deploy_config, dataset, network_fn, image_size, weights, balanced_labels,
                               schedule)
        end_points, images, labels = clones[0].outputs
        summaries.add_model_summaries(end_points, images, labels, clones[0].scope)
        summaries.add_variable_summaries()
        step_op, optimizer = train_op(flags, deploy_config, clones, dataset.num_samples, global_step)
        if resume_from:
            checkpoint_init.check_resumable(resume_from, tf.global_variables())
        init_fn = checkpoint_init.get_init_fn(flags.checkpoint_path, flags.train_dir,
                                              flags.checkpoint_exclude_scopes, flags.ignore_missing_vars)
        logging.info("Training %s on %s/%s (%d examples) at %dx%d, batch %d x %d clone(s)", flags.model_name,
                     flags.dataset_name, flags.dataset_split_name, dataset.num_samples, image_size, image_size,
                     flags.batch_size, deploy_config.num_clones)
        saver = tf.train.Saver(save_relative_paths=True)
        step_fn = make_train_step_fn(
            flags.batch_size * flags.num_clones,
            between_steps.Summaries(tf.summary.merge_all(), flags.save_summaries_secs, flags.max_number_of_steps),
            between_steps.Checkpoints(saver, flags.train_dir, flags.save_interval_secs) if flags.task == 0 else None)
        try:
            # The Supervisor's timers neither save nor summarise: the step does both (training/between_steps.py).
            # They still write global_step/sec every --save_summaries_secs.
            final_loss = slim.learning.train(
                step_op, logdir=flags.train_dir, saver=saver, train_step_fn=step_fn,
                master=flags.master, is_chief=flags.task == 0, init_fn=init_fn,
                summary_op=None, number_of_steps=flags.max_number_of_steps,
                log_every_n_steps=flags.log_every_n_steps, save_summaries_secs=flags.save_summaries_secs,
                save_interval_secs=0,
                sync_optimizer=optimizer if flags.sync_replicas else None,
                session_config=precision.session_config(_compute_dtype(flags)))
        except tf.errors.DataLossError as error:
            raise ValueError(tfrecord_check.damage_message(input_pipeline.list_shards(dataset), error)) from error
    return final_loss
