"""The data side imports light: neither torch nor transformers loads when it is imported.

Each check runs in a fresh interpreter (this test process has torch loaded already).
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("torch", "transformers")
PACKAGE_DIR = os.path.join(ROOT, "dataset_scripts")
# every module of the data side (readers, motifs, motif_scan, finetuning_data, pretraining_build, build, cli, tasks, ...)
DATA_MODULES = ["dataset_scripts"] + [
    f"dataset_scripts.{name[:-3]}" for name in sorted(os.listdir(PACKAGE_DIR)) if name.endswith(".py") and name != "__init__.py"
]


def test_the_list_holds_the_data_side():
    for module in ("readers", "motifs", "motif_scan", "finetuning_data", "pretraining_build", "pretraining_card", "pretraining_load", "build", "cli"):
        assert f"dataset_scripts.{module}" in DATA_MODULES


# Imports each module in turn; after each, names the heavy packages that are now loaded.
PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    heavy = [h for h in {heavy!r} if h in sys.modules]
    if heavy:
        print(f"importing {{name}} loaded {{', '.join(heavy)}}")
        sys.exit(1)
"""


def _import_in_fresh_python(*modules: str, path: str = "") -> subprocess.CompletedProcess:
    code = PROBE.format(heavy=HEAVY)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, path, os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_data_side_imports_without_torch_or_transformers():
    if _import_in_fresh_python(*DATA_MODULES).returncode == 0:
        return
    # one interpreter per module, so each culprit is named (not only the first module that imports it)
    culprits = []
    for module in DATA_MODULES:
        result = _import_in_fresh_python(module)
        if result.returncode != 0:
            culprits.append(result.stdout.strip() or f"{module}: import failed\n{result.stderr[-2000:]}")
    assert not culprits, "the data side must import without torch / transformers:\n" + "\n".join(culprits)


def test_the_probe_names_the_module_that_pulls_in_a_heavy_package(tmp_path):
    (tmp_path / "transformers.py").write_text("")  # a stand-in: the real one takes seconds to import
    (tmp_path / "heavy_module.py").write_text("import transformers\n")
    result = _import_in_fresh_python("dataset_scripts.readers", "heavy_module", path=str(tmp_path))
    assert result.returncode == 1 and result.stdout.strip() == "importing heavy_module loaded transformers", result
