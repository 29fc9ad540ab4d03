"""Fine-tune GeneBERT: `python examples/finetune.py [--help]` (same as `genebert-finetune`).

Example, GUE core promoters (train -> dev) from a `genebert-pretrain` folder:

    python examples/finetune.py --model_name_or_path outputs/genebert-tiny/final --task promoter \
        --train_file prom_core_all/train.csv.gz --validation_file prom_core_all/dev.csv.gz \
        --output_dir outputs/finetune-promoter

Add `--from_scratch` for the same architecture without pre-training, `--region_input` to fuse an
on-the-fly motif-scan region matrix, or point `--model_name_or_path` at a DNABERT folder for the
paper's baseline. Runs under `accelerate launch` too.
"""

from modeling_genebert.finetuning.finetune import main

if __name__ == "__main__":
    raise SystemExit(main())
