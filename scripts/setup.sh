#!/usr/bin/env bash
# One-shot, idempotent setup for a fresh Debian/Ubuntu machine with Node >= 20:
#   1. apt packages the engine needs (libtorch-dev, Gloo's headers for distributed training, libjpeg-turbo and zlib for the input pipeline, tcmalloc, OpenBLAS), the Fashion-MNIST data, the DejaVu
#      font that report images draw their text with, and Chromium for the in-browser page's test;
#   2. npm dependencies (npm ci, from the lockfile; onnxruntime-node's CUDA download is skipped with the scripts);
#   3. the native libtorch addon (node-gyp against the system's Node headers);
#   4. the TypeScript build;
#   5. the in-browser page (web/dist, bundled with esbuild).
# Each step is skipped when already done, so `npm test` / `npm run demo` pay ~2 s once set up.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'tasksr setup: %s\n' "$*"; }
die() { printf 'tasksr setup: error: %s\n' "$*" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || die "node not found; install Node.js >= 20"
[ "$node_major" -ge 20 ] || die "Node.js >= 20 required, found $(node --version)"

# --- 1. apt -------------------------------------------------------------------------------------------------
APT_PACKAGES=(libtorch-dev libgloo-dev libturbojpeg0-dev zlib1g-dev libtcmalloc-minimal4 libopenblas0-pthread dataset-fashion-mnist fonts-dejavu-core chromium g++ make python3)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    die "missing system packages: ${missing[*]}. Run as root or with passwordless sudo, or install them yourself:
    sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  say "installing system packages: ${missing[*]}"
  t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "system packages installed in $((SECONDS - t0)) s"
fi

# --- 2. npm -------------------------------------------------------------------------------------------------
stamp=node_modules/.tasksr-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm dependencies"
  t0=$SECONDS
  # Scripts are skipped: our own install script (the native build) runs in step 3 with the right flags.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
  say "npm dependencies installed in $((SECONDS - t0)) s"
fi

# --- 3. native addon ----------------------------------------------------------------------------------------
node scripts/build-native.mjs

# --- 4. TypeScript ------------------------------------------------------------------------------------------
newest_ts=$(find src test tools -name '*.ts' -newer dist/.tasksr-build-stamp 2>/dev/null | head -n 1 || true)
if [ ! -f dist/.tasksr-build-stamp ] || [ -n "$newest_ts" ] || [ tsconfig.json -nt dist/.tasksr-build-stamp ]; then
  say "compiling TypeScript"
  t0=$SECONDS
  npx tsc -p tsconfig.json
  touch dist/.tasksr-build-stamp
  say "TypeScript compiled in $((SECONDS - t0)) s"
fi

# --- 5. web page --------------------------------------------------------------------------------------------
newest_web=$(find web/src web/index.html web/style.css src/infer -newer web/dist/.tasksr-build-stamp 2>/dev/null | head -n 1 || true)
if [ ! -f web/dist/.tasksr-build-stamp ] || [ -n "$newest_web" ]; then
  node scripts/build-web.mjs
  touch web/dist/.tasksr-build-stamp
fi
