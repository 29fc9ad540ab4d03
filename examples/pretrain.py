"""Pre-train GeneBERT: `python examples/pretrain.py [--help]` (same as `genebert-pretrain`).

Also the script to give `accelerate launch`, e.g.
`accelerate launch --config_file examples/accelerate/multi_gpu_ddp.yaml examples/pretrain.py --preset paper --training_preset paper --dataset_path DATA`.
"""

from modeling_genebert.pretraining.pretrain import main

if __name__ == "__main__":
    main()
