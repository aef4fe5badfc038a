#!/usr/bin/env bash
# Cold start of the Worker's wasm: compiles and instantiates each FILE in fresh node processes,
# N rounds, alternating the files, with V8's default lazy compilation (as workerd) and eager
# (--no-wasm-lazy-compilation). Prints the median and minimum per file and mode.
#   bash bench/coldstart.sh 25 build/index_bg.wasm [OTHER.wasm ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="$1"; shift
node=node_modules/.bin/node
for mode in lazy eager; do
    flags=(); [[ $mode == eager ]] && flags=(--no-wasm-lazy-compilation)
    for _ in $(seq "$n"); do
        for f in "$@"; do echo "$mode $f $("$node" "${flags[@]}" bench/coldstart.cjs "$f")"; done
    done
done | python3 -c '
import sys, json, statistics as st, collections
d = collections.defaultdict(list)
for l in sys.stdin:
    mode, f, j = l.split(" ", 2); d[(mode, f)].append(json.loads(j))
for (mode, f), r in d.items():
    c = [x["compile_ms"] for x in r]; i = [x["instantiate_ms"] for x in r]
    print("%-5s %-22s compile median %6.2f ms (min %6.2f)  instantiate median %5.2f ms  n=%d" % (mode, f, st.median(c), min(c), st.median(i), len(r)))'
