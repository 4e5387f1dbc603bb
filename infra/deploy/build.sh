#!/usr/bin/env bash
# `make build`: `sam build` of template.yaml, then a check of what it built.
#
#   build.sh [SAM BUILD ARGS...]   sam build, then the check below
#   build.sh --check                 only the check, of what .aws-sam/build holds now
#
# Every function's BuildMethod is rust-cargolambda: sam runs `cargo lambda build --release
# --arm64 --bin <name>` in the workspace, which cross-compiles for aarch64 and links with
# zig (cargo-lambda and ziglang are pinned in requirements.txt and installed by tools.sh;
# no Docker, no system cross toolchain). Rust's aarch64 standard library is added through
# rustup when missing. Afterwards every function of the template must have a `bootstrap`
# that is an aarch64 Linux executable within the size budget, or this fails naming the
# function.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target=aarch64-unknown-linux-gnu
build_dir="$root/.aws-sam/build"
# No bootstrap may pass this, whatever its record says: today they are 7.3-10.4 MiB
# (stripped, opt-level "s", thin LTO), and the embedded engine (dynoxide, SQLite) of the
# local server would take one far past it.
budget_kib=12288
# Each function's size as last measured, and how far above it a build may go: 2%, so a
# dependency pulled in fails the build while a feature's own code does not.
sizes="$here/bootstrap-sizes.txt"
growth_percent=2

say() { echo "build: $*" >&2; }

cd "$root"
if [[ "${1:-}" == "--check" ]]; then
    shift
else
    if ! rustc --print target-libdir --target "$target" >/dev/null 2>&1 \
        || [[ ! -d "$(rustc --print target-libdir --target "$target")" ]]; then
        command -v rustup >/dev/null || { say "Rust's $target standard library is missing and there is no rustup to add it"; exit 1; }
        say "adding Rust's $target standard library"
        rustup target add "$target"
    fi
    started=$SECONDS
    "$here/tools.sh" sam build --template template.yaml "$@"
    say "sam build took $((SECONDS - started)) s"
fi

# Each function's artifact: .aws-sam/build/<LogicalId>/bootstrap, an ELF executable for
# aarch64 (e_machine 183 at byte 18, little-endian), as provided.al2023 on arm64 runs it.
status=0
# The template's functions: each `  <LogicalId>:` under Resources whose Type is a function.
functions=$(awk '/^  [A-Za-z0-9]+:$/ { id = substr($1, 1, length($1) - 1) }
    /^    Type: AWS::Serverless::Function$/ { print id }' template.yaml)
[[ -n "$functions" ]] || { say "template.yaml has no AWS::Serverless::Function"; exit 1; }
declare -A recorded=()
while read -r id kib _; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    recorded[$id]=$kib
    grep -qx "$id" <<<"$functions" || { say "${sizes#"$root"/} has a line for $id, which template.yaml does not have"; status=1; }
done <"$sizes"
for id in $functions; do
    bootstrap="$build_dir/$id/bootstrap"
    if [[ ! -x "$bootstrap" ]]; then
        say "$id: $bootstrap is missing or not executable"
        status=1
        continue
    fi
    magic=$(od -An -tx1 -N4 "$bootstrap" | tr -d ' \n')
    machine=$(od -An -tu2 -j18 -N2 "$bootstrap" | tr -d ' \n')
    if [[ "$magic" != "7f454c46" || "$machine" != "183" ]]; then
        say "$id: $bootstrap is not an aarch64 ELF executable (magic $magic, machine $machine)"
        status=1
        continue
    fi
    kib=$(( $(wc -c <"$bootstrap") / 1024 ))
    if (( kib > budget_kib )); then
        say "$id: $bootstrap is $kib KiB, over the budget of $budget_kib KiB"
        status=1
        continue
    fi
    record="${recorded[$id]:-}"
    if [[ -z "$record" ]]; then
        say "$id: $kib KiB, and ${sizes#"$root"/} has no line for it: add one"
        status=1
        continue
    fi
    margin=$((record * growth_percent / 100))
    if ((kib > record + margin)); then
        say "$id: $bootstrap is $kib KiB, more than $growth_percent% above its recorded $record KiB (${sizes#"$root"/}):"
        say "  find what grew it, or raise its line in a commit that says why"
        status=1
        continue
    fi
    printf 'build: %-24s %6d KiB  (recorded %6d KiB, %+5d)  aarch64\n' "$id" "$kib" "$record" "$((kib - record))" >&2
    if ((kib < record - margin)); then
        say "  $id has shrunk more than $growth_percent% below its line: lower it to $kib in ${sizes#"$root"/}"
    fi
done
exit "$status"
