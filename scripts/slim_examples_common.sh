# Sourced by upstream TF-Slim's example scripts (finetune_*_on_flowers.sh, train_*_on_*.sh).
# Runs the steps from the repository root with its Python, and fetches pretrained checkpoints:
# the .ckpt already in the folder, else its tarball put there by hand (offline), else a download.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
# IMAGE_SIZE (optional) trains and evaluates at that size instead of the network's default.
size_flags() { [ -z "${IMAGE_SIZE:-}" ] || echo "--$1_image_size=$IMAGE_SIZE"; }

# fetch_checkpoint NAME TARBALL_URL FOLDER: makes sure FOLDER/NAME.ckpt exists.
fetch_checkpoint() {
  local name=$1 url=$2 folder=$3
  if [ -f "$folder/$name.ckpt" ] || [ -f "$folder/$name.ckpt.index" ]; then return 0; fi
  mkdir -p "$folder"
  local tarball
  tarball=$("$PYTHON" -m datasets.downloads "$url" "$folder")
  tar -xzf "$tarball" -C "$folder"
}
