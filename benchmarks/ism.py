"""Explanation speed: batched saturation mutagenesis vs one forward pass per mutant; IG on 1,000 sequences.

The model is the tiny preset classifier (6-mers, 2 layers, 128 hidden; random weights: speed does not
depend on them) on 101 bp sequences. Batched ISM (``modeling_genebert.explain.saturation_mutagenesis``,
forward strand, 256 mutants per pass, mutant ids by array arithmetic) is timed on whole sequences
(3 x 101 mutants + the reference each); the per-mutant loop tokenizes each mutant string and runs one
forward pass for it, timed on ``--loop_mutants`` mutants and compared per mutant. These CPUs switch
between fast and slow phases, so batched and loop runs are interleaved round by round and the median of
the per-round ratios is reported. Integrated Gradients (captum, 50 steps, 32 sequences per call) is timed
on ``--ig_sequences`` sequences.

    python benchmarks/ism.py [--rounds 3] [--ism_sequences 2] [--loop_mutants 60] [--ig_sequences 1000]
"""

import argparse
import statistics
import time

import numpy as np
import torch

from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.explain import ExplainedModel, integrated_gradients, saturation_mutagenesis
from modeling_genebert.explain.tokens import class_score


def per_mutant_loop(explained, sequence: str, n_mutants: int) -> int:
    """The naive way: one tokenizer call and one forward pass per single-base mutant."""
    done = 0
    with torch.no_grad():
        for i in range(len(sequence)):
            for base in "ACGT":
                if base == sequence[i]:
                    continue
                mutant = sequence[:i] + base + sequence[i + 1:]
                enc = explained.tokenizer([mutant], return_tensors="pt")
                class_score(explained.model(**enc).logits, 1)
                done += 1
                if done == n_mutants:
                    return done
    return done


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of batched vs loop")
    p.add_argument("--ism_sequences", type=int, default=2, help="sequences per batched-ISM round")
    p.add_argument("--loop_mutants", type=int, default=60, help="mutants per per-mutant-loop round")
    p.add_argument("--ig_sequences", type=int, default=1000, help="sequences for the IG timing (0: skip)")
    p.add_argument("--length", type=int, default=101, help="sequence length (bp)")
    a = p.parse_args(argv)
    torch.manual_seed(0)
    config = GeneBertConfig.from_preset("tiny", num_labels=2)
    explained = ExplainedModel(GeneBertForSequenceClassification(config).eval(), GeneBertTokenizer(k=6), ["unbound", "bound"])
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), a.length)) for _ in range(max(a.ism_sequences, a.ig_sequences))]
    print(f"torch threads {torch.get_num_threads()}, {a.length} bp, tiny preset (k=6, 2 layers, 128 hidden)")
    saturation_mutagenesis(explained, seqs[:1], 1, strands="forward")  # warm-up
    per_mutant_loop(explained, seqs[0], 10)
    ratios = []
    for r in range(a.rounds):
        t = time.perf_counter()
        saturation_mutagenesis(explained, seqs[: a.ism_sequences], 1, strands="forward")
        batched = (time.perf_counter() - t) / (a.ism_sequences * 3 * a.length)
        t = time.perf_counter()
        n = per_mutant_loop(explained, seqs[r % len(seqs)], a.loop_mutants)
        loop = (time.perf_counter() - t) / n
        ratios.append(loop / batched)
        print(f"round {r}: batched {batched * 1e3:.3f} ms/mutant, loop {loop * 1e3:.3f} ms/mutant, ratio {loop / batched:.1f}x")
    per_seq = None
    if a.ig_sequences:
        t = time.perf_counter()
        integrated_gradients(explained, seqs[: a.ig_sequences], 1, n_steps=50, batch_size=32, progress=True)
        ig = time.perf_counter() - t
        per_seq = ig / a.ig_sequences
        print(f"Integrated Gradients (50 steps) on {a.ig_sequences} sequences of {a.length} bp: {ig:.1f} s "
              f"({per_seq * 1e3:.0f} ms per sequence)")
    print(f"ISM speedup vs per-mutant loop: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
