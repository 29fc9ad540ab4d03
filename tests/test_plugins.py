"""Entry-point groups (dataset_scripts/plugins.py): another installed package's tasks and variant scores reach
the registries, and through them the commands that run in their own processes; a wrong object is a clear error."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "variants"

PLUGIN = '''
import numpy as np
from dataset_scripts.tasks import get_task, Task
from modeling_genebert.variants.scores import Column, VariantScore

TASK = Task(**{**get_task("promoter").__dict__, "name": "plugin_promoter", "title": "a plugin's promoter task"})
GC = VariantScore(name="plugin_gc", title="plugin_gc_delta",
                  columns=(Column("plugin_gc_delta", "alt - ref GC count", "positive = more G or C", "bases"),),
                  compute=lambda scorer, batch: {"plugin_gc_delta": np.array(
                      [sum(a.count(b) for b in "GC") - sum(r.count(b) for b in "GC") for r, a in zip(*batch.strands[0][:2])])},
                  needs=())
NOT_A_TASK = "a string"
'''


def install_plugin(site: Path, entries: str) -> dict:
    """A package on PYTHONPATH with a dist-info that declares ``entries`` (what pip writes for an installed package)."""
    site.mkdir(parents=True)
    (site / "genebert_plugin.py").write_text(PLUGIN)
    info = site / "genebert_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: genebert-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entries)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "OMP_NUM_THREADS": "1"}


def run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_an_installed_packages_task_and_score_reach_the_registries_and_the_command(tmp_path):
    env = install_plugin(tmp_path / "site", "[genebert.tasks]\nplugin_promoter = genebert_plugin:TASK\n\n"
                                            "[genebert.variant_scores]\nplugin_gc = genebert_plugin:GC\n")
    listed = run("import json; from dataset_scripts.tasks import list_tasks; "
                 "from modeling_genebert.variants.scores import list_scores; "
                 "print(json.dumps([list_tasks(), list_scores()]))", env)
    assert listed.returncode == 0, listed.stderr
    tasks, scores = json.loads(listed.stdout.strip().splitlines()[-1])
    assert tasks[-1] == "plugin_promoter" and "promoter" in tasks
    assert scores[:5] == ["llr", "embedding", "supervised", "cell_type", "motif"] and scores[-1] == "plugin_gc"

    out = tmp_path / "gc"
    scored = run("import sys; from modeling_genebert.commands.entry_points import score_variants; sys.exit(score_variants(["
                 f"'--ref_fasta', '{DATA / 'ctcf_binding_24.fa'}', '--alt_fasta', '{DATA / 'ctcf_nonbinding_24.fa'}', "
                 f"'--scores', 'plugin_gc', '--output', '{out}', '--no_progress']))", env)
    assert scored.returncode == 0, scored.stderr[-3000:]
    summary = json.loads((tmp_path / "gc.summary.json").read_text())
    assert summary["scores"] == ["plugin_gc"] and "plugin_gc_delta" in summary["legend"]
    assert "plugin_gc_delta" in (tmp_path / "gc.tsv").read_text()


def test_an_entry_point_that_is_not_a_task_is_named(tmp_path):
    env = install_plugin(tmp_path / "site", "[genebert.tasks]\nbroken = genebert_plugin:NOT_A_TASK\n")
    listed = run("from dataset_scripts.tasks import list_tasks; list_tasks()", env)
    assert listed.returncode != 0
    assert "entry point broken = genebert_plugin:NOT_A_TASK in 'genebert.tasks' is not a Task" in listed.stderr
