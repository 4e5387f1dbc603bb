#!/usr/bin/env bash
# Runs a deployment tool (sam, cfn-lint, ...) from the pinned deploy venv.
#
#   tools.sh TOOL [ARGS...]   run TOOL from .venv-deploy/bin, exit with its code
#
# The tools of requirements.txt are installed into .venv-deploy/ at the repo root (kept
# apart from the emulator's .venv/), created if missing; pip is skipped while the
# requirements and the Python version are the ones last installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-deploy"
requirements="$here/requirements.txt"
python="$venv/bin/python"
# shellcheck source=../venv.sh
source "$here/../venv.sh"

say() { echo "tools: $*" >&2; }

usage() {
    sed -n '2,4s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}


[[ $# -gt 0 ]] || usage
tool="$1"
shift
[[ "$tool" != */* ]] || usage

ensure_venv "$venv" "$requirements"
[[ -x "$venv/bin/$tool" ]] || { say "$venv/bin/$tool does not exist (is it in $requirements?)"; exit 127; }
# sam finds cargo-lambda, and cargo-lambda finds zig, on the PATH: the pinned ones first.
export PATH="$venv/bin:$PATH"
# The SAM CLI's usage telemetry stays off: validation and builds must not phone home.
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
exec "$venv/bin/$tool" "$@"
