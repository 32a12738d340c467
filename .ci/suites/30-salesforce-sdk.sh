#!/usr/bin/env bash
# Fidelity check of the Salesforce emulator with the official simple-salesforce client:
# starts `cairn emulate salesforce --tls` on a free port with a temporary data dir and
# runs crates/cairn-emulator/sdk-checks/simple_salesforce_check.py against it
# (instance_url + session_id over HTTPS, trusting the emulator's CA).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [[ -n "$emulator_pid" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill "$emulator_pid"
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
# shellcheck source=lib.sh
source "$root/.ci/suites/lib.sh"
cairn_bin="$(build_cairn)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "simple-salesforce==1.12.10"

"$cairn_bin" emulate salesforce --tls --bind 127.0.0.1:0 --seed 7 \
    --data-dir "$work/org" > "$work/emulator.out" 2> "$work/emulator.err" &
emulator_pid=$!

# Wait (at most 60 s) for the start-up lines.
for _ in $(seq 1 600); do
    if grep -q '^access-token: ' "$work/emulator.out"; then
        break
    fi
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        cat "$work/emulator.err" >&2
        echo "the emulator exited during start-up" >&2
        exit 1
    fi
    sleep 0.1
done
url="$(sed -n 's/^listening: //p' "$work/emulator.out")"
ca="$(sed -n 's/^ca: //p' "$work/emulator.out")"
token="$(sed -n 's/^access-token: //p' "$work/emulator.out")"
if [[ -z "$url" || -z "$ca" || -z "$token" ]]; then
    cat "$work/emulator.out" "$work/emulator.err" >&2
    echo "the emulator did not print listening/ca/access-token" >&2
    exit 1
fi

"$work/venv/bin/python" crates/cairn-emulator/sdk-checks/simple_salesforce_check.py "$url" "$token" "$ca"
