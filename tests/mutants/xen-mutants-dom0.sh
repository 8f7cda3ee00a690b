#!/bin/sh
# xen-mutants-dom0.sh: the dom0 side of `make check-xen-mutant`, run by
# the xenhost rig (run-script) once the tick guest is up.
#
# For each test that xen-mutants.list names, a control run with the shipped
# library must pass; then each mutant's run, with the mutant's library
# first on LD_LIBRARY_PATH, must fail with the failure line the list gives.  Every run gets a fresh
# guest: a mutant may leave one frozen or paused.
# Exit 0: every control passed and every mutant was killed as expected;
# 1: a mutant survived, or failed in another way; 99: the rig could not
# run a test (a control that fails is one: the test proves nothing then).
set -u
T=/opt/vmeventctl/tests-mutant
M=/opt/vmeventctl/mutants
LIB=/opt/vmeventctl/lib
LIST=$T/xen-mutants.list
rc=0

# run NAME LIBDIR TEST: the test's output in /tmp/mutant-NAME.out, its
# exit status in $trc
run() {
    DOMID=$(xenhost-guest recreate --wait 180 | tail -n 1)
    [ -n "$DOMID" ] || { echo "ERROR: cannot create the tick guest for $1"; exit 99; }
    export DOMID
    LD_LIBRARY_PATH="$2" "$T/$3" > "/tmp/mutant-$1.out" 2>&1
    trc=$?
}

printf '%-16s %-20s %-8s %s\n' mutant test result "failure line" > /tmp/mutants.table
controls=
while IFS='|' read -r name file script test expect what; do
    case $name in ''|'#'*) continue ;; esac
    # XEN_MUTANTS: only these (a run by hand)
    if [ -n "${XEN_MUTANTS:-}" ]; then
        case " $XEN_MUTANTS " in *" $name "*) ;; *) continue ;; esac
    fi
    case " $controls " in
    *" $test "*) ;;
    *)
        run "control-$test" "$LIB" "$test"
        if [ "$trc" != 0 ]; then
            tail -n 15 "/tmp/mutant-control-$test.out"
            echo "ERROR: control: $test fails with the shipped library (exit $trc): the mutants' runs would prove nothing"
            exit 99
        fi
        echo "control: $test passes with the shipped library"
        controls="$controls $test"
        ;;
    esac
    run "$name" "$M/$name:$LIB" "$test"
    line=$(grep -E -m 1 "$expect" "/tmp/mutant-$name.out")
    if [ "$trc" = 1 ] && [ -n "$line" ]; then
        result=killed
    else
        result="NOT KILLED (exit $trc)"
        line=$(grep -m 1 '^FAIL\|^ERROR\|^SKIP' "/tmp/mutant-$name.out")
        tail -n 15 "/tmp/mutant-$name.out"
        rc=1
    fi
    echo "mutant $name ($what): $result"
    printf '%-16s %-20s %-8s %s\n' "$name" "$test" "$result" "$line" >> /tmp/mutants.table
done < "$LIST"
cat /tmp/mutants.table
exit $rc
