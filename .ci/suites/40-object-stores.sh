#!/usr/bin/env bash
# The vault's object-store contract against real protocol servers on 127.0.0.1:
# S3 (moto[server], PyPI) and Azure Blob (Azurite 3.35.0, npm; newer needs Node >= 21).
# Runs `cargo test -p cairn-vault --test it contract::` with CAIRN_TEST_S3_ENDPOINT and
# CAIRN_TEST_AZURE_ENDPOINT set, so the S3 and Azure cases run instead of skipping.
#
# Needs: python3 with venv, node + npm, the package registries. Installs are cached in
# $CAIRN_CI_CACHE (default /work/.cache/ci-object-stores).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
CACHE="${CAIRN_CI_CACHE:-/work/.cache/ci-object-stores}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cairn-object-stores.XXXXXX")"
MOTO_PID=""
AZURITE_PID=""

cleanup() {
    for pid in "$MOTO_PID" "$AZURITE_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something accepts connections on 127.0.0.1:$1 (process $2 must stay alive).
wait_port() {
    for _ in $(seq 1 300); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.5)" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# --- installs (cached) -------------------------------------------------------------
mkdir -p "$CACHE"
if [[ ! -x "$CACHE/venv/bin/moto_server" ]] || ! "$CACHE/venv/bin/pip" show moto 2>/dev/null | grep -q "^Version: $MOTO_VERSION$"; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" boto3 azure-storage-blob
fi
if [[ ! -x "$CACHE/azurite/node_modules/.bin/azurite-blob" ]]; then
    mkdir -p "$CACHE/azurite"
    (cd "$CACHE/azurite" && npm install --silent --no-audit --no-fund "azurite@$AZURITE_VERSION")
fi

# --- S3: moto ----------------------------------------------------------------------
S3_PORT=$(free_port)
"$CACHE/venv/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
wait_port "$S3_PORT" "$MOTO_PID" || { cat "$WORK/moto.log" >&2; echo "moto did not start" >&2; exit 1; }
export CAIRN_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export CAIRN_TEST_S3_BUCKET="cairn-test"
"$CACHE/venv/bin/python" - <<EOF
import boto3
s3 = boto3.client("s3", endpoint_url="$CAIRN_TEST_S3_ENDPOINT", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.create_bucket(Bucket="$CAIRN_TEST_S3_BUCKET")
EOF

# --- Azure: Azurite ----------------------------------------------------------------
AZ_PORT=$(free_port)
"$CACHE/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" \
    --location "$WORK/azurite" --loose --skipApiVersionCheck \
    >"$WORK/azurite.log" 2>&1 &
AZURITE_PID=$!
wait_port "$AZ_PORT" "$AZURITE_PID" || { cat "$WORK/azurite.log" >&2; echo "Azurite did not start" >&2; exit 1; }
export CAIRN_TEST_AZURE_ENDPOINT="http://127.0.0.1:$AZ_PORT/devstoreaccount1"
# object_store's emulator mode reads the blob endpoint from this variable.
export AZURITE_BLOB_STORAGE_URL="http://127.0.0.1:$AZ_PORT"
export CAIRN_TEST_AZURE_CONTAINER="cairn-test"
"$CACHE/venv/bin/python" - <<EOF
from azure.storage.blob import BlobServiceClient
# Azurite's well-known development account.
conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "BlobEndpoint=$CAIRN_TEST_AZURE_ENDPOINT;")
BlobServiceClient.from_connection_string(conn).create_container("$CAIRN_TEST_AZURE_CONTAINER")
EOF

# --- the contract ------------------------------------------------------------------
cd "$ROOT"
output=$(cargo test -p cairn-vault --test it contract:: -- --nocapture 2>&1) || { echo "$output"; exit 1; }
echo "$output" | grep -E '^test |test result'
if echo "$output" | grep -q 'contract skipped'; then
    echo "a backend contract was skipped although its server is running" >&2
    exit 1
fi
echo "object-store contract passed on local, in-memory, S3 (moto $MOTO_VERSION) and Azure (Azurite $AZURITE_VERSION)"
