#!/usr/bin/env bash
# The book's pipeline for diabetic-retinopathy grading with Inception V3 (or a MobileNet), end to end.
#
# Usage (from anywhere):
#   scripts/finetune_inception_v3_on_diabetic.sh                    # CPU demo on an embedded sample
#   scripts/finetune_inception_v3_on_diabetic.sh KAGGLE_DIR [--checkpoint_path=CKPT]
#
# With KAGGLE_DIR (trainLabels.csv, train/*.jpeg, optionally test/*.jpeg) it runs the book's steps:
#   1. prepare: patient split, preprocessing, TFRecords under KAGGLE_DIR/tfrecords;
#   2. fine-tune the new Logits (Inception's also AuxLogits) on top of the ImageNet checkpoint (CHECKPOINT_PATH or
#      --checkpoint_path; otherwise downloaded once into OUTPUT_DIR/checkpoints when the network allows);
#   3. optionally (FINETUNE_ALL_LAYERS=1) fine-tune all layers from step 2's result;
#   4. evaluate on the validation split (QWK, referable-DR figures, confusion matrix);
#   5. write the Kaggle submission for the blind test split, if there is one.
# Outputs go under OUTPUT_DIR (default KAGGLE_DIR/MODEL).
#
# MODEL [inception_v3] picks the network: mobilenet_v2, mobilenet_v3_small or mobilenet_v3_large train a
# camera-sized grader the same way (from their own ImageNet checkpoints, new Logits only; default size 224 in
# the book's recipe). TFLITE=float32|float16|int8 also exports the trained model to OUTPUT_DIR/grader_TFLITE.tflite
# (serving/tflite_export.py; int8 calibrates on the training images).
# Training computes in mixed bfloat16 on a machine without a GPU whose CPU has AVX512-BF16 or AMX (the demo:
# same quality within its run-to-run spread, about twice as fast), else in float32, and so do MobileNets (slower
# in bfloat16); PRECISION=float32 (or bfloat16) forces one.
#
# Without an argument it writes a small Kaggle-layout sample (skimage's real fundus photo with
# grade-dependent lesions) into OUTPUT_DIR (default demo_output/) and runs the same steps at
# CPU-friendly sizes, from random initialisation since there is no ImageNet checkpoint here.
# It evaluates the untrained model (the step-0 checkpoint) and the trained one, and ends with their
# QWK next to the majority-class baseline's. Environment knobs (demo defaults in brackets):
# NUM_PATIENTS [100], VALIDATION_SIZE [60], TRAIN_STEPS [300], IMAGE_SIZE [128], BATCH_SIZE [16],
# GRADE_DISTRIBUTION [sample; kaggle draws Kaggle's 73.5/6.9/15.1/2.5/2.0 %, or five weights],
# SAMPLE_SEED [0] (another seed draws other patients).
# CHECKPOINT_PATH=none with KAGGLE_DIR trains the same way on that folder: from random
# initialisation with the demo's settings and sizes (VALIDATION_SIZE [60]), for small sets and CPUs.
# With KAGGLE_DIR: VALIDATION_SIZE [5126], IMAGE_SIZE [299], BATCH_SIZE [32], LOGITS_STEPS [5000],
# FINETUNE_ALL_LAYERS [0], ALL_LAYERS_STEPS [5000], SEED [unset].
# RECIPE=kaggle swaps the book's recipe for the Kaggle winners' (docs/train.md, "Kaggle-mode recipe"):
# Graham-normalised images at IMAGE_SIZE [512], a grade regression head next to the softmax,
# balanced sampling, all layers fine-tuned after the logits warm-up, QWK thresholds and the two-eye
# fusion fitted on validation, and a submission graded with both. From random initialisation (the
# demo, CHECKPOINT_PATH=none) it keeps the demo's sizes and what helped there: the regression head,
# balanced sampling, a learning rate falling to ~0 over the run, fitted grading (not Graham's images).
# The model's own grades undo the balanced sampling: probabilities under the training split's grade
# frequencies (Bayes' rule), their expected grade cut where the training images get those frequencies.
# The summary prints a WARNING when the trained model's own grades are less accurate than the baseline.
set -euo pipefail

