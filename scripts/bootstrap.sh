#!/usr/bin/env bash
# Create the project's virtualenv (.venv at the repo root) and install the project into it.
#
# Idempotent and fast when nothing changed: `pip install -e '.[dev]'` runs only when
# pyproject.toml differs from the one last installed (its sha256 is kept in a stamp file
# inside .venv), or when .venv is missing or broken. Needs only Python >= 3.11.
#
# Environment: PYTHON=/path/to/python3.11 picks the interpreter that creates the venv.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv=".venv"
stamp="$venv/.opsbot-install-stamp"
log() { printf 'bootstrap: %s\n' "$*" >&2; }

file_sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

is_py311_plus() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && is_py311_plus "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

create_venv() {
    local python
    if ! python="$(find_python)"; then
        log "no Python >= 3.11 found (tried \$PYTHON, python3.11, python3, python); install one and retry"
        exit 1
    fi
    log "creating $venv with $python"
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        # Debian's own Python ships venv/ensurepip separately (python3-venv).
        rm -rf "$venv"
        log "'$python -m venv' failed; trying to install Debian's python3-venv"
        "$repo_root/scripts/ensure-system-deps.sh" python3-venv
        "$python" -m venv "$venv"
    fi
}

install_project() {
    local want="$1"
    log "installing the project: pip install -e '.[dev]'"
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
    printf '%s\n' "$want" >"$stamp"
}

# A broken venv (interpreter moved or deleted, or too old) is rebuilt from scratch.
if [ -d "$venv" ] && ! is_py311_plus "$venv/bin/python"; then
    log "$venv is unusable; recreating it"
    rm -rf "$venv"
fi

want="$(file_sha256 pyproject.toml)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

[ -x "$venv/bin/python" ] || create_venv

# Two `make` runs at once (several shells, editors) must not pip-install into the same venv together.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv/.opsbot-install.lock"
    flock 9
fi
# Another run may have finished the install while this one waited for the lock.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
install_project "$want"
log "done"
