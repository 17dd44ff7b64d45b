#!/usr/bin/env bash
# Upstream TF-Slim's example: trains CifarNet on CIFAR-10 from scratch and evaluates it on the test split.
# Offline, put cifar-10-python.tar.gz into DATASET_DIR first.
# Environment (defaults in brackets): TRAIN_DIR [/tmp/cifarnet-model], DATASET_DIR [/tmp/cifar10],
# TRAIN_STEPS [100000], BATCH_SIZE [128].
source "$(dirname "$0")/slim_examples_common.sh"
TRAIN_DIR=${TRAIN_DIR:-/tmp/cifarnet-model}
DATASET_DIR=${DATASET_DIR:-/tmp/cifar10}

"$PYTHON" download_and_convert_data.py --dataset_name=cifar10 --dataset_dir="$DATASET_DIR"

"$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR" --dataset_name=cifar10 --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name=cifarnet --preprocessing_name=cifarnet \
  --max_number_of_steps="${TRAIN_STEPS:-100000}" --batch_size="${BATCH_SIZE:-128}" --save_interval_secs=120 \
  --save_summaries_secs=120 --log_every_n_steps=100 --optimizer=sgd --learning_rate=0.1 \
  --learning_rate_decay_factor=0.1 --num_epochs_per_decay=200 --weight_decay=0.004

"$PYTHON" eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" --eval_dir="$TRAIN_DIR" --dataset_name=cifar10 \
  --dataset_split_name=test --dataset_dir="$DATASET_DIR" --model_name=cifarnet
