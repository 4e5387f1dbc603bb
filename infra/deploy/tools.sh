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

say() { echo "tools: $*" >&2; }

usage() {
    sed -n '2,4s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# Creates .venv-deploy and installs requirements.txt, skipping pip when nothing changed.
ensure_venv() {
    if [[ ! -x "$python" ]]; then
        say "creating $venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    local stamp="$venv/.steller-deploy-requirements" want
    want="$("$python" --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        say "installing $requirements into $venv"
        "$python" -m pip install --disable-pip-version-check --quiet -r "$requirements"
        echo "$want" >"$stamp"
    fi
}

[[ $# -gt 0 ]] || usage
tool="$1"
shift
[[ "$tool" != */* ]] || usage

ensure_venv
[[ -x "$venv/bin/$tool" ]] || { say "$venv/bin/$tool does not exist (is it in $requirements?)"; exit 127; }
# The SAM CLI's usage telemetry stays off: validation and builds must not phone home.
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
exec "$venv/bin/$tool" "$@"
