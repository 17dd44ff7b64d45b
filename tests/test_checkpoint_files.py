"""A late save of an older step must not become the directory's latest checkpoint."""
from slim_compat import tf
from utils import checkpoint_files


def write_checkpoint_state(train_dir, steps_in_save_order):
    for step in steps_in_save_order:
        (train_dir / f"model.ckpt-{step}.index").write_bytes(b"")
    paths = [str(train_dir / f"model.ckpt-{step}") for step in steps_in_save_order]
    tf.train.update_checkpoint_state(str(train_dir), paths[-1], all_model_checkpoint_paths=paths)


def test_a_step_zero_save_finishing_last_is_replaced_by_the_highest_step(tmp_path):
    write_checkpoint_state(tmp_path, [2, 0])
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")
    latest = checkpoint_files.point_latest_at_highest_step(str(tmp_path))
    assert latest.endswith("model.ckpt-2")
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-2")
    assert [path[-1] for path in tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths] == ["0", "2"]


def test_a_state_already_in_order_is_left_alone(tmp_path):
    write_checkpoint_state(tmp_path, [0, 1, 3])
    before = (tmp_path / "checkpoint").read_text()
    assert checkpoint_files.point_latest_at_highest_step(str(tmp_path)).endswith("model.ckpt-3")
    assert (tmp_path / "checkpoint").read_text() == before


def test_a_directory_without_checkpoints_gives_none(tmp_path):
    assert checkpoint_files.point_latest_at_highest_step(str(tmp_path)) is None
