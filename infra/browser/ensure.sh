#!/usr/bin/env bash
# Makes sure the browser tests (tests/tests/browser_*.rs) have a headless Chromium and its
# WebDriver: Debian's `chromium` and `chromium-driver` packages.
#
#   ensure.sh   exit 0 once both are there, installing them with apt-get when missing
#
# The tests start $STELLER_CHROMEDRIVER (default /usr/bin/chromedriver) driving
# $STELLER_CHROMIUM (default /usr/bin/chromium). When either is missing, this runs
# `apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver`
# as root (through sudo when not root and sudo exists). Anywhere that cannot work, it
# fails saying how to install them; the tests fail with the same advice.
set -euo pipefail

chromium="${STELLER_CHROMIUM:-/usr/bin/chromium}"
chromedriver="${STELLER_CHROMEDRIVER:-/usr/bin/chromedriver}"
packages=(chromium chromium-driver)

say() { echo "browser: $*" >&2; }

present() { [[ -x "$chromium" && -x "$chromedriver" ]]; }

advise() {
    say "$*"
    say "the browser tests need Chromium ($chromium) and chromedriver ($chromedriver); install them with"
    say "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}"
    say "or, where there is no apt, point STELLER_CHROMIUM and STELLER_CHROMEDRIVER at a Chromium"
    say "and the chromedriver of the same version"
    exit 1
}

if present; then
    say "$("$chromium" --version 2>/dev/null || echo "$chromium"), $("$chromedriver" --version 2>/dev/null | cut -d' ' -f1-2)"
    exit 0
fi

if [[ -n "${STELLER_CHROMIUM:-}${STELLER_CHROMEDRIVER:-}" ]]; then
    advise "STELLER_CHROMIUM or STELLER_CHROMEDRIVER is set, but names no executable"
fi
command -v apt-get >/dev/null || advise "Chromium is missing and there is no apt-get to install it"
if [[ "$(id -u)" == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    advise "Chromium is missing, and installing it needs root (there is no sudo)"
fi

say "installing ${packages[*]} with apt-get"
started=$SECONDS
"${as_root[@]}" apt-get update -qq || advise "apt-get update failed"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    || advise "apt-get install ${packages[*]} failed"
present || advise "apt-get installed ${packages[*]}, but $chromium or $chromedriver is still missing"
say "installed in $((SECONDS - started)) s: $("$chromium" --version 2>/dev/null || echo "$chromium")"
