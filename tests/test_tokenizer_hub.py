"""Saving and loading: Auto classes, DNABERT folders, and Hub remote code without the package."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from modeling_genebert import GeneBertTokenizer

DATA = Path(__file__).parent / "data"
SEQ = "gattacaNNACGTAGGTCAT\nTGACCATGGATTACAGG"


def test_save_and_auto_load_round_trip(tmp_path):
    tok = GeneBertTokenizer(k=5, stride=2, model_max_length=1024)
    tok.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["k"] == 5 and config["stride"] == 2 and config["model_max_length"] == 1024
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_genebert.GeneBertTokenizer"
    assert (tmp_path / "tokenization_genebert.py").is_file()  # the remote code travels along
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded) is GeneBertTokenizer
    assert (loaded.kmer, loaded.stride, loaded.model_max_length, len(loaded)) == (5, 2, 1024, 5 + 4**5)
    assert loaded(SEQ, return_offsets_mapping=True) == tok(SEQ, return_offsets_mapping=True)
    assert loaded.all_special_tokens == tok.all_special_tokens  # specials not added twice
    assert GeneBertTokenizer().model_max_length == 512


def test_dnabert_folder_loads(tmp_path):
    """A DNABERT checkpoint folder carries only vocab.txt: k comes from it."""
    (tmp_path / "vocab.txt").write_bytes((DATA / "dnabert_vocab_3.txt").read_bytes())
    tok = GeneBertTokenizer.from_pretrained(tmp_path)
    assert tok.kmer == 3 and len(tok) == 69
    lines = (DATA / "dnabert_vocab_3.txt").read_text().split("\n")
    assert tok("ACGT")["input_ids"] == [2, lines.index("ACG"), lines.index("CGT"), 3] == [2, 16, 50, 3]


REMOTE = textwrap.dedent(
    """
    import sys
    class Block:  # make the package unimportable however it is installed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "modeling_genebert":
                raise ModuleNotFoundError(name)
    sys.meta_path.insert(0, Block())
    sys.path = [p for p in sys.path if not p.startswith(sys.argv[2]) or "site-packages" in p]
    try:
        import modeling_genebert
        raise SystemExit("the package is still importable")
    except ModuleNotFoundError:
        pass
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
    assert type(tok).__module__.startswith("transformers_modules"), type(tok).__module__
    enc = tok(sys.argv[3], "ACGTACGTAC", return_offsets_mapping=True)
    print(tok.kmer, tok.stride, tok.model_max_length, len(tok), enc["input_ids"], enc["offset_mapping"],
          tok.decode(enc["input_ids"]))
    """
)


@pytest.mark.slow
def test_remote_code_loads_without_the_package(tmp_path):
    tok = GeneBertTokenizer(k=4)
    folder = tmp_path / "hub"
    tok.save_pretrained(folder)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    repo = str(Path(__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-I", "-c", REMOTE, str(folder), repo, SEQ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    enc = tok(SEQ, "ACGTACGTAC", return_offsets_mapping=True)
    expected = f"4 1 512 261 {enc['input_ids']} {enc['offset_mapping']} {tok.decode(enc['input_ids'])}"
    assert result.stdout.strip() == expected
