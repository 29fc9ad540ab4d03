"""examples/release/make_release.py: a pre-training folder becomes a half-precision, Hub-ready release with its GUE results."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import AutoModel

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer

ROOT = Path(__file__).resolve().parents[1]


def _make_release_module():
    spec = importlib.util.spec_from_file_location("make_release", ROOT / "examples" / "release" / "make_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pt") / "final"
    config = GeneBertConfig.from_preset("tiny", num_tfs=8, regions_per_sample=4, num_hidden_layers=1)
    GeneBertForPreTraining(config).save_pretrained(folder)
    GeneBertTokenizer(k=6).save_pretrained(folder)
    (folder / "pretraining_summary.json").write_text(json.dumps({
        "global_step": 300, "train_runtime_s": 720.0, "train_samples": 1000, "after": {"mgm_loss": 5.1}}))
    (folder / "training_args.json").write_text(json.dumps({"per_device_train_batch_size": 16}))
    return folder


def _results(folder: Path, path: Path, mccs: dict[int, float]) -> Path:
    runs = [{"model": "final", "model_path": str(folder), "task": "tf0", "arm": "finetune", "seed": seed,
             "eval_split": "dev", "metrics": {"mcc": mcc}} for seed, mcc in mccs.items()]
    runs.append({"model": "-", "model_path": "", "task": "tf0", "arm": "kmer_lr", "seed": 42, "eval_split": "dev",
                 "metrics": {"mcc": 0.45}})
    rows = [{"model": "final", "task": "tf0", "arm": "finetune", "seed_ensemble": True, "seeds": sorted(mccs),
             "eval_split": "dev", "mcc": {"mean": 0.71}}] if len(mccs) > 1 else []
    path.write_text(json.dumps({"runs": runs, "rows": rows}))
    return path


@pytest.mark.slow
def test_a_release_is_half_precision_documented_and_loads_both_ways(source, tmp_path, capsys):
    release = _make_release_module()
    plain = _results(source, tmp_path / "plain.json", {42: 0.5, 7: 0.6, 13: 0.7})
    region = _results(source, tmp_path / "region.json", {42: 0.65})
    output = tmp_path / "checkpoints" / "genebert-test"
    argv = ["--model", str(source), "--output", str(output), "--name", "genebert-test", "--machine", "a test CPU",
            "--results", f"fine-tuned={plain}", f"fine-tuned, --region_input={region}"]
    info = release.run(argv)

    stored = load_file(output / "model.safetensors")
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.bfloat16}
    assert info["checks"]["package_load_max_diff"] == 0.0 and info["checks"]["remote_code_load_max_diff"] == 0.0
    assert info["checks"]["remote_code_dtype"] == "torch.float32" and info["checks"]["size_mb"] < 25
    assert [p.name for p in output.parent.iterdir()] == ["genebert-test"]  # no staging folder left
    model = AutoModel.from_pretrained(output)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    source_weights = GeneBertForPreTraining.from_pretrained(source).genebert.bert.embeddings.word_embeddings.weight
    assert torch.equal(model.get_input_embeddings().weight, source_weights.to(torch.bfloat16).float())

    card = ModelCard.load(output / "README.md")
    assert card.text.lstrip().startswith("# genebert-test")
    assert "| tf0 | GeneBERT, fine-tuned | dev | 3 | 0.600 ± 0.100 |" in card.text
    assert "| tf0 | GeneBERT, fine-tuned, --region_input | dev | 1 | 0.650 ± 0.000 |" in card.text
    assert "| tf0 | 6-mer logistic regression | dev | 1 | 0.450 ± 0.000 |" in card.text
    assert "| tf0 | GeneBERT, fine-tuned, ensemble of the seeds' models | dev | 3 | 0.710 |" in card.text
    assert "300 steps of 16 samples (1,000 training samples) in 0.20 hours of wall time on one core of a test CPU" in card.text
    assert card.text.count("## Limitations") == 1 and card.text.index("## Limitations") < card.text.index("## Citation")
    assert card.data.model_name == "genebert-test"
    assert sorted(r.metric_value for r in card.data.eval_results) == [0.6, 0.65]
    assert json.loads((output / "release.json").read_text())["gue"][0]["seeds"] == [42]  # rows sorted by arm

    assert release.main(argv) == 2  # an existing release is not replaced without --overwrite
    assert "exists; give --overwrite" in capsys.readouterr().err
    assert release.main(["--model", str(source)]) == 2
    assert "error: a release needs --output, --name" in capsys.readouterr().err


CHECKPOINT = ROOT / "checkpoints" / "genebert-tiny"


def test_the_released_model_loads_and_answers_as_it_did_when_released():
    """The committed release, through the package: float32 weights, the embeddings recorded at release time."""
    from transformers import AutoTokenizer

    info = json.loads((CHECKPOINT / "release.json").read_text())
    size_mb = sum(p.stat().st_size for p in CHECKPOINT.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= 25, size_mb
    model = AutoModel.from_pretrained(CHECKPOINT).eval()
    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    assert {p.dtype for p in model.parameters()} == {torch.float32} and tokenizer.kmer == 6
    with torch.no_grad():
        out = model(**tokenizer(info["probe"]["sequence"], return_tensors="pt")).last_hidden_state
    expected = torch.tensor(info["probe"]["last_hidden_state_first_values"])
    assert torch.allclose(out.flatten()[:8], expected, atol=1e-5), (out.flatten()[:8], expected)
    card = (CHECKPOINT / "README.md").read_text()
    for heading in ("## Evaluation on GUE", "## Compute", "## How it was made", "## Limitations", "## Citation"):
        assert heading in card, heading
    assert {row["task"] for row in info["gue"]} == {"prom_core_all", "tf0", "tf1", "tf2"}


def test_the_released_remote_code_is_the_packages_own():
    """The release carries the package's modules as they are, not copies that drifted."""
    exported = sorted(CHECKPOINT.glob("*.py"))
    assert {p.name for p in exported} >= {"configuration_genebert.py", "modeling_genebert.py", "tokenization_genebert.py"}
    drifted = [path.name for path in _make_release_module().drifted_code(CHECKPOINT)]
    assert not drifted, (f"{drifted} differ from the package's modules: "
                         "python examples/release/make_release.py --refresh_code checkpoints/genebert-tiny")


