#!/usr/bin/env bash
# Builds the Worker (build/index.js + build/index_bg.wasm) with the pinned, offline toolchain.
# This is wrangler.toml's [build] command, so `wrangler dev` / `wrangler deploy` run it too;
# it returns at once when build/ is newer than the sources. Pass --force to rebuild anyway.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_rust_tools
ensure_node_tools
worker_build "$@"
