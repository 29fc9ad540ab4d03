#!/usr/bin/env bash
# The region-modality levers of 2026-12-06 (docs/results/2026-12-06-release.md), resumable: a benchmark keeps its
# finished runs, so run it again after any stop.
#
#   MODEL=path/to/pt_v2_k6/final DATA=path/to/data RUNS=path/to/runs nohup examples/release/region_levers.sh > levers.log 2>&1 &
#
# Steps, each a genebert-benchmark folder under $RUNS (logs beside it):
#   gue_region_<variant>  the screen on $SCREEN_TASKS at seed 42: --region_rows 2, --region_strands separate,
#                         --motifs JASPAR2026 (each on top of --region_input)
#   gue_sweep             --sweep over the learning rate (1e-4, 3e-4, 1e-3; 3 epochs) on tf2 with --region_input
#   gue_region_wide2026   --region_input --region_wide --motifs JASPAR2026 on $TASKS at seeds 42 7 13, then the
#                         same folder again with --seed_ensemble (nothing re-run: the kept runs scored as one)
#   gue_motif_lr          the model-free arms motif_lr and kmer_lr at seed 42
# The plain and --region_input rows they are paired with come from examples/release/run_release.sh.
set -euo pipefail

MODEL=${MODEL:?set MODEL to the pre-trained folder (pt_v2_k6/final)}
DATA=${DATA:?set DATA to the shared data folder (gue/)}
RUNS=${RUNS:?set RUNS to the folder the runs go to}
CORE=${CORE:-0}
TASKS=${TASKS:-"tf2 tf0 tf1 prom_core_all"}
SCREEN_TASKS=${SCREEN_TASKS:-tf2}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$RUNS"

say() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') $*"; }
bench() {  # bench FOLDER [genebert-benchmark options...]
    local folder=$1; shift
    say "start $folder $*"
    taskset -c "$CORE" genebert-benchmark --models "$MODEL" --suite "$DATA/gue" --arms finetune --keep_models \
        --no_model_cards --output_dir "$RUNS/$folder" "$@" >> "$RUNS/$folder.log" 2>&1
    say "done $folder"
}

declare -A SCREEN=([rows2]="--region_input true --region_rows 2" [strands]="--region_input true --region_strands separate"
                   [jaspar2026]="--region_input true --motifs JASPAR2026")
for variant in rows2 strands jaspar2026; do
    bench "gue_region_$variant" --tasks $SCREEN_TASKS --seeds 42 --finetune_args "${SCREEN[$variant]}"
done

sed 's/    num_train_epochs: \["+0", "+2"\]/    num_train_epochs: ["+0"]/' \
    "$HERE/../../modeling_genebert/evaluation/benchmark/default_recipe.yaml" > "$RUNS/sweep_lr_recipe.yaml"
bench gue_sweep --tasks tf2 --seeds 42 7 13 --recipe "$RUNS/sweep_lr_recipe.yaml" --sweep --finetune_args "--region_input true"

WIDE="--region_input true --region_wide true --motifs JASPAR2026"
for task in $TASKS; do
    bench gue_region_wide2026 --tasks "$task" --seeds 42 7 13 --finetune_args "$WIDE"
done
bench gue_region_wide2026 --tasks $TASKS --seeds 42 7 13 --seed_ensemble --finetune_args "$WIDE"

say "start gue_motif_lr"
taskset -c "$CORE" genebert-benchmark --suite "$DATA/gue" --tasks $TASKS --seeds 42 --arms motif_lr kmer_lr \
    --output_dir "$RUNS/gue_motif_lr" >> "$RUNS/gue_motif_lr.log" 2>&1
say "done gue_motif_lr"
