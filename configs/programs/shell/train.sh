#!/bin/sh
# A shell script as a trial: W&B's `${args_no_equals}` gives `--rate 0.5 --steps 8`, and
# each step's value goes to the metrics descriptor as one JSON object per line.
rate=0.5
steps=8
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) shift ;;
  esac
done
value=10
step=1
while [ "$step" -le "$steps" ]; do
  # value ← value·(1 − rate) + rate·|1 − rate|·4: fastest to the floor near rate ≈ 0.6.
  value=$(awk -v v="$value" -v r="$rate" 'BEGIN { d = 1 - r; if (d < 0) d = -d; printf "%.6f", v * (1 - r) + r * d * 4 }')
  echo "{\"cost\": $value, \"step\": $step}" >&"$SWEEPD_METRICS_FD"
  step=$((step + 1))
done
echo "rate $rate: final cost $value"
