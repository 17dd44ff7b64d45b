#!/usr/bin/env bash
# Upstream TF-Slim's example: fine-tunes the ImageNet ResNet V1 50 on the flowers photos.
#   1. fetches the pretrained checkpoint and the flowers photos (offline: put resnet_v1_50_2016_08_28.tar.gz
#      into PRETRAINED_CHECKPOINT_DIR and flower_photos.tgz into DATASET_DIR first) and converts the photos;
#   2. trains the new logits layer, then evaluates on the validation split;
#   3. trains all layers from there, then evaluates again.
# Environment (defaults in brackets): PRETRAINED_CHECKPOINT_DIR [/tmp/checkpoints],
# TRAIN_DIR [/tmp/flowers-models/resnet_v1_50], DATASET_DIR [/tmp/flowers], LOGITS_STEPS [3000],
# ALL_LAYERS_STEPS [1000], BATCH_SIZE [32], IMAGE_SIZE [the network's].
source "$(dirname "$0")/slim_examples_common.sh"
PRETRAINED_CHECKPOINT_DIR=${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}
TRAIN_DIR=${TRAIN_DIR:-/tmp/flowers-models/resnet_v1_50}
DATASET_DIR=${DATASET_DIR:-/tmp/flowers}

fetch_checkpoint resnet_v1_50 http://download.tensorflow.org/models/resnet_v1_50_2016_08_28.tar.gz \
  "$PRETRAINED_CHECKPOINT_DIR"
"$PYTHON" download_and_convert_data.py --dataset_name=flowers --dataset_dir="$DATASET_DIR"

common=(--dataset_name=flowers --dataset_dir="$DATASET_DIR" --model_name=resnet_v1_50)
train=("${common[@]}" --dataset_split_name=train --batch_size="${BATCH_SIZE:-32}" --save_interval_secs=60
       --save_summaries_secs=60 --log_every_n_steps=100 --optimizer=rmsprop --weight_decay=0.00004 $(size_flags train))
evaluate=("${common[@]}" --dataset_split_name=validation $(size_flags eval))

"$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR" "${train[@]}" \
  --checkpoint_path="$PRETRAINED_CHECKPOINT_DIR/resnet_v1_50.ckpt" \
  --checkpoint_exclude_scopes=resnet_v1_50/logits --trainable_scopes=resnet_v1_50/logits \
  --max_number_of_steps="${LOGITS_STEPS:-3000}" --learning_rate=0.01
"$PYTHON" eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" --eval_dir="$TRAIN_DIR" "${evaluate[@]}"

"$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR/all" "${train[@]}" --checkpoint_path="$TRAIN_DIR" \
  --max_number_of_steps="${ALL_LAYERS_STEPS:-1000}" --learning_rate=0.001
"$PYTHON" eval_image_classifier.py --checkpoint_path="$TRAIN_DIR/all" --eval_dir="$TRAIN_DIR/all" "${evaluate[@]}"