# Paths given relative to the caller's folder; the steps below run from the repository root.
absolute() { case "$1" in /*|"") echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# Per network: its name in the log, the ImageNet checkpoint (upstream TF-Slim's archive and the checkpoint in it),
# the new layers a fine-tune trains from scratch, and the book's default image size. All of them take images in
# [-1, 1], as the fundus preprocessing gives them (upstream preprocesses them all as Inception does).
MODEL=${MODEL:-inception_v3}
case "$MODEL" in
  inception_v3) MODEL_TITLE="Inception V3" NEW_LAYERS=InceptionV3/Logits,InceptionV3/AuxLogits BOOK_SIZE=299
    CHECKPOINT_URL=http://download.tensorflow.org/models/inception_v3_2016_08_28.tar.gz
    CHECKPOINT_FILE=inception_v3.ckpt ;;
  mobilenet_v2) MODEL_TITLE="MobileNet V2" NEW_LAYERS=MobilenetV2/Logits BOOK_SIZE=224
    CHECKPOINT_URL=https://storage.googleapis.com/mobilenet_v2/checkpoints/mobilenet_v2_1.0_224.tgz
    CHECKPOINT_FILE=mobilenet_v2_1.0_224.ckpt ;;
  mobilenet_v3_small) MODEL_TITLE="MobileNet V3 small" NEW_LAYERS=MobilenetV3/Logits BOOK_SIZE=224
    CHECKPOINT_URL=https://storage.googleapis.com/mobilenet_v3/checkpoints/v3-small_224_1.0_float.tgz
    CHECKPOINT_FILE=v3-small_224_1.0_float/ema/model-388500 ;;
  mobilenet_v3_large) MODEL_TITLE="MobileNet V3 large" NEW_LAYERS=MobilenetV3/Logits BOOK_SIZE=224
    CHECKPOINT_URL=https://storage.googleapis.com/mobilenet_v3/checkpoints/v3-large_224_1.0_float.tgz
    CHECKPOINT_FILE=v3-large_224_1.0_float/ema/model-540000 ;;
  *) echo "$0: MODEL must be inception_v3, mobilenet_v2, mobilenet_v3_small or mobilenet_v3_large, not $MODEL" >&2
     exit 2 ;;
esac
case "${TFLITE:-}" in
  ""|float32|float16|int8) ;;
  *) echo "$0: TFLITE must be float32, float16 or int8, not $TFLITE" >&2; exit 2 ;;
esac
case "${PRECISION:-}" in
  ""|float32|bfloat16) ;;
  *) echo "$0: PRECISION must be float32 or bfloat16, not $PRECISION" >&2; exit 2 ;;
esac
DATASET_DIR=""
CHECKPOINT_PATH=${CHECKPOINT_PATH:-}
for argument in "$@"; do
  case "$argument" in
    --checkpoint_path=*) CHECKPOINT_PATH=${argument#*=} ;;
    -h|--help) awk 'NR > 1 && /^[^#]/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$0: unknown option $argument (see --help)" >&2; exit 2 ;;
    *) DATASET_DIR=$argument ;;
  esac
done
DATASET_DIR=$(absolute "$DATASET_DIR")
[ "$CHECKPOINT_PATH" = none ] || CHECKPOINT_PATH=$(absolute "$CHECKPOINT_PATH")
[ -z "${OUTPUT_DIR:-}" ] || OUTPUT_DIR=$(absolute "$OUTPUT_DIR")
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi

SECONDS=0
stage() { echo; echo "=== [$(date +%H:%M:%S), ${SECONDS}s] $*"; }

# Downloads and unpacks the ImageNet checkpoint into $1 unless it is there; prints its path.
fetch_imagenet_checkpoint() {
  local folder=$1
  if [ ! -f "$folder/$CHECKPOINT_FILE.index" ] && [ ! -f "$folder/$CHECKPOINT_FILE" ]; then
    mkdir -p "$folder"
    echo "Downloading $CHECKPOINT_URL ..." >&2
    if ! "$PYTHON" -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
        "$CHECKPOINT_URL" "$folder/$MODEL.tar.gz.part" 2>/dev/null; then
      rm -f "$folder/$MODEL.tar.gz.part"
      echo "$0: cannot download the ImageNet checkpoint ($CHECKPOINT_URL)." >&2
      echo "  Download and unpack it where the network allows (tar -xzf gives $CHECKPOINT_FILE), then" >&2
      echo "  rerun with CHECKPOINT_PATH=/path/to/$CHECKPOINT_FILE or --checkpoint_path=/path/to/$CHECKPOINT_FILE" >&2
      echo "  (or unpack it into $folder). CHECKPOINT_PATH=none trains from random initialisation" >&2
      echo "  instead, with the CPU demo's settings (for small sets only)." >&2
      exit 1
    fi
    tar -xzf "$folder/$MODEL.tar.gz.part" -C "$folder"
    rm "$folder/$MODEL.tar.gz.part"
  fi
  echo "$folder/$CHECKPOINT_FILE"
}

# SAMPLE: the data is the generated sample; SCRATCH: training starts from random initialisation.
if [ -z "$DATASET_DIR" ]; then
  SAMPLE=1 SCRATCH=1
  OUTPUT_DIR=${OUTPUT_DIR:-demo_output}
  NUM_PATIENTS=${NUM_PATIENTS:-100}
  GRADE_DISTRIBUTION=${GRADE_DISTRIBUTION:-sample}
  SAMPLE_SEED=${SAMPLE_SEED:-0}
  # The folder is named after what draws the sample, so that another draw never reuses a stale one.
  DATASET_DIR=$OUTPUT_DIR/kaggle_sample_$NUM_PATIENTS
  [ "$GRADE_DISTRIBUTION" = sample ] || DATASET_DIR=${DATASET_DIR}_${GRADE_DISTRIBUTION//,/-}
  [ "$SAMPLE_SEED" = 0 ] || DATASET_DIR=${DATASET_DIR}_seed$SAMPLE_SEED
  if [ ! -f "$DATASET_DIR/trainLabels.csv" ]; then
    stage "Writing the embedded sample: $NUM_PATIENTS patients (+ test patients) into $DATASET_DIR"
    "$PYTHON" -m datasets.kaggle_sample --output_dir="$DATASET_DIR" --num_patients="$NUM_PATIENTS" --with_test \
      --grade_distribution="$GRADE_DISTRIBUTION" --seed="$SAMPLE_SEED"
  fi
else
  SAMPLE=0 SCRATCH=0
  [ "$CHECKPOINT_PATH" != none ] || SCRATCH=1
  [ -f "$DATASET_DIR/trainLabels.csv" ] || { echo "$0: $DATASET_DIR has no trainLabels.csv (Kaggle layout expected)" >&2; exit 1; }
  OUTPUT_DIR=${OUTPUT_DIR:-$DATASET_DIR/$MODEL}
fi
if [ "$SCRATCH" = 1 ]; then
  VALIDATION_SIZE=${VALIDATION_SIZE:-60}
  TRAIN_STEPS=${TRAIN_STEPS:-300}
  IMAGE_SIZE=${IMAGE_SIZE:-128}
  BATCH_SIZE=${BATCH_SIZE:-16}
else
  VALIDATION_SIZE=${VALIDATION_SIZE:-5126}
  if [ "${RECIPE:-book}" = kaggle ]; then IMAGE_SIZE=${IMAGE_SIZE:-512}; else IMAGE_SIZE=${IMAGE_SIZE:-$BOOK_SIZE}; fi
  BATCH_SIZE=${BATCH_SIZE:-32}
  LOGITS_STEPS=${LOGITS_STEPS:-5000}
  ALL_LAYERS_STEPS=${ALL_LAYERS_STEPS:-5000}
  FINETUNE_ALL_LAYERS=${FINETUNE_ALL_LAYERS:-0}
  [ "${RECIPE:-book}" != kaggle ] || FINETUNE_ALL_LAYERS=1
  if [ -z "$CHECKPOINT_PATH" ]; then
    CHECKPOINT_PATH=$(fetch_imagenet_checkpoint "$OUTPUT_DIR/checkpoints")
  fi
fi
TFRECORDS=$DATASET_DIR/tfrecords
# Recipe-specific flags: conversion, training (both stages), evaluation and prediction.
prepare_extra=() train_extra=() eval_extra=() predict_extra=()
[ -z "${SEED:-}" ] || train_extra+=(--seed="$SEED")
# Unset, training computes in bfloat16 on a CPU that has it (train_image_classifier.py says which in its log).
case "${PRECISION:-}" in
  float32) train_extra+=(--nomixed_precision) ;;
  bfloat16) train_extra+=(--mixed_precision --mixed_precision_dtype=bfloat16) ;;
esac
case "${RECIPE:-book}" in
  book) ;;
  kaggle)
    train_extra+=(--regression_loss=smooth_l1 --balanced_sampling)
    eval_extra=(--fit_grading)
    predict_extra=(--combine_eyes)
    if [ "$SCRATCH" = 0 ]; then
      # Graham's normalisation did not help from random initialisation on the sample (docs/results.md).
      TFRECORDS=$DATASET_DIR/tfrecords_graham
      prepare_extra=(--graham)
    fi ;;
  *) echo "$0: RECIPE must be book or kaggle, not ${RECIPE}" >&2; exit 2 ;;
esac
TRAIN_DIR=$OUTPUT_DIR/train
EVAL_DIR=$OUTPUT_DIR/eval
mkdir -p "$OUTPUT_DIR"

if [ "$SAMPLE" = 1 ]; then
  # A fresh demo each time, with the sizes asked for: prepare skips what a previous run converted,
  # and slim would resume from a checkpoint left in the train dir. A Kaggle run keeps both, so that
  # rerunning it after an interruption resumes where it stopped.
  rm -rf "$DATASET_DIR/processed_images" "$TFRECORDS" "$TRAIN_DIR" "$EVAL_DIR"
fi

stage "Prepare: preprocessing $DATASET_DIR into $TFRECORDS"
"$PYTHON" download_and_convert_data.py --dataset_name=diabetic --dataset_dir="$DATASET_DIR" \
  --validation_size="$VALIDATION_SIZE" --image_size="$IMAGE_SIZE" "${prepare_extra[@]}"

stage "Sample grid of the preprocessed training images"
"$PYTHON" -m datasets.sample_grid --dataset_dir="$TFRECORDS" --output="$OUTPUT_DIR/sample_grid.png" \
  --tile_size="$IMAGE_SIZE"

common=(--dataset_name=diabetic --dataset_dir="$TFRECORDS" --model_name="$MODEL" --preprocessing_name=fundus)

if [ "$SCRATCH" = 1 ]; then
  schedule=(--learning_rate_decay_type=fixed) schedule_text="learning rate 0.001"
  if [ "${RECIPE:-book}" = kaggle ]; then
    # The learning rate falls linearly to ~0 over the run: the last steps settle instead of jumping.
    train_images=$(sed -n 's/^train://p' "$TFRECORDS/split_sizes.txt")
    schedule=(--learning_rate_decay_type=polynomial --end_learning_rate=0.00001
              --num_epochs_per_decay="$(awk "BEGIN { print $TRAIN_STEPS * $BATCH_SIZE / $train_images }")")
    schedule_text="learning rate 0.001 falling linearly to 0.00001"
  fi
  stage "Train $MODEL_TITLE from random initialisation: $TRAIN_STEPS steps of $BATCH_SIZE images at ${IMAGE_SIZE}px, $schedule_text"
  # Settings measured for a short run (docs/train.md, "The demo"): batch-norm decay 0.9 lets the moving
  # statistics used at evaluation follow the weights within a few hundred steps (0.9997 would not);
  # Adam needs its usual epsilon, since upstream's --opt_epsilon=1.0 (meant for RMSProp) turns it
  # into a slow momentum SGD.
  "$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR" --dataset_split_name=train "${common[@]}" \
    --train_image_size="$IMAGE_SIZE" --batch_size="$BATCH_SIZE" --max_number_of_steps="$TRAIN_STEPS" \
    --batch_norm_decay=0.9 --optimizer=adam --learning_rate=0.001 --opt_epsilon=1e-8 \
    "${schedule[@]}" --log_every_n_steps=10 --save_summaries_secs=30 "${train_extra[@]}"

  if [ -f "$TRAIN_DIR/model.ckpt-0.index" ]; then
    stage "Evaluate the untrained model (step-0 checkpoint) on validation"
    "$PYTHON" eval_image_classifier.py --alsologtostderr --checkpoint_path="$TRAIN_DIR/model.ckpt-0" \
      --dataset_split_name=validation "${common[@]}" --eval_image_size="$IMAGE_SIZE" --eval_dir="$EVAL_DIR" \
      --predictions_file="$EVAL_DIR/predictions_untrained.csv"
  else
    rm -f "$EVAL_DIR/predictions_untrained.csv"
    echo "(no step-0 checkpoint left in $TRAIN_DIR, a resumed run: the untrained model is not evaluated)"
  fi
else
  stage "Fine-tune ${NEW_LAYERS//,/ and } from $CHECKPOINT_PATH: $LOGITS_STEPS steps"
  "$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR" --dataset_split_name=train "${common[@]}" \
    --checkpoint_path="$CHECKPOINT_PATH" \
    --checkpoint_exclude_scopes="$NEW_LAYERS,GradeRegression" \
    --trainable_scopes="$NEW_LAYERS,GradeRegression" \
    --train_image_size="$IMAGE_SIZE" --batch_size="$BATCH_SIZE" --max_number_of_steps="$LOGITS_STEPS" \
    --optimizer=rmsprop --learning_rate=0.01 --learning_rate_decay_type=fixed --weight_decay=0.00004 \
    "${train_extra[@]}"
  if [ "$FINETUNE_ALL_LAYERS" = 1 ]; then
    stage "Fine-tune all layers from the Logits run: $ALL_LAYERS_STEPS steps"
    "$PYTHON" train_image_classifier.py --train_dir="$TRAIN_DIR/all" --dataset_split_name=train "${common[@]}" \
      --checkpoint_path="$TRAIN_DIR" \
      --train_image_size="$IMAGE_SIZE" --batch_size="$BATCH_SIZE" --max_number_of_steps="$ALL_LAYERS_STEPS" \
      --optimizer=rmsprop --learning_rate=0.0001 --learning_rate_decay_type=fixed --weight_decay=0.00004 \
      "${train_extra[@]}"
    TRAIN_DIR=$TRAIN_DIR/all
  fi
fi

if [ "${RECIPE:-book}" = kaggle ]; then
  # Balanced sampling trained the model on grades drawn alike; eval, predict and export grade it under the
  # training split's own frequencies (grading/class_prior.py), cut where the training images get them.
  stage "Fit the model's grade cuts on the training split (its own grade frequencies; no validation label)"
  "$PYTHON" -m evaluation.frequency_cuts --checkpoint_path="$TRAIN_DIR" --dataset_split_name=train "${common[@]}" \
    --eval_image_size="$IMAGE_SIZE"
fi

stage "Evaluate the trained model on validation"
if [ ${#eval_extra[@]} -gt 0 ]; then
  # The model's own grades first (a regression head's output rounded), then with the grading
  # fitted on this same split: the summary shows both, the second flattered by its fit.
  "$PYTHON" eval_image_classifier.py --alsologtostderr --checkpoint_path="$TRAIN_DIR" \
    --dataset_split_name=validation "${common[@]}" --eval_image_size="$IMAGE_SIZE" --eval_dir="$EVAL_DIR/unfitted" \
    --predictions_file="$EVAL_DIR/predictions_unfitted.csv"
fi
"$PYTHON" eval_image_classifier.py --alsologtostderr --checkpoint_path="$TRAIN_DIR" \
  --dataset_split_name=validation "${common[@]}" --eval_image_size="$IMAGE_SIZE" --eval_dir="$EVAL_DIR" \
  --predictions_file="$EVAL_DIR/predictions.csv" --report_dir="$EVAL_DIR/report" "${eval_extra[@]}"

if grep -q '^test:' "$TFRECORDS/split_sizes.txt" 2>/dev/null; then
  stage "Predict the blind test split into $OUTPUT_DIR/submission.csv"
  "$PYTHON" predict_image_classifier.py --checkpoint_path="$TRAIN_DIR" --dataset_split_name=test \
    "${common[@]}" --eval_image_size="$IMAGE_SIZE" --submission_file="$OUTPUT_DIR/submission.csv" \
    "${predict_extra[@]}"
fi

if [ -n "${TFLITE:-}" ]; then
  TFLITE_FILE=$OUTPUT_DIR/grader_$TFLITE.tflite
  stage "Export the trained model to TFLite ($TFLITE) for phones and cameras: $TFLITE_FILE"
  "$PYTHON" export_inference_graph.py --checkpoint_path="$TRAIN_DIR" --tflite="$TFLITE_FILE" \
    --tflite_precision="$TFLITE" --dataset_dir="$TFRECORDS"
fi

stage "Summary"
models=(--predictions="trained model=$EVAL_DIR/predictions.csv")
if [ ${#eval_extra[@]} -gt 0 ]; then
  models=(--predictions="trained model=$EVAL_DIR/predictions_unfitted.csv"
          --predictions="+ grading fitted on validation=$EVAL_DIR/predictions.csv")
fi
if [ -f "$EVAL_DIR/predictions_untrained.csv" ]; then
  models=(--predictions="untrained model=$EVAL_DIR/predictions_untrained.csv" "${models[@]}")
fi
# A loud WARNING follows the table when the trained model's own grades are less accurate than the baseline's.
"$PYTHON" -m reporting.baseline --dataset_dir="$TFRECORDS" "${models[@]}" --warn_below_baseline="trained model"
echo
echo "Finished in ${SECONDS}s. Look at the run:"
echo "  tensorboard --logdir $OUTPUT_DIR"
echo "Pictures:"
echo "  $OUTPUT_DIR/sample_grid.png       (preprocessed training images by grade)"
echo "  $EVAL_DIR/confusion_matrix.png  (validation confusion matrix of the trained model)"
echo "  $EVAL_DIR/report/report.html    (screening-trial report: per eye and per patient, with 95 % intervals)"
if [ -n "${TFLITE:-}" ]; then
  echo "TFLite grader (prepared uint8 images in; its metadata in ${TFLITE_FILE}.json):"
  echo "  $TFLITE_FILE  ($(awk -v bytes="$(wc -c < "$TFLITE_FILE")" 'BEGIN { printf "%.2f MB", bytes / 1e6 }'))"
fi
