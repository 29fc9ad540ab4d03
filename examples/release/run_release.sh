#!/usr/bin/env bash
# The release chain (corpus v2, two pre-trainings, GUE with and without region input), resumable: run it again after any stop and every finished step is
# skipped (a pre-training continues from its newest checkpoint, a benchmark keeps its finished runs).
#
#   DATA=path/to/data RUNS=path/to/runs nohup examples/release/run_release.sh > release.log 2>&1 &
#
# Everything goes under $RUNS (CORPUS_V2 may name the corpus elsewhere). Steps, in order (each logs to
# $RUNS/<step>.log):
#   corpus_v2         DHS tables + the four genome pieces, contiguous pairs, shuffled negatives, minus every
#                     window sharing a 32-mer with GUE train/dev (genebert-build-pretraining --exclude_overlap_with)
#   pt_v2_k6          tiny preset, --kmer 6, 2,400 steps (--training_preset cpu) on corpus_v2
#   recipe            the 12-04 recipe data: DHS tables + the chr1 piece only (no overlap filter)
#   pt_recipe_k6      the same model and steps on the recipe data
#   gue_s42           genebert-benchmark, both models, prom_core_all tf0 tf1 tf2, seed 42, arms finetune kmer_lr
#   gue_region_s42    the same with genebert-finetune --region_input (arm finetune)
#   gue / gue_region  seeds 7 and 13 added to the two benchmarks (finished seed-42 runs are kept)
#   gue_ensemble / gue_region_ensemble  the two benchmarks again with --seed_ensemble: nothing is re-run,
#                     the kept fine-tuned folders of the three seeds are scored as one model ('+ seed ensemble' rows)
#
# One thread per process (OMP_NUM_THREADS=1); CORE pins every step to one core (default 1). WAIT_PID: wait for
# that process (e.g. a step of an earlier driver that is still running) to end before starting.
# The benchmarks keep each run's fine-tuned weights (--keep_models, ~5 MB per tiny run) for seed ensembles.
# Checkpoints every 250 steps (the cpu training preset: ~2 min apart here), the newest two kept.
set -euo pipefail

DATA=${DATA:?set DATA to the shared data folder (dhs/, genome/, gue/)}
RUNS=${RUNS:?set RUNS to the folder the runs go to}
CORE=${CORE:-1}
STEPS=${STEPS:-2400}
TASKS=${TASKS:-"prom_core_all tf0 tf1 tf2"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
CORPUS_V2=${CORPUS_V2:-$RUNS/corpus_v2}
LOGS=$RUNS
DONE=$RUNS/.done  # markers of finished benchmark steps
mkdir -p "$LOGS" "$DONE"

say() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') $*"; }

if [ -n "${WAIT_PID:-}" ]; then
    say "waiting for process $WAIT_PID to end"
    while kill -0 "$WAIT_PID" 2>/dev/null; do sleep 30; done
fi

# step NAME DONE_PATH COMMAND...: skip when DONE_PATH exists, else run COMMAND on $CORE, logging to NAME.log
step() {
    local name=$1 done_path=$2
    shift 2
    if [ -e "$done_path" ]; then
        say "skip $name ($done_path exists)"
        return 0
    fi
    say "start $name -> $LOGS/$name.log"
    local started=$SECONDS
    /usr/bin/time -f "$name: %e s wall, %U s user, %M KB max RSS" taskset -c "$CORE" "$@" >> "$LOGS/$name.log" 2>&1
    say "done $name ($((SECONDS - started)) s)"
}

DHS="$DATA/dhs/K562_ENCLB843GMH.txt.gz $DATA/dhs/HepG2_ENCLB029COU.txt.gz"
GENOME="$DATA/genome/chr1_piece.fa.gz $DATA/genome/chr2_1-2333275_hg38.fa.gz \
$DATA/genome/chr21_22000000-23000000_hg38.fa.gz $DATA/genome/chr22_part_grch37.fa.gz"
GUE_FILES=$(ls "$DATA"/gue/*/train.csv.gz "$DATA"/gue/*/dev.csv.gz)
PAIRS="--bases_per_region 50 --ngsp_pairing contiguous --ngsp_negatives shuffled --num_proc 1 --no_progress"

# shellcheck disable=SC2086  # the file lists are word-split on purpose
step corpus_v2 "$CORPUS_V2/build_info.json" \
    genebert-build-pretraining -o "$CORPUS_V2" --dhs_table $DHS --genome_windows $GENOME $PAIRS \
    --exclude_overlap_with $GUE_FILES
# shellcheck disable=SC2086
step recipe "$RUNS/recipe/build_info.json" \
    genebert-build-pretraining -o "$RUNS/recipe" --dhs_table $DHS --genome_windows "$DATA/genome/chr1_piece.fa.gz" $PAIRS

pretrain() {  # pretrain NAME DATASET
    step "$1" "$RUNS/$1/final/model.safetensors" \
        genebert-pretrain --dataset_path "$2" --training_preset cpu --kmer 6 --max_steps "$STEPS" \
        --output_dir "$RUNS/$1" --resume_from_checkpoint auto --save_steps 250 --save_total_limit 2 \
        --disable_tqdm true --report_to none
}
pretrain pt_v2_k6 "$CORPUS_V2"
pretrain pt_recipe_k6 "$RUNS/recipe"

MODELS="$RUNS/pt_v2_k6/final $RUNS/pt_recipe_k6/final"
benchmark() {  # benchmark NAME OUTPUT SEEDS ARMS [extra options]
    # the done-marker lies beside the benchmark folder: genebert-benchmark refuses a folder holding other files
    local name=$1 out=$2 seeds=$3 arms=$4
    shift 4
    # shellcheck disable=SC2086
    step "$name" "$DONE/$name" \
        genebert-benchmark --models $MODELS --suite "$DATA/gue" --tasks $TASKS --seeds $seeds --arms $arms \
        --output_dir "$out" --keep_models "$@"
    touch "$DONE/$name"
}
benchmark gue_s42 "$RUNS/gue" "42" "finetune kmer_lr"
benchmark gue_region_s42 "$RUNS/gue_region" "42" "finetune" --finetune_args "--region_input true"
benchmark gue "$RUNS/gue" "42 7 13" "finetune kmer_lr"
benchmark gue_region "$RUNS/gue_region" "42 7 13" "finetune" --finetune_args "--region_input true"
ensemble() {  # ensemble NAME OUTPUT ARMS [extra options]: the finished benchmark again, with --seed_ensemble
    local name=$1 out=$2 arms=$3
    shift 3
    # shellcheck disable=SC2086
    step "$name" "$DONE/$name" \
        genebert-benchmark --models $MODELS --suite "$DATA/gue" --tasks $TASKS --seeds 42 7 13 --arms $arms \
        --output_dir "$out" --keep_models --seed_ensemble "$@"
    touch "$DONE/$name"
}
ensemble gue_ensemble "$RUNS/gue" "finetune kmer_lr"
ensemble gue_region_ensemble "$RUNS/gue_region" "finetune" --finetune_args "--region_input true"
say "release chain finished"
