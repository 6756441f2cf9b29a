#!/usr/bin/env bash
# `npm run native`: build the native Cedar engine (native/cedar, Cedar's Rust crate as an N-API
# addon) into native/cedar/claw_cedar.node. Without cargo it says so and exits 0: the runtime
# then evaluates with @cedar-policy/cedar-wasm (runtime/authz/cedar-engine.ts), same decisions,
# slower calls. Cold: ~5 min on 2 cores (crates from crates.io); cached: seconds.
set -euo pipefail
cd "$(dirname "$0")/../native/cedar"
if ! command -v cargo >/dev/null; then
  echo "native: no cargo (install Rust with rustup): Cedar runs as wasm"
  exit 0
fi
cargo build --release --locked --quiet
cp target/release/libclaw_cedar.so claw_cedar.node.tmp
mv claw_cedar.node.tmp claw_cedar.node
echo "native: built native/cedar/claw_cedar.node (Cedar $(node -p 'require("./claw_cedar.node").cedarVersion()'))"
