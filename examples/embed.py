"""Embed a dataset with a GeneBERT folder: `python examples/embed.py --help`.

    python examples/embed.py --model_name_or_path outputs/genebert-tiny/final \
        --dataset ~/.cache/genebert/default-mini-atlas --pooling cls --output cls.parquet
"""

from modeling_genebert.evaluation.embed import main

if __name__ == "__main__":
    main()
