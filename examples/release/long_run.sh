#!/usr/bin/env bash
# The release's long pre-training run, resumable, on one core; with a downstream probe on its checkpoints.
#
#   DATASET=path/to/corpus RUNS=path/to/runs DATA=path/to/shared/data nohup examples/release/long_run.sh >> long_run.log 2>&1 &
#
# Run it again after any stop: pre-training continues from its newest checkpoint (--resume_from_checkpoint
# auto) and finished probes are skipped. What it does, in turn:
#   pretrain  the $PRESET preset (small: 4 layers x 256), --kmer $KMER, $STEPS steps with a cosine schedule on $DATASET;
#             validation losses every $EVAL_STEPS steps (trainer_state.json's log_history), a checkpoint every
#             $SAVE_STEPS steps (about 20 minutes on one core; the newest two are kept, and kept at the end)
#   probe     every $PROBE_EVERY steps: fine-tune $PROBE_TASK from that checkpoint (genebert-benchmark, seed 42)
#             and keep its dev MCC in $RUNS/long_probes/step-N; probes run between pre-training stages, on the
#             same core: each slice of pre-training ends at the next probe step (--stop_at_step; --max_steps
#             stays $STEPS, so the learning-rate schedule is that of one run)
# Stop the run (kill it) when the validation losses and the probe stop improving:
# examples/release/long_run_report.py prints both and draws the loss curves.
set -euo pipefail

RUNS=${RUNS:?set RUNS to the folder the runs go to}
DATA=${DATA:?set DATA to the shared data folder (gue/)}
DATASET=${DATASET:?set DATASET to the pre-training dataset folder}
CORE=${CORE:-1}
KMER=${KMER:-6}
PRESET=${PRESET:-small}
STEPS=${STEPS:-16000}
SAVE_STEPS=${SAVE_STEPS:-500}
EVAL_STEPS=${EVAL_STEPS:-500}
PROBE_EVERY=${PROBE_EVERY:-4000}
PROBE_TASK=${PROBE_TASK:-tf0}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
OUT=$RUNS/long  # genebert-pretrain's own folder: the logs and probes lie beside it
PROBES=$RUNS/long_probes
mkdir -p "$PROBES"

say() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') $*"; }

if [ -n "${WAIT_PID:-}" ]; then
    say "waiting for process $WAIT_PID to end"
    while kill -0 "$WAIT_PID" 2>/dev/null; do sleep 30; done
fi

newest_step() {  # the step of the newest complete checkpoint (0 when none), by genebert-pretrain's own resume rule
    python -c "import sys; from modeling_genebert.pretraining.pretrain import last_complete_checkpoint as newest
path = newest(sys.argv[1]); print(path.rsplit('-', 1)[1] if path else 0)" "$OUT"
}

probe() {  # probe STEP: fine-tune the probe task from checkpoint-STEP, once
    local step=$1 folder="$PROBES/step-$1"
    [ -f "$folder/results.json" ] && return 0
    if [ ! -d "$OUT/checkpoint-$step" ]; then
        say "no checkpoint-$step any more: probe skipped"
        return 0
    fi
    say "probe at step $step"
    rm -rf "$folder"
    if taskset -c "$CORE" genebert-benchmark --models "$OUT/checkpoint-$step" --suite "$DATA/gue" --tasks "$PROBE_TASK" \
        --seeds 42 --arms finetune --output_dir "$folder" >> "$RUNS/long_probes.log" 2>&1; then
        say "probe at step $step done"
    else
        say "probe at step $step failed (see $RUNS/long_probes.log); the run goes on"
    fi
}

while :; do
    done_step=$(newest_step)
    for ((s = PROBE_EVERY; s <= done_step; s += PROBE_EVERY)); do probe "$s"; done
    [ "$done_step" -ge "$STEPS" ] && break
    stop_at=$(( (done_step / PROBE_EVERY + 1) * PROBE_EVERY ))
    [ "$stop_at" -gt "$STEPS" ] && stop_at=$STEPS
    say "pretrain from step $done_step to $stop_at (of $STEPS)"
    taskset -c "$CORE" genebert-pretrain --dataset_path "$DATASET" --preset "$PRESET" \
        --training_preset cpu --kmer "$KMER" --max_steps "$STEPS" --stop_at_step "$stop_at" --lr_scheduler_type cosine \
        --output_dir "$OUT" --resume_from_checkpoint auto --save_steps "$SAVE_STEPS" --keep_checkpoints true \
        --eval_strategy steps --eval_steps "$EVAL_STEPS" --disable_tqdm true --report_to none >> "$RUNS/long_pretrain.log" 2>&1
done
say "long run finished at step $(newest_step)"
