"""The packages import only downward: each may use those listed under it here and no other of ours.

Every import counts, a deferred one inside a function too. The scripts at the top level may use
everything; nothing of ours imports them.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = {"slim_compat", "utils"}
ALLOWED = {
    "utils": {"slim_compat"},
    "slim_compat": {"utils"},
    "fundus": BASE,
    "data_utils": BASE | {"fundus"},
    "dicom_tools": BASE,
    "nets": BASE,
    "preprocessing": BASE | {"fundus"},
    "deployment": BASE,
    "datasets": BASE | {"fundus", "data_utils"},
    "training": BASE | {"datasets", "deployment", "nets", "preprocessing"},
    "grading": {"utils"},
    "inference": BASE | {"fundus", "data_utils", "datasets", "nets", "preprocessing", "grading"},
    "reporting": BASE | {"datasets", "grading", "inference"},
    "serving": BASE | {"fundus", "data_utils", "nets", "inference", "grading"},
    "evaluation": BASE | {"fundus", "data_utils", "datasets", "nets", "grading", "inference", "reporting"},
}


def _module_files(name):
    folder = ROOT / name
    return sorted(folder.glob("*.py")) if folder.is_dir() else [ROOT / f"{name}.py"]


def _our_imports(path):
    """Yields (top-level package of ours, line) for every import in `path`."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in ALLOWED:
                yield top, node.lineno


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {top}"
             for path in _module_files(package) for top, line in _our_imports(path)
             if top != package and top not in ALLOWED[package]]
    assert not wrong, "\n".join(wrong)


def test_every_package_of_ours_has_its_place_in_the_layers():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(ALLOWED), sorted(packages - set(ALLOWED))


def test_grading_is_plain_numpy_and_runs_without_tensorflow():
    imported = {name.split(".")[0] for path in _module_files("grading")
                for node in ast.walk(ast.parse(path.read_text()))
                for name in ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                             [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])}
    assert not imported & {"tensorflow", "tf_slim", "slim_compat"}, sorted(imported)
