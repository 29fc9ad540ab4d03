"""The task registry: one declaration drives reading, features, metrics, cards and the CLI."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dataset_scripts.readers import DataFormatError
from dataset_scripts.tasks import SEQUENCE_REGIONS, Task, get_task, list_tasks, register_task
from modeling_genebert.cards.finetune_card import task_title
from modeling_genebert.downstream.metrics import build_compute_metrics
from modeling_genebert.finetuning import finetune

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "finetune"


def test_builtin_tasks_are_registered_in_order():
    assert list_tasks()[:6] == ["promoter", "tfbs", "disease", "splice", "generic", "variant_pair"]
    assert get_task("splice").metrics == ("classification", "splice") and get_task("splice").num_labels == 3
    assert task_title("promoter") == "promoter classification"
    assert task_title("gone") == "gone"  # an old results file naming a task no longer registered
    with pytest.raises(ValueError, match=r"unknown task 'nope'; registered tasks: promoter, tfbs"):
        get_task("nope")


def test_a_declaration_is_checked():
    with pytest.raises(ValueError, match="no default feature builder"):
        Task("odd", "odd inputs", inputs=("a", "b", "c"))
    with pytest.raises(ValueError, match="3 label names for 2 classes"):
        Task("bad", "bad", num_labels=2, label_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="already registered"):
        register_task(Task("promoter", "again"))


def test_list_tasks_prints_one_name_per_line(capsys):
    assert finetune.main(["--list_tasks"]) == 0
    assert capsys.readouterr().out.split() == list_tasks()


def test_pair_task_reads_both_columns_and_tokenizes_a_pair(tmp_path):
    from modeling_genebert import GeneBertTokenizer

    csv = tmp_path / "pairs.csv"
    csv.write_text("ref_sequence,alt_sequence,label\nACGTACGTAC,ACGTTCGTAC,1\nGGGCCCAAAT,GGGCACAAAT,0\n")
    task = get_task("variant_pair")
    data = task.read(str(csv))
    assert data["train"].column_names == ["ref_sequence", "alt_sequence", "label"]
    tokenizer = GeneBertTokenizer(k=3)
    features = task.features(data["train"][:2], tokenizer, 64)
    ids, segments = features["input_ids"][0], features["token_type_ids"][0]
    sep = tokenizer.sep_token_id
    assert ids.count(sep) == 2 and segments.count(0) == 1 + 8 + 1 and segments.count(1) == 8 + 1
    assert tokenizer.decode(ids[1:9]) == "ACGTACGTAC" and tokenizer.decode(ids[10:18]) == "ACGTTCGTAC"
    csv.write_text("ref_sequence,label\nACGT,1\n")
    with pytest.raises(DataFormatError, match=r"pairs.csv:1: no column 'alt_sequence'"):
        task.read(str(csv))


def test_sequence_region_task_passes_its_own_matrix():
    from modeling_genebert import GeneBertTokenizer

    task = Task("with_regions", "sequence + given regions", inputs=SEQUENCE_REGIONS)
    batch = {"sequence": ["ACGTACGT"], "region_matrix": [[[1.0, 2.0]]], "label": [0]}
    out = task.features(batch, GeneBertTokenizer(k=3), 32)
    assert out["region_matrix"] == [[[1.0, 2.0]]] and len(out["input_ids"][0]) == 6 + 2
    with pytest.raises(ValueError, match="carry their own region_matrix"):
        task.features(batch, GeneBertTokenizer(k=3), 32, region_builder=object())


def test_metric_sets_come_from_the_task():
    import numpy as np
    from transformers import EvalPrediction

    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    prediction = EvalPrediction(predictions=logits, label_ids=np.array([0, 1, 2]))
    plain = build_compute_metrics(metric_sets=get_task("generic").metrics)(prediction)
    splice = build_compute_metrics(metric_sets=get_task("splice").metrics, neither_label=2)(prediction)
    assert "topk_accuracy" not in plain and splice["topk_accuracy"] == 1.0 and splice["mcc"] == plain["mcc"] == 1.0
    with pytest.raises(ValueError, match=r"unknown metric set\(s\) \['nope'\]"):
        build_compute_metrics(metric_sets=("nope",))


def test_empty_training_file_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "train.csv"
    empty.write_text("sequence,label\n")
    assert finetune.main(["--task", "promoter", "--train_file", str(empty), "--output_dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "train.csv: no examples" in err and "Traceback" not in err


def _docs_block(page: str, heading: str) -> str:
    text = (ROOT / page).read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_docs_adding_a_task_example_runs(tmp_path):
    """The "Adding a task" example of docs/finetuning.md, run as written in a fresh interpreter."""
    code = _docs_block("docs/finetuning.md", "Adding a task")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["task"] == "ctcf_allele" and summary["labels"] == {"0": "alt_binds", "1": "ref_binds"}
    assert set(summary["results"]["validation"]) >= {"mcc", "f1", "roc_auc"}
