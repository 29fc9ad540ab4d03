"""Shared fixtures: a small real pre-training dataset and a micro GeneBERT config."""

import json
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session):
    """Every package under test must come from this checkout, not from another one's editable install."""
    import importlib

    for name in ("modeling_genebert", "tokenization", "dataset_scripts"):
        where = Path(importlib.import_module(name).__file__).resolve()
        if not where.is_relative_to(CHECKOUT):
            raise pytest.UsageError(
                f"{name} is imported from {where}, not from the checkout under test {CHECKOUT}: "
                f"reinstall it here with  pip install -e . --config-settings editable_mode=strict"
            )

def pytest_report_header(config):
    """Which precision ``auto`` takes here, so a log says what kind of CPU the suite ran as."""
    from modeling_genebert.precision import bf16_support

    units, reason = bf16_support("cpu")
    return (f"genebert: --precision auto trains in {'bf16' if units else 'fp32'} here ({reason}); inference defaults "
            f"to fp32; GENEBERT_CPU_BF16=1 / 0 runs the suite as a CPU with / without bf16 units")


def pytest_report_header(config):
    """Which precision ``auto`` takes here, so a log says what kind of CPU the suite ran as."""
    from modeling_genebert.precision import bf16_support

    units, reason = bf16_support("cpu")
    return (f"genebert: --precision auto trains in {'bf16' if units else 'fp32'} here ({reason}); inference defaults "
            f"to fp32; GENEBERT_CPU_BF16=1 / 0 runs the suite as a CPU with / without bf16 units")


NUM_TEST_TFS = 24

FUZZ_FRACTION_IN_THE_FAST_TIER = 4  # the fast tier (-m "not slow") runs a quarter of each property test's examples
_fast_tier = False


def pytest_configure(config):
    global _fast_tier
    _fast_tier = "not slow" in (config.option.markexpr or "")


def fuzz_settings(examples: int, **options):
    """Hypothesis settings of a property test: derandomized (the same examples in CI every time), no deadline,
    ``examples`` generated inputs in a full run and a quarter of them in the fast tier, which must stay under a minute."""
    from hypothesis import settings

    if _fast_tier:
        examples = max(2, examples // FUZZ_FRACTION_IN_THE_FAST_TIER)
    return settings(max_examples=examples, deadline=None, derandomize=True, **options)


@pytest.fixture(scope="session")
def jaspar2018_vertebrates():
    """The paper's 579 JASPAR 2018 CORE vertebrate motifs (pyjaspar ships them; no network), read once per session."""
    from dataset_scripts.motifs import load_jaspar_motifs

    return load_jaspar_motifs()


@pytest.fixture(scope="session")
def test_motifs(jaspar2018_vertebrates):
    """The first JASPAR 2018 CORE vertebrate motifs."""
    from dataset_scripts.motifs import MotifSet

    full = jaspar2018_vertebrates
    n = NUM_TEST_TFS
    return MotifSet(full.ids[:n], full.names[:n], full.pssms[:n], full.background, full.source + f" (first {n})")


@pytest.fixture(scope="session")
def pretraining_dataset(tmp_path_factory, test_motifs):
    """The embedded K562/HepG2 mini-atlas with short windows and few TFs (fast to train on)."""
    from dataset_scripts.pretraining_build import build_default_pretraining_dataset

    path = tmp_path_factory.mktemp("data") / "mini-atlas"
    build_default_pretraining_dataset(path, motifs=test_motifs, bases_per_region=12, progress=False)
    return path


@pytest.fixture(scope="session")
def micro_config_file(tmp_path_factory):
    """A GeneBERT config small enough for multi-step CPU training in seconds."""
    from modeling_genebert import GeneBertConfig

    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=128),
        region_config=dict(num_tfs=NUM_TEST_TFS, regions_per_sample=10, hidden_size=32,
                           num_attention_heads=2, intermediate_size=64),
        projection_dim=16,
    )
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    return path
