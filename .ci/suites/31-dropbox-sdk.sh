#!/usr/bin/env bash
# Fidelity check of the Dropbox emulator: the official `dropbox` Python SDK, unmodified,
# against `cairn emulate dropbox --tls` (research/dropbox-api.md §7.1).
#
# Needs: python3 with venv, PyPI reachable. Builds the `cairn` binary (lib.sh) unless
# CAIRN_BIN names one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$ROOT/.ci/suites/lib.sh"
CAIRN_BIN="${CAIRN_BIN:-$(build_cairn)}"
SDK_VERSION="${DROPBOX_SDK_VERSION:-12.2.4}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cairn-dropbox-sdk.XXXXXX")"
EMULATOR_PID=""

cleanup() {
    if [[ -n "$EMULATOR_PID" ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill "$EMULATOR_PID"
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "dropbox==$SDK_VERSION"

# Port 0: the emulator picks a free port and prints its URLs.
"$CAIRN_BIN" emulate dropbox --tls --bind 127.0.0.1:0 --data-dir "$WORK/data" \
    --seed 31 --members 10 --team-folders 4 --files 400 --bytes 64MiB \
    >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMULATOR_PID=$!

for _ in $(seq 1 300); do
    grep -q '^control: ' "$WORK/emulator.out" 2>/dev/null && break
    if ! kill -0 "$EMULATOR_PID" 2>/dev/null; then
        cat "$WORK/emulator.err" >&2
        echo "the emulator exited before printing its URLs" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q '^control: ' "$WORK/emulator.out" || { echo "the emulator did not start" >&2; exit 1; }

field() { sed -n "s|^$1: ||p" "$WORK/emulator.out"; }
HOST="$(field api | sed 's|^https://||')"
read -r APP_KEY APP_SECRET <<<"$(field client)"
read -r ADMIN_EMAIL ADMIN_PASS <<<"$(field user)"

# The SDK reads these at import time; a CA bundle in the environment would override its
# ca_certs (pitfall 24), so it is removed.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
export DROPBOX_API_HOST="$HOST" DROPBOX_API_CONTENT_HOST="$HOST" \
    DROPBOX_API_NOTIFY_HOST="$HOST" DROPBOX_WEB_HOST="$HOST"
export EMU_CA="$(field ca)" EMU_TOKEN="$(field access-token)" \
    EMU_APP_KEY="$APP_KEY" EMU_APP_SECRET="$APP_SECRET" \
    EMU_ADMIN_EMAIL="$ADMIN_EMAIL" EMU_ADMIN_PASS="$ADMIN_PASS"

"$WORK/venv/bin/python" "$ROOT/crates/cairn-emulator/sdk-checks/dropbox_sdk_check.py"
