"""Hub round-trip: a saved folder loads through the Auto classes, and as remote code in a Python
that cannot import the package, with identical outputs."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoModelForPreTraining, pipeline

from modeling_genebert import GeneBertConfig, GeneBertForMaskedLM, GeneBertForPreTraining, GeneBertTokenizer

REPO = Path(__file__).resolve().parents[1]
# the package's modules that a saved folder carries as remote code (the modeling file and what it imports)
REMOTE_MODULES = ("configuration_genebert.py", "modeling_genebert.py", "region_encoders.py",
                  "region_encoder_registry.py", "loading.py")
DNA = ["ACGTTGCAAGGCTTACGATCGATCGGATCCAGTAC", "TTGACCAGTAGGCATCGATCGGCTAGCTAACGTA"]


def tiny_model() -> GeneBertForPreTraining:
    torch.manual_seed(0)
    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=6, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                             max_position_embeddings=64),
        region_config=dict(encoder="timm", num_tfs=12,
                           encoder_kwargs=dict(model_name="swin_tiny_patch4_window7_224", input_mode="native",
                                               embed_dim=24, depths=(1, 1), num_heads=(1, 2), window_size=4)),
        projection_dim=16,
    )
    return GeneBertForPreTraining(config).eval()


def make_tokenizer() -> GeneBertTokenizer:
    tokenizer = GeneBertTokenizer(k=6)
    ids = tokenizer(DNA[0])["input_ids"]
    assert len(ids) == len(DNA[0]) - 6 + 1 + 2, ids  # one id per 6-mer, [CLS] ... [SEP]
    return tokenizer


REMOTE = textwrap.dedent(
    """
    import sys
    repo = sys.argv[2]
    # drop the checkout (a virtualenv may live inside it: keep its site-packages)
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and (not p.startswith(repo) or "site-packages" in p)]
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "") + repr(f)]
    try:
        import modeling_genebert
    except ImportError:
        pass
    else:
        raise SystemExit("modeling_genebert is importable: " + str(modeling_genebert.__file__))

    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModel, AutoModelForPreTraining, AutoTokenizer

    folder = sys.argv[1]
    inputs = load_file(folder + "/inputs.safetensors")
    outputs = {}
    model = AutoModelForPreTraining.from_pretrained(folder, trust_remote_code=True).eval()
    assert "transformers_modules" in type(model).__module__, type(model).__module__
    with torch.no_grad():
        out = model(**inputs, output_prediction_logits=True)
        base = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()(**inputs)
    for key in ("loss", "prediction_logits", "seq_relationship_logits", "sequence_embeds", "region_embeds"):
        outputs[key] = out[key]
    outputs["base_region_embeds"] = base.region_embeds
    if len(sys.argv) > 3:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        assert "transformers_modules" in type(tokenizer).__module__
        outputs["input_ids"] = tokenizer(sys.argv[3:], padding=True, return_tensors="pt")["input_ids"]
    save_file({k: v.contiguous() for k, v in outputs.items()}, folder + "/remote_outputs.safetensors")
    print("remote ok")
    """
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    model, tokenizer = tiny_model(), make_tokenizer()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    input_ids = tokenizer(DNA, padding=True, return_tensors="pt")["input_ids"]
    inputs = dict(
        input_ids=input_ids,
        attention_mask=(input_ids != 0).long(),
        token_type_ids=(torch.arange(input_ids.shape[1]) >= input_ids.shape[1] // 2).long().expand_as(input_ids).contiguous(),
        labels=torch.where(torch.rand(input_ids.shape) < 0.3, input_ids, -100),
        next_sentence_label=torch.tensor([0, 1]),
        region_matrix=torch.randn(2, 10, 12) * 8,
    )
    save_file(inputs, folder / "inputs.safetensors")
    with torch.no_grad():
        out = model(**inputs, output_prediction_logits=True)
    return folder, model, tokenizer, inputs, out


def test_folder_contents(saved):
    folder, *_ = saved
    names = set(os.listdir(folder))
    assert {"config.json", "model.safetensors", *REMOTE_MODULES} <= names
    assert {"tokenizer_config.json", "vocab.txt", "tokenization_genebert.py"} <= names
    assert not any(name.endswith(".bin") for name in names)
    auto_map = json.loads((folder / "config.json").read_text())["auto_map"]
    assert auto_map["AutoConfig"] == "configuration_genebert.GeneBertConfig"
    for auto, cls in (("AutoModel", "GeneBertModel"), ("AutoModelForPreTraining", "GeneBertForPreTraining"),
                      ("AutoModelForMaskedLM", "GeneBertForMaskedLM"),
                      ("AutoModelForSequenceClassification", "GeneBertForSequenceClassification"),
                      ("AutoModelForTokenClassification", "GeneBertForTokenClassification")):
        assert auto_map[auto] == f"modeling_genebert.{cls}"
    # the remote code is the package's own modules, not hand-kept copies
    for name in REMOTE_MODULES:
        assert (folder / name).read_text() == (REPO / "modeling_genebert" / name).read_text()
    tokenizer_code = (REPO / "tokenization" / "tokenization_genebert.py").read_text()
    assert (folder / "tokenization_genebert.py").read_text() == tokenizer_code
    tokenizer_map = json.loads((folder / "tokenizer_config.json").read_text())["auto_map"]["AutoTokenizer"]
    assert tokenizer_map[0] == "tokenization_genebert.GeneBertTokenizer"


def test_remote_code_carries_no_notes_a_user_cannot_follow():
    """Remote code is read on the Hub without our repository: no pointers into it, no issue numbers,
    no benchmark figures."""
    stale = re.compile(r"DESIGN\.md|\.\./shared|README|benchmarks/|[Ii]ssue \d+|#\d+\b|CPU-s|ROC-AUC \d")
    for path in [REPO / "modeling_genebert" / name for name in REMOTE_MODULES] + [REPO / "tokenization" / "tokenization_genebert.py"]:
        found = [line for line in path.read_text().splitlines() if stale.search(line)]
        assert not found, f"{path.name}: {found}"


def test_auto_classes_with_package_installed(saved):
    folder, model, _, inputs, expected = saved
    loaded = AutoModelForPreTraining.from_pretrained(folder).eval()
    assert type(loaded) is GeneBertForPreTraining
    with torch.no_grad():
        out = loaded(**inputs, output_prediction_logits=True)
        base = AutoModel.from_pretrained(folder).eval()(**{k: inputs[k] for k in ("input_ids", "region_matrix")})
    for key, value in expected.items():
        torch.testing.assert_close(out[key], value, rtol=0, atol=0)
    torch.testing.assert_close(base.region_embeds, expected.region_embeds, rtol=0, atol=0)


@pytest.mark.slow
def test_remote_code_without_the_package(saved, tmp_path):
    folder, _, tokenizer, _, expected = saved
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    args = [sys.executable, "-c", REMOTE, str(folder), str(REPO), *DNA]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "remote ok" in result.stdout, result.stdout + result.stderr
    remote = load_file(folder / "remote_outputs.safetensors")
    for key in ("loss", "prediction_logits", "seq_relationship_logits", "sequence_embeds", "region_embeds"):
        torch.testing.assert_close(remote[key], expected[key], rtol=0, atol=0)
    torch.testing.assert_close(remote["base_region_embeds"], expected.region_embeds, rtol=0, atol=0)
    torch.testing.assert_close(remote["input_ids"], tokenizer(DNA, padding=True, return_tensors="pt")["input_ids"],
                               rtol=0, atol=0)


def test_fill_mask_pipeline(saved, tmp_path):
    """A pre-training folder's MGM head serves fill-mask: the masked-LM class loads it unchanged and the
    pipeline ranks 6-mers by that head's softmax at the [MASK]."""
    folder, model, tokenizer, inputs, expected = saved
    masked_lm = GeneBertForMaskedLM.from_pretrained(folder).eval()
    with torch.no_grad():  # same encoder + head as the pre-training model (the sequence side has no region input)
        logits = masked_lm(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                           token_type_ids=inputs["token_type_ids"]).logits
    torch.testing.assert_close(logits, expected.prediction_logits, rtol=1e-5, atol=1e-5)
    masked_lm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    fill = pipeline("fill-mask", model=str(tmp_path), tokenizer=str(tmp_path))
    assert fill.tokenizer.mask_token == "[MASK]"
    text = DNA[0][:12] + fill.tokenizer.mask_token + DNA[0][12:]
    encoded = tokenizer(text, return_tensors="pt")
    ids = encoded["input_ids"][0].tolist()
    assert ids.count(tokenizer.mask_token_id) == 1 and len(ids) == (12 - 5) + 1 + (len(DNA[0]) - 12 - 5) + 2
    with torch.no_grad():
        probs = masked_lm(**encoded).logits[0, ids.index(tokenizer.mask_token_id)].softmax(-1)
    predictions = fill(text, top_k=3)
    assert [p["token"] for p in predictions] == probs.topk(3).indices.tolist()
    torch.testing.assert_close(torch.tensor([p["score"] for p in predictions]), probs.topk(3).values,
                               rtol=1e-5, atol=1e-7)
    assert len({p["token"] for p in predictions}) == 3
    assert all(len(p["token_str"]) == 6 and set(p["token_str"]) <= set("ACGT") for p in predictions)
