#!/usr/bin/env bash
# ingest_sweep.sh: runs k8i-bench-ingest over several configurations, one CSV line each.
#
#   (with K8I_TEST_PG_URL / _REDIS_URL / _KAFKA_BOOTSTRAP of a running stack)
#   bench/ingest_sweep.sh [BUILD_DIR] [DURATION] [REPEAT] [CONFIG...] > results.csv
#
# CONFIG is "streams,batch_series,samples_per_series,inflight" (default: the set below).
# Other work on the machine skews the figures. Before each run the script waits (up to
# QUIET_WAIT seconds, default 600) until the machine has been nearly idle (< QUIET_CORES busy
# cores, default 0.3) for 3 s; after it, if other processes used more than NOISE_MAX cores on
# average (default 0.15; other_cpu_s + ref_other_cpu_s over the run), it runs again, up to
# TRIES times (default 3), and keeps the least disturbed run. Each line starts with that
# average ("noise_cores") and the number of tries.
set -euo pipefail
build=${1:-build-bench}
duration=${2:-30s}
repeat=${3:-1}
shift $(( $# < 3 ? $# : 3 ))
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs=(1,500,10,2 2,500,10,2 4,500,10,2 8,500,10,2 4,500,10,1 4,500,10,4
           2,2000,10,2 4,2000,10,2 2,5000,10,2 4,100,10,2)
fi
bin="$build/bin/k8i-bench-ingest"
quiet_wait=${QUIET_WAIT:-600}
quiet_cores=${QUIET_CORES:-0.3}
noise_max=${NOISE_MAX:-0.15}
tries=${TRIES:-3}

busy_cores() {  # busy cores over the next 3 seconds, from /proc/stat
  read -r _ a b c d e f g h _ < /proc/stat
  sleep 3
  read -r _ A B C D E F G H _ < /proc/stat
  local hz; hz=$(getconf CLK_TCK)
  awk -v busy=$(( (A+B+C+F+G+H) - (a+b+c+f+g+h) )) -v hz="$hz" 'BEGIN { printf "%.2f", busy / hz / 3 }'
}

wait_quiet() {
  local waited=0 busy
  busy=$(busy_cores)
  while awk -v b="$busy" -v q="$quiet_cores" 'BEGIN { exit !(b >= q) }' && ((waited < quiet_wait)); do
    busy=$(busy_cores)
    waited=$((waited + 3))
  done
}

noise_of() {  # average cores used by other processes during the load and the reference
  awk -F, '{ t = $5 + $21; x = (t > 0) ? ($27 + $28) / t : 9; printf "%.2f", x }' <<<"$1"
}

echo "noise_cores,tries,$("$bin" --csv-header)"
for ((r = 0; r < repeat; ++r)); do
  for c in "${configs[@]}"; do
    IFS=, read -r streams series samples inflight <<<"$c"
    best="" best_noise=99
    for ((t = 1; t <= tries; ++t)); do
      wait_quiet
      line=$("$bin" --csv --streams "$streams" --batch-series "$series" \
               --samples-per-series "$samples" --inflight "$inflight" --duration "$duration" \
               2>/dev/null) || continue
      noise=$(noise_of "$line")
      if awk -v a="$noise" -v b="$best_noise" 'BEGIN { exit !(a < b) }'; then
        best=$line best_noise=$noise
      fi
      awk -v a="$noise" -v m="$noise_max" 'BEGIN { exit !(a <= m) }' && break
    done
    echo "${best_noise},$((t > tries ? tries : t)),${best:-failed}"
  done
done
