# Shared by the infra scripts (source it): pinned Python requirements in a venv.
#
#   ensure_venv VENV REQUIREMENTS
#
# Creates VENV when missing and installs REQUIREMENTS into it, skipping pip while the
# requirements file and the Python version are the ones last installed. Each requirements
# file has a stamp of its own in VENV, so several (moto for the emulator, schemathesis for
# the contract run) share one venv without reinstalling each other; `pip check` after an
# install fails the run if one file's pins broke another's.
# Callers define `say` for their messages.

ensure_venv() {
    local venv="$1" requirements="$2"
    local python="$venv/bin/python" want
    # infra/emulator/requirements.txt -> .steller-requirements-infra-emulator
    local name
    name="$(dirname "$(realpath --relative-to="$(dirname "$venv")" "$requirements")" | tr '/' '-')"
    local stamp="$venv/.steller-requirements-$name"
    if [[ ! -x "$python" ]]; then
        say "creating $venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    want="$("$python" --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        say "installing $requirements into $venv"
        "$python" -m pip install --disable-pip-version-check --quiet -r "$requirements"
        "$python" -m pip check --disable-pip-version-check >&2
        echo "$want" >"$stamp"
    fi
}
