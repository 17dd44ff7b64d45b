#!/usr/bin/env bash
# Upstream TF-Slim's example: trains LeNet on MNIST from scratch and evaluates it on the test split.
# Offline, put MNIST's four *-ubyte.gz files into DATASET_DIR first.
# Environment (defaults in brackets): TRAIN_DIR [/tmp/lenet-model], DATASET_DIR [/tmp/mnist],
# TRAIN_STEPS [20000], BATCH_SIZE [50].
source "$(dirname "$0")/slim_examples_common.sh"
TRAIN_DIR=${TRAIN_DIR:-/tmp/lenet-model}
DATASET_DIR=${DATASET_DIR:-/tmp/mnist}

"$PYTHON" download_and_convert_data.py --dataset_name=mnist --dataset_dir="$DATASET_DIR"

"$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR" --dataset_name=mnist --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=lenet --preprocessing_name=lenet \
  --max_number_of_steps="${TRAIN_STEPS:-20000}" --batch_size="${BATCH_SIZE:-50}" --learning_rate=0.01 \
  --save_interval_secs=60 --save_summaries_secs=60 --log_every_n_steps=100 --optimizer=sgd \
  --learning_rate_decay_type=fixed --weight_decay=0

"$PYTHON" eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" --eval_dir="$TRAIN_DIR" --dataset_name=mnist \
  --dataset_split_name=test --dataset_dir="$DATASET_DIR" --model_name=lenet
