#!/usr/bin/env bash
# Browser tests: the portal in real headless Chromium (Debian's `chromium`, driven by
# playwright-core), against a fresh `cairn demo`. Screenshots land in .ci/artifacts/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v chromium >/dev/null; then
    echo "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q chromium >/dev/null
    }
fi
if [ ! -d "$ROOT/e2e/node_modules/playwright-core" ]; then
    echo "installing playwright-core"
    (cd "$ROOT/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

start_demo
trap stop_demo EXIT

mkdir -p "$ROOT/.ci/artifacts"
CAIRN_URL="$PORTAL" CHROMIUM="$(command -v chromium)" ARTIFACTS="$ROOT/.ci/artifacts" \
    node "$ROOT/e2e/run.mjs"
