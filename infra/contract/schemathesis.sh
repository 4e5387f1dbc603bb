#!/usr/bin/env bash
# The contract run: schemathesis checks the local server against its own OpenAPI document
# (docs/openapi.json, served at /api/public/openapi.json), every check, every phase
# (examples, coverage, fuzzing, and stateful through the document's links), once with a
# sandbox partner key and once with an ops key. `make contract` runs it alone; `make test`
# runs it after the cargo tests.
#
#   infra/contract/schemathesis.sh
#
# Environment: CONTRACT_EXAMPLES (cases per operation and phase, default 60),
# CONTRACT_SEED (hypothesis seed, default 1; `random` for a new one each run),
# CONTRACT_MIN_CASES (the fewest cases a passing run makes, default 2000).
#
# It installs the pinned schemathesis (requirements.txt) into .venv/ (beside moto), builds
# steller-local with its own cargo command, starts it in memory on a free loopback port
# with an ops key, signs up a partner for a sandbox key, gives it pending live top-ups
# through the portal (pending_top_ups.py), runs both passes, checks that the ops pass
# decided some of them with the money following, prints a summary and stops the server
# whatever happened. Logs and reports are in target/contract/. Exit code: 0 only when both
# passes ran and found nothing, and the ops pass decided real requests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
requirements="$here/requirements.txt"
python="$venv/bin/python"
out="$root/target/contract"
examples="${CONTRACT_EXAMPLES:-60}"
seed="${CONTRACT_SEED:-1}"
# The run fails with fewer cases than this in total (docs/qa.md).
min_cases="${CONTRACT_MIN_CASES:-2000}"

say() { echo "contract: $*" >&2; }

install_failed() {
    say "could not install schemathesis from $requirements into $venv."
    say "It needs python3 with venv and pip, and PyPI. Install them (Debian: apt-get install python3-venv python3-pip),"
    say "or install it by hand: python3 -m venv .venv && .venv/bin/pip install -r infra/contract/requirements.txt"
    exit 1
}

cd "$root"
# In a process of its own, so that `set -e` stops it at the first failing step: inside a
# `||` this shell would carry on past a failed pip and stamp the venv as installed.
bash -c 'set -euo pipefail; source "$1"; say() { echo "contract: $*" >&2; }; ensure_venv "$2" "$3"' _ \
    "$here/../venv.sh" "$venv" "$requirements" || install_failed
[[ -x "$venv/bin/schemathesis" ]] || install_failed

say "building steller-local"
cargo build --quiet -p steller-local
binary="${CARGO_TARGET_DIR:-$root/target}/debug/steller-local"

mkdir -p "$out"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
ops_key="stl_ops_$("$python" -c 'import secrets, string; a = string.ascii_letters + string.digits; print("".join(secrets.choice(a) for _ in range(40)))')"
log="$out/steller-local-$port.log"
say "starting steller-local on $base, log in $log"
# The server's own log filter is left as it is: it logs each request once, which is the
# trail to follow when schemathesis reports a failure.
STELLER_OPS_KEY="$ops_key" "$binary" --port "$port" --in-memory --analytics-interval 5 >"$log" 2>&1 &
server_pid=$!

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$((SECONDS + 60))
until curl --silent --fail --noproxy '*' --max-time 5 --output /dev/null "$base/api/public/openapi.json"; do
    kill -0 "$server_pid" 2>/dev/null || { say "steller-local exited before answering; see $log"; exit 1; }
    ((SECONDS < deadline)) || { say "steller-local did not answer on $base within 60 s; see $log"; exit 1; }
    sleep 0.2
done

signup="$(curl --silent --fail --noproxy '*' -X POST "$base/api/public/signup" \
    -H 'content-type: application/json' \
    -d '{"company_name": "Contract Test Ltd", "email": "contract@steller.example"}')" ||
    { say "signing up the test partner failed; see $log"; exit 1; }
partner_key="$("$python" -c 'import json, sys; print(json.load(sys.stdin)["api_key"])' <<<"$signup")"
partner_id="$("$python" -c 'import json, sys; print(json.load(sys.stdin)["partner"]["id"])' <<<"$signup")"

# Partners are limited per second; the test partner gets room for schemathesis' pace so
# the run covers the routes rather than the 429 (which is documented, and still checked
# wherever it is answered).
limit_status="$(curl --silent --noproxy '*' --output /dev/null --write-out '%{http_code}' -X PUT \
    "$base/api/admin/partners/$partner_id/rate-limits/sandbox" -H "authorization: Bearer $ops_key" \
    -H 'content-type: application/json' -d '{"requests_per_second": 1000}')"
if [[ "$limit_status" != 2* ]]; then
    say "could not raise the test partner's rate limit (PUT …/rate-limits/sandbox answered $limit_status); running at the default"
fi

# Real pending live top-ups for the ops pass to approve and reject (pending_top_ups.py):
# without them its decisions only ever meet unknown ids.
top_ups_state="$out/pending-top-ups.json"
"$python" "$here/pending_top_ups.py" prepare "$base" "$log" "contract@steller.example" 20 "$top_ups_state" ||
    { say "preparing pending top-ups failed; see $log"; exit 1; }

# One pass of schemathesis: $1 names it, $2 is the key, the rest filters operations.
run_pass() {
    local name="$1" key="$2"
    shift 2
    say "pass '$name': $examples examples per operation and phase, seed $seed"
    local started=$SECONDS status=0
    rm -rf "${out:?}/$name"
    STELLER_CONTRACT_KEY="$key" STELLER_CONTRACT_PARTNER="$partner_id" "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$base/api/public/openapi.json" \
        --url "$base" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$examples" \
        $([[ "$seed" == random ]] || echo --seed "$seed") \
        --report ndjson,junit --report-dir "$out/$name" \
        "$@" || status=$?
    echo "$name $status $((SECONDS - started))" >>"$out/passes"
    return 0
}

: >"$out/passes"
# Every operation but the admin ones with the partner key, then the admin ones with the
# ops key; each key on the other's routes would only be 403.
run_pass partner "$partner_key" --exclude-path-regex '^/api/admin/'
run_pass ops "$ops_key" --include-path-regex '^/api/admin/'

decisions=0
"$python" "$here/pending_top_ups.py" check "$base" "$ops_key" "$top_ups_state" || decisions=$?
"$python" "$here/summary.py" "$out" "$min_cases" && ((decisions == 0))
