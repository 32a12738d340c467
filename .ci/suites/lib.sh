# Helpers shared by the suites (sourced, not run: not executable on purpose).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/.cache/cairn-target}"

# Builds the cairn binary and prints its path.
build_cairn() {
    (cd "$ROOT" && cargo build --quiet -p cairn --bin cairn) >&2
    echo "$CARGO_TARGET_DIR/debug/cairn"
}

# Starts `cairn demo` on a free port with a fresh data directory. Sets DEMO_PID,
# DEMO_DIR, PORTAL, ADMIN_EMAIL, ADMIN_PASSWORD. Call stop_demo when done.
start_demo() {
    local cairn
    cairn=$(build_cairn)
    DEMO_DIR=$(mktemp -d)
    "$cairn" demo --bind 127.0.0.1:0 --data-dir "$DEMO_DIR/data" >"$DEMO_DIR/stdout" 2>"$DEMO_DIR/stderr" &
    DEMO_PID=$!
    local waited=0
    while ! grep -q '^admin: ' "$DEMO_DIR/stdout" 2>/dev/null; do
        if ! kill -0 "$DEMO_PID" 2>/dev/null; then
            echo "cairn demo exited early:" >&2
            cat "$DEMO_DIR/stderr" >&2
            return 1
        fi
        if [ "$waited" -ge 600 ]; then
            echo "cairn demo did not start within 60 s" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    PORTAL=$(sed -n 's/^portal: //p' "$DEMO_DIR/stdout")
    ADMIN_EMAIL=$(sed -n 's/^admin: \([^ ]*\) .*/\1/p' "$DEMO_DIR/stdout")
    ADMIN_PASSWORD=$(sed -n 's/^admin: [^ ]* \(.*\)/\1/p' "$DEMO_DIR/stdout")
    export PORTAL ADMIN_EMAIL ADMIN_PASSWORD
    echo "cairn demo running at $PORTAL (pid $DEMO_PID)"
}

stop_demo() {
    if [ -n "${DEMO_PID:-}" ]; then
        kill "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
        DEMO_PID=
    fi
    if [ -n "${DEMO_DIR:-}" ]; then
        rm -rf "$DEMO_DIR"
    fi
}
