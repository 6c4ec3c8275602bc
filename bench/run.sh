#!/usr/bin/env bash
# Weft against its peers: see bench/README.md. The runner is bench/run.py (Python, for the
# medians and the report); this wrapper is the documented entry point.
#   bench/run.sh                      every workload, RUNS=5
#   RUNS=3 bench/run.sh fib loop      some workloads
exec python3 "$(dirname "$0")/run.py" "$@"
