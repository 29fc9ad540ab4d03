"""Generated model cards (``huggingface_hub.ModelCard``) for saved GeneBERT folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from modeling_genebert.region_encoders import describe_region_encoder

CITATION = """@article{mo2021genebert,
  title   = {Multi-modal Self-supervised Pre-training for Regulatory Genome Across Cell Types},
  author  = {Mo, Shentong and Fu, Xi and Hong, Chenyang and Chen, Yizhen and Zheng, Yuxuan and
             Tang, Xiangru and Shen, Zhiqiang and Xing, Eric P and Lan, Yanyan},
  journal = {arXiv preprint arXiv:2110.05231},
  year    = {2021}
}"""

BASE_TAGS = ["genomics", "dna", "regulatory-genome", "genebert", "custom_code", "multi-modal"]


def _usage(auto_class: str) -> str:
    return f"""```python
# With the GeneBERT package installed from its source (`pip install -e .` in a checkout; it is not on PyPI):
# no remote code is executed.
import modeling_genebert  # registers GeneBERT with the Auto classes
from transformers import AutoTokenizer, {auto_class}

tokenizer = AutoTokenizer.from_pretrained("PATH_OR_REPO")
model = {auto_class}.from_pretrained("PATH_OR_REPO")

# Without the package: the folder carries its own code (configuration_genebert.py,
# modeling_genebert.py, region_encoders.py, tokenization_genebert.py); read it before trusting it.
tokenizer = AutoTokenizer.from_pretrained("PATH_OR_REPO", trust_remote_code=True)
model = {auto_class}.from_pretrained("PATH_OR_REPO", trust_remote_code=True)

inputs = tokenizer("ACGTAGGCTTACGATCGATCGGCTAGCTAGCATCGACTAGC", return_tensors="pt")
outputs = model(**inputs)
```"""


def _table(rows: dict[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


def render_model_card(
    *,
    title: str,
    summary: str,
    card_data: ModelCardData,
    auto_class: str,
    sections: dict[str, str],
) -> ModelCard:
    """Assemble a card: YAML metadata, summary, usage with and without the package, sections, citation."""
    body = [f"# {title}", "", summary, "", "## How to use", "", _usage(auto_class), ""]
    for heading, text in sections.items():
        body += [f"## {heading}", "", text.strip(), ""]
    body += ["## Citation", "", "```bibtex", CITATION, "```", ""]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(body))


def pretraining_model_card(
    *,
    config,
    dataset_description: str,
    dataset_name: str | None,
    hyperparameters: dict[str, Any],
    final_metrics: dict[str, float],
    initial_metrics: dict[str, float] | None = None,
) -> ModelCard:
    """Card for a pre-trained GeneBERT folder (written at the end of ``genebert-pretrain``)."""
    seq, reg = config.sequence_config, config.region_config
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="fill-mask",
        tags=BASE_TAGS + ["pretraining"],
        datasets=[dataset_name] if dataset_name else None,
    )
    architecture = _table(
        {
            "sequence encoder": f"BERT, {seq.num_hidden_layers} layers, hidden {seq.hidden_size}, "
            f"{seq.num_attention_heads} heads, {seq.kmer}-mer vocabulary ({seq.vocab_size} tokens), "
            f"max {seq.max_position_embeddings} positions",
            "region encoder": describe_region_encoder(reg),
            "region matrix": f"{reg.regions_per_sample} regions x {reg.num_tfs} TFs",
            "projection dim": config.projection_dim,
            "loss": f"{config.mgm_weight} * MGM + {config.ngsp_weight} * NGSP + {config.srm_weight} * SRM",
        }
    )
    results = {
        name: (f"{initial_metrics[name]:.4f} -> {value:.4f}" if initial_metrics and name in initial_metrics else f"{value:.4f}")
        for name, value in final_metrics.items()
    }
    sections = {
        "Model": architecture
        + "\n\nSRM is implemented in the standard symmetric InfoNCE form (L2-normalised projections, "
        "learnable temperature, as CLIP) rather than the paper's ratio of raw inner-product sums.",
        "Training data": dataset_description,
        "Training hyper-parameters": "```json\n" + json.dumps(hyperparameters, indent=2, default=str) + "\n```",
        "Results (validation split, before -> after pre-training)": _table(results),
        "Limitations": "Pre-trained for a small number of steps on a small atlas unless stated above; "
        "it is a starting point for fine-tuning, not a validated predictor.",
    }
    return render_model_card(
        title="GeneBERT (pre-trained)",
        summary="GeneBERT is a multi-modal self-supervised model of the regulatory genome: a BERT over "
        "overlapping k-mers trained with masked genome modelling (MGM), next genome-segment prediction "
        "(NGSP) and sequence-region matching (SRM) against a regions x transcription-factor matrix.",
        card_data=card_data,
        auto_class="AutoModelForPreTraining",
        sections=sections,
    )


def save_model_card(card: ModelCard, output_dir: str | Path) -> Path:
    path = Path(output_dir) / "README.md"
    card.save(path)
    return path
