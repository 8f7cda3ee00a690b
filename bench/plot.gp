# plot.gp: the PNGs of `make bench`, drawn by bench/run-bench when gnuplot
# is installed:
#   gnuplot -e "datadir='DIR'; outdir='DIR'; have_tp=1; have_pause=1" bench/plot.gp
#   throughput.png    CPUID events answered per second by each agent, run
#                     by run (datadir/tp.dat: order agent round events_per_s
#                     group; datadir/tp-groups.gp: a label per placement)
#   pause-window.png  the pause window of every safe disable, per guest,
#                     pending requests and guest load, next to the bare
#                     pause + disable + unpause of the same guest
#                     (datadir/pause.dat: x vcpus pending load kind us;
#                     datadir/pause-xtics.gp: the x axis labels)
# Times are from Xen under QEMU's software emulation: compare, do not quote.

set terminal pngcairo size 960,560 font "sans,10" noenhanced
set grid ytics

if (have_tp) {
    set output outdir.'/throughput.png'
    set title "Event throughput: CPUID events answered per second, agents in turn (Xen 4.17 under QEMU TCG)"
    set xlabel "run, in the order they ran (same guest, same window)"
    # a log scale only when the runs span more than a decade
    stats datadir.'/tp.dat' using 4 nooutput
    if (STATS_min > 0 && STATS_max / STATS_min > 10) {
        set logscale y
        set ylabel "events per second (log scale)"
    } else {
        set ylabel "events per second"
        set yrange [0:*]
    }
    set style fill solid 0.75 border -1
    set boxwidth 0.7
    set xtics 1
    set xrange [0.4:*]
    set key below horizontal
    set offsets 0, 0, graph 0.15, 0
    load datadir.'/tp-groups.gp'
    plot datadir.'/tp.dat' using 1:(strcol(2) eq "xen-access" ? $4 : 1/0) with boxes lc rgb "#888888" title "xen-access (Debian xen-utils-4.17)", \
         ''                using 1:(strcol(2) eq "ours" ? $4 : 1/0) with boxes lc rgb "#2a6fb0" title "vmevent-test-agent (libvmeventctl)", \
         ''                using 1:(strcol(2) eq "lean" ? $4 : 1/0) with boxes lc rgb "#7fb3e0" title "lean agent (libvmeventctl, no wait timeout)"
    unset label
    unset arrow
    set offsets 0, 0, 0, 0
}

if (have_pause) {
    set output outdir.'/pause-window.png'
    set title "Safe disable: time the guest is held by our pause reference, every run, vs bare pause + disable + unpause"
    set xlabel ""
    set ylabel "microseconds (log scale)"
    set logscale y
    set yrange [*:*]
    set key inside top left opaque box
    set bmargin 4
    set xtics font "sans,8"
    load datadir.'/pause-xtics.gp'
    # a fixed spread instead of random jitter, so the picture repeats
    plot datadir.'/pause.dat' using ($1 - 0.3 + 0.2 * ((int($0) * 7) % 11) / 10.0):(strcol(5) eq "disable" ? $6 : 1/0) with points pt 7 ps 0.7 lc rgb "#2a6fb0" title "vmeventctl_ring_disable: pause window", \
         ''                   using ($1 + 0.1 + 0.2 * ((int($0) * 7) % 11) / 10.0):(strcol(5) eq "bare" ? $6 : 1/0) with points pt 6 ps 0.7 lc rgb "#c0392b" title "xc_domain_pause + xc_monitor_disable + xc_domain_unpause"
}
