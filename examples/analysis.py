"""The paper's section-5 analyses at small scale: `python examples/analysis.py {fig2,table5,table7,table8} --help`.

    # Fig. 2: t-SNE by cell type, uni-modal vs multi-modal (pre-trains both on the mini-atlas)
    python examples/analysis.py fig2 --output_dir outputs/fig2 --pretrain_steps 200
    # Table 5: loss ablation, fine-tuned on GUE core promoters, 3 seeds
    python examples/analysis.py table5 --output_dir outputs/table5 --seeds 0 1 2 \
        --train_file prom_core_all/train.csv.gz --validation_file prom_core_all/dev.csv.gz \
        --pretrain_steps 200 --finetune_steps 300
"""

from modeling_genebert.evaluation.analysis import main

if __name__ == "__main__":
    main()