def test_the_long_run_report_reads_validations_probes_and_a_reference(tmp_path, capsys):
    """long_run_report: validations from the newest complete checkpoint (a half-written one is skipped), probe MCCs
    from RUN_probes/step-N, the reference's final validation as dashed lines; a missing run is an error, exit 2."""
    spec = importlib.util.spec_from_file_location("long_run_report", ROOT / "examples" / "release" / "long_run_report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    run = tmp_path / "long"
    history = [{"step": 500, "eval_loss": 9.6, "eval_mgm_loss": 7.49, "eval_srm_accuracy": 0.17},
               {"step": 500, "loss": 9.9}, {"step": 1000, "eval_loss": 9.4, "eval_mgm_loss": 7.45, "eval_srm_accuracy": 0.3}]
    (run / "checkpoint-1000").mkdir(parents=True)
    (run / "checkpoint-1000" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    (run / "checkpoint-1500").mkdir()  # killed mid-save: no trainer_state.json
    probe = tmp_path / "long_probes" / "step-1000"
    probe.mkdir(parents=True)
    (probe / "results.json").write_text(json.dumps({"runs": [{"arm": "finetune", "metrics": {"mcc": 0.5}},
                                                             {"arm": "finetune", "metrics": {"mcc": 0.6}}]}))
    reference = tmp_path / "tiny"
    reference.mkdir()
    (reference / "pretraining_summary.json").write_text(json.dumps({"after": {"mgm_loss": 7.4, "srm_accuracy": 0.8}}))
    rows = report.report(run)
    assert [r["step"] for r in rows] == [500, 1000]
    assert rows[1]["eval_mgm_loss"] == 7.45 and rows[1]["probe_mcc"] == pytest.approx(0.55) and "probe_mcc" not in rows[0]
    assert report.reference_values(reference, 0.58) == {"eval_mgm_loss": 7.4, "eval_srm_accuracy": 0.8, "probe_mcc": 0.58}
    figure = tmp_path / "curves.png"
    assert report.main([str(run), "--figure", str(figure), "--reference", str(reference), "--reference_probe", "0.58"]) == 0
    assert figure.stat().st_size > 10_000
    assert "1000 | 9.4000 | 7.4500 |" in capsys.readouterr().out
    assert report.main([str(tmp_path / "nowhere")]) == 2
    assert "error:" in capsys.readouterr().err
