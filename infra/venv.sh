# Shared by the infra scripts (source it): a pinned Python venv per requirements file.
#
#   ensure_venv VENV REQUIREMENTS
#
# Creates VENV when missing and installs REQUIREMENTS into it, skipping pip while the
# requirements file and the Python version are the ones last installed (a stamp in VENV).
# Callers define `say` for their messages.

ensure_venv() {
    local venv="$1" requirements="$2"
    local python="$venv/bin/python" stamp="$venv/.steller-requirements" want
    if [[ ! -x "$python" ]]; then
        say "creating $venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    want="$("$python" --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        say "installing $requirements into $venv"
        "$python" -m pip install --disable-pip-version-check --quiet -r "$requirements"
        echo "$want" >"$stamp"
    fi
}
