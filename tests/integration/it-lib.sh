# it-lib.sh: shared by the shell integration tests (sourced, not run).
# Verdicts as automake and XTF have them: 0 pass, 1 fail, 99 error.
fail() { echo "FAIL: $*"; exit 1; }
error() { echo "ERROR: $*"; exit 99; }
note() { echo "# $*"; }
[ -n "${DOMID:-}" ] || error "DOMID is not set: run inside the xenhost rig"

# xen-vmevent-drain's JSON status of the guest, one line.
json() { xen-vmevent-drain --json status "$DOMID" 2>/dev/null; }

# wait_for FILE PATTERN: up to 15 s for PATTERN to appear in FILE.
wait_for() {
    i=0
    until grep -q "$2" "$1"; do
        i=$((i + 1)); [ $i -lt 150 ] || return 1
        sleep 0.1
    done
}

# kill_hard PID: SIGKILL, as a crash would, and reap it.
kill_hard() {
    kill -9 "$1"
    wait "$1" 2>/dev/null
    sleep 1
}
