#!/usr/bin/env bash
# The acceptance flow over plain HTTP with curl, the way a script or a browser without
# JavaScript does it: cookies in a jar, the CSRF token read from each form.
# sign-up → activation (link from /dev/mailbox) → sign-in → sign-out → forgotten
# password → reset → sign-in with the new password; then the Activity page must list an
# audit event for every step, and /healthz, /readyz, /metrics must answer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_demo
trap stop_demo EXIT

JAR="$DEMO_DIR/cookies"
EMAIL="curl-flow@example.com"
PASSWORD="First-Password-2024"
NEW_PASSWORD="Second-Password-2025"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# GET a page; prints the body.
get() { curl -sS -b "$JAR" -c "$JAR" "$PORTAL$1"; }
# The CSRF token in the first form of a page body on stdin.
csrf_of() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1; }
# POST a form; prints "<status> <location>".
post() {
    local path=$1; shift
    curl -sS -o "$DEMO_DIR/last-body" -w '%{http_code} %{redirect_url}' -b "$JAR" -c "$JAR" "$@" "$PORTAL$path"
}
expect() {
    local got=$1 want=$2 what=$3
    [ "$got" = "$want" ] || { echo "response body:" >&2; cat "$DEMO_DIR/last-body" >&2 || true; fail "$what: got '$got', want '$want'"; }
    ok "$what"
}
# The newest link to $2 in the newest mailbox message whose subject contains $1.
link_from_mailbox() {
    local subject=$1 path=$2 id
    id=$(get /dev/mailbox | grep -B0 -A0 "$subject" | sed -n 's/.*href="\/dev\/mailbox\/\([0-9a-f]\{32\}\)".*/\1/p' | head -n1)
    [ -n "$id" ] || fail "no '$subject' message in the mailbox"
    get "/dev/mailbox/$id" | sed -e 's/&#x2f;/\//g' -e 's/&amp;/\&/g' \
        | grep -o "href=\"[^\"]*${path}?token=[A-Za-z0-9_-]*\"" | head -n1 | sed 's/^href="//; s/"$//'
}

# Sign up.
token=$(get /sign-up | csrf_of)
[ -n "$token" ] || fail "no CSRF token on /sign-up"
result=$(post /sign-up --data-urlencode "csrf_token=$token" --data-urlencode "name=Curl Tester" \
    --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "password_confirm=$PASSWORD" --data-urlencode "region=local")
expect "$result" "303 $PORTAL/sign-up/check-email" "sign-up"

# Activate with the link from the demo mailbox.
link=$(link_from_mailbox "Activate your Cairn account" /activate)
[ -n "$link" ] || fail "no activation link in the mail"
result=$(curl -sS -o "$DEMO_DIR/last-body" -w '%{http_code} %{redirect_url}' -b "$JAR" -c "$JAR" "$link")
expect "$result" "303 $PORTAL/sign-in?notice=activated" "activation"

# Sign in, see the Homepage.
token=$(get /sign-in | csrf_of)
result=$(post /sign-in --data-urlencode "csrf_token=$token" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD")
expect "$result" "303 $PORTAL/" "sign-in"
home=$(get /)
grep -q "No backup tasks yet" <<<"$home" || fail "the Homepage did not render"
ok "Homepage shown"

# A form posted without its token is refused.
result=$(post /sign-out --data-urlencode "csrf_token=forged")
expect "$result" "403 " "sign-out without a valid CSRF token is refused"

# Sign out.
token=$(csrf_of <<<"$home")
result=$(post /sign-out --data-urlencode "csrf_token=$token")
expect "$result" "303 $PORTAL/sign-in?notice=signed_out" "sign-out"

# Forgotten password → reset link → new password.
token=$(get /password/forgot | csrf_of)
result=$(post /password/forgot --data-urlencode "csrf_token=$token" --data-urlencode "email=$EMAIL")
expect "$result" "303 $PORTAL/password/forgot/sent" "reset requested"
link=$(link_from_mailbox "Reset your Cairn password" /password/reset)
[ -n "$link" ] || fail "no reset link in the mail"
form=$(curl -sS -b "$JAR" -c "$JAR" "$link")
token=$(csrf_of <<<"$form")
reset_token=${link##*token=}
result=$(post /password/reset --data-urlencode "csrf_token=$token" --data-urlencode "token=$reset_token" \
    --data-urlencode "password=$NEW_PASSWORD" --data-urlencode "password_confirm=$NEW_PASSWORD")
expect "$result" "303 $PORTAL/sign-in?notice=password_reset" "password reset"

# The old password no longer works; the new one does.
token=$(get /sign-in | csrf_of)
result=$(post /sign-in --data-urlencode "csrf_token=$token" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD")
expect "$result" "401 " "old password refused"
token=$(get /sign-in | csrf_of)
result=$(post /sign-in --data-urlencode "csrf_token=$token" --data-urlencode "email=$EMAIL" --data-urlencode "password=$NEW_PASSWORD")
expect "$result" "303 $PORTAL/" "sign-in with the new password"

# Every step left an audit event.
activity=$(get /activity)
for event in "Sign-up" "Account activation" "Sign-in" "Sign-out" "Password reset requested" "Password reset"; do
    grep -q "<td>$event</td>" <<<"$activity" || fail "no '$event' event on the Activity page"
done
grep -q "wrong password" <<<"$activity" || fail "the refused sign-in is not in the audit trail"
ok "audit trail lists every step"

# Operational endpoints.
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$PORTAL/healthz")" = 200 ] || fail "/healthz"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$PORTAL/readyz")" = 200 ] || fail "/readyz"
curl -sS "$PORTAL/metrics" | grep -q 'cairn_sign_ins_total{outcome="success"} 2' || fail "/metrics sign-in counter"
ok "/healthz, /readyz and /metrics"
echo "curl flow passed"
