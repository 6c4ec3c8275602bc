#!/usr/bin/env bash
# Regenerates hot-functions.txt: every function of the `weft` binary that a run executes, without
# rustc's hashes (see cc-ordered). The runs are `weft run` on an empty file and on the benchmarks
# of bench/ made small (the same code runs, for less long), under callgrind, which records every
# function executed. The list goes by how many of the runs execute a function, most first, and by
# name within that (so a regeneration's diff shows what changed): the code every run needs
# (start-up, the compiler, the dispatch loop) comes first and together, and what only a few
# workloads use (tasks, channels, timers) after it, so that a run makes resident little more
# than what it executes. (Sorted by name alone, the 0.9 MB of every run's functions were
# interleaved and all resident in every run, fault-around mapping 64 KB about each page touched:
# peak RSS of fib 3.9 MB against Lua's 2.5 MB. See docs/performance.md.)
#
#   crates/weft-cli/link/update-hot-functions.sh      (needs valgrind; takes about a minute)
#
# Run it after changes that move much code (a new dependency, a reorganised interpreter), then
# rebuild and compare peak RSS (`/usr/bin/time -f %M target/release/weft run bench/startup.weft`)
# and, interleaved against the binary before, the time of bench/calls.weft and bench/fib.weft:
# the layout moves the dispatch loop too, and one regeneration (for `Text`, on an AMD EPYC VM)
# made calls 580 -> 851 ms and fib 314 -> 343 ms, so it was not kept.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=crates/weft-cli/link
# shellcheck source=symbol-key.sh
source "$here/symbol-key.sh"
workloads=(empty fib loop calls binary_trees map sort strings spawn_join ring channel
  sleep_many ring_mailbox)
cargo build --release -p weft-cli --bin weft
weft=target/release/weft
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Each benchmark at a size that runs in a moment under callgrind.
small() { sed -E "$2" "bench/$1.weft" > "$work/$1.weft"; }
: > "$work/empty.weft"
small fib 's/fib\(32\)/fib(20)/'
small loop 's/30_000_000/300_000/'
small calls 's/10_000_000/100_000/'
small binary_trees 's/MAX_DEPTH = 16/MAX_DEPTH = 10/'
small map 's/1_000_000/100_000/'
small sort 's/1_000_000/100_000/'
small strings 's/1_000_000/100_000/'
small spawn_join 's/100000/10000/'
small ring 's/NODES = 1000/NODES = 100/; s/HOPS = 1000000/HOPS = 10000/'
small channel 's/N = 1000000/N = 10000/'
small sleep_many 's/100000/1000/'
small ring_mailbox 's/NODES = 1000/NODES = 100/; s/HOPS = 1000000/HOPS = 10000/'

for name in "${workloads[@]}"; do
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$name.cg" \
    "$weft" run "$work/$name.weft" > /dev/null 2> "$work/$name.err" || {
    echo "weft run $name failed under callgrind: $(tail -3 "$work/$name.err")" >&2
    exit 1
  }
done

# The functions of the weft binary each profile charged (`fn=` lines name the function running;
# names are given once, at their first use, as `(id) name`); then their keys (symbol-key.sh).
nm --defined-only "$weft" | awk 'NF == 3 && $2 ~ /^[tTwW]$/ { print $3 }' > "$work/symbols"
# Each run's keys once, then how many runs have each key: the list by that count, most first.
for name in "${workloads[@]}"; do
  awk '
    /^c?fn=\(/ {
      id = $1; sub(/^c?fn=/, "", id)
      if (NF > 1) names[id] = $2
      if ($0 ~ /^fn=/ && (id in names)) print names[id]
    }
  ' "$work/$name.cg" |
    awk 'FNR == NR { own[$0] = 1; next } ($0 in own) && !seen[$0]++' "$work/symbols" - |
    awk "$symbol_key_awk"'{ k = key($0); if (!seen[k]++) print k }'
done | awk '{ runs[$0]++ } END { for (k in runs) print runs[k] "\t" k }' |
  LC_ALL=C sort -k1,1nr -k2,2 | cut -f2 > "$here/hot-functions.txt"
echo "$(wc -l < "$here/hot-functions.txt") functions in $here/hot-functions.txt"
