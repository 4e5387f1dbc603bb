#!/usr/bin/env bash
# Runs a command with an AWS emulator (DynamoDB + SQS + SES) at STELLER_TEST_AWS_ENDPOINT.
#
#   run-with-emulator.sh CMD [ARGS...]   run CMD against an emulator, exit with CMD's code
#   run-with-emulator.sh --serve PORT    run the emulator in the foreground on PORT
#
# If STELLER_TEST_AWS_ENDPOINT is already set (e.g. LocalStack at http://localhost:4566),
# CMD runs against it and nothing is started. Otherwise the pinned moto server
# (requirements.txt) is installed into .venv/ at the repo root, started behind
# serialised_moto.py on a free loopback port, and always stopped when CMD ends.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
requirements="$here/requirements.txt"
python="$venv/bin/python"
# shellcheck source=../venv.sh
source "$here/../venv.sh"

say() { echo "run-with-emulator: $*" >&2; }

usage() {
    sed -n '2,5s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}


# Succeeds once the emulator on port $1 answers HTTP.
answers() {
    local url="http://127.0.0.1:$1/moto-api/data.json"
    if command -v curl >/dev/null; then
        curl --silent --fail --noproxy '*' --max-time 5 --output /dev/null "$url"
    else
        "$python" -c 'import sys, urllib.request as u
u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=5).read()' "$url" 2>/dev/null
    fi
}

[[ $# -gt 0 ]] || usage

if [[ "$1" == "--serve" ]]; then
    [[ $# -eq 2 && "$2" =~ ^[0-9]+$ ]] || usage
    ensure_venv "$venv" "$requirements"
    say "point tests at it with STELLER_TEST_AWS_ENDPOINT=http://127.0.0.1:$2"
    exec "$python" "$here/serialised_moto.py" --port "$2"
fi

if [[ -n "${STELLER_TEST_AWS_ENDPOINT:-}" ]]; then
    say "using the emulator at STELLER_TEST_AWS_ENDPOINT=$STELLER_TEST_AWS_ENDPOINT (starting none)"
    exec "$@"
fi

ensure_venv "$venv" "$requirements"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$root/target/emulator"
log="$root/target/emulator/moto-$port.log"
say "starting moto on 127.0.0.1:$port, log in $log"
"$python" "$here/serialised_moto.py" --port "$port" >"$log" 2>&1 &
moto_pid=$!

stop_emulator() {
    kill -TERM "$moto_pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$moto_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
}
trap stop_emulator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$((SECONDS + 60))
until answers "$port"; do
    problem=""
    kill -0 "$moto_pid" 2>/dev/null || problem="moto exited before answering"
    ((SECONDS < deadline)) || problem="moto did not answer on 127.0.0.1:$port within 60 s"
    if [[ -n "$problem" ]]; then
        say "$problem; last lines of $log:"
        tail -n 30 "$log" >&2
        exit 1
    fi
    sleep 0.2
done
say "moto is ready"

export STELLER_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
status=0
"$@" || status=$?
exit "$status"
