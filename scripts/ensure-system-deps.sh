#!/usr/bin/env bash
# Make sure Debian packages are installed: by default the ones the test suite runs for real
# (postgresql: a throw-away server per test session; prometheus-alertmanager: end-to-end alerts and
# amtool; prometheus: promtool, which checks the example alert rules and the compose file's configs,
# and the server the performance report's tests query over TSDB blocks promtool builds; chromium: the
# browser tests/browser drives through Playwright, never a browser Playwright downloads).
#
#   scripts/ensure-system-deps.sh                 # postgresql prometheus-alertmanager prometheus chromium
#   scripts/ensure-system-deps.sh make            # any other packages
#
# Fast (one dpkg-query) when everything is there. Otherwise `apt-get update` once, then
# `apt-get install --no-install-recommends`, as root or through sudo, waiting for the apt lock if
# another apt is running. When it cannot install it says so in one line and exits 0: the tests
# that need a missing package then fail with their own message, they are never skipped silently.
set -uo pipefail

if [ "$#" -gt 0 ]; then
    packages=("$@")
else
    packages=(postgresql prometheus-alertmanager prometheus chromium)
fi
log() { printf 'ensure-system-deps: %s\n' "$*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1; then
    log "not a Debian-based system; install ${packages[*]} yourself (tests that need them fail until then)"
    exit 0
fi

list_missing() {
    local package status
    for package in "${packages[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)"
        case "$status" in
            ii*) ;;
            *) printf '%s\n' "$package" ;;
        esac
    done
}

mapfile -t missing < <(list_missing)
[ "${#missing[@]}" -eq 0 ] && exit 0

give_up() {
    log "could not install ${missing[*]} ($1); tests that need them will fail"
    exit 0
}

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    # Without a terminal (CI) sudo must not sit waiting for a password nobody can type.
    if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
else
    give_up "not root and no sudo"
fi
command -v apt-get >/dev/null 2>&1 || give_up "no apt-get"

apt_get() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

# Another apt (an unattended upgrade, a second shell) may hold the lists or dpkg lock:
# wait for it, up to ten minutes, instead of failing.
apt_get_waiting_for_lock() {
    local output rc attempt
    output="$(mktemp)"
    for attempt in $(seq 1 120); do
        apt_get "$@" 2>&1 | tee "$output" >&2
        rc="${PIPESTATUS[0]}"
        if [ "$rc" -eq 0 ] || ! grep -qE 'Could not get lock|Unable to lock|Unable to acquire' "$output"; then
            break
        fi
        [ "$attempt" -eq 1 ] && log "apt is locked by another process; waiting"
        sleep 5
    done
    rm -f "$output"
    return "$rc"
}

log "installing ${missing[*]}"
apt_get_waiting_for_lock update || log "apt-get update failed; trying the install anyway"
apt_get_waiting_for_lock install -y --no-install-recommends "${missing[@]}" || true

mapfile -t missing < <(list_missing)
[ "${#missing[@]}" -eq 0 ] || give_up "apt-get install failed"
log "installed"
