# Shared shell functions for the xenhost dom0 (busybox ash).
# Installed in dom0 as /usr/local/lib/xenhost/lib.sh and sourced by /init,
# xenhost-guest and the other helpers.
#
# Reporting channel: records written to /dev/hvc0 (dom0's console, which Xen
# prints on its serial port, which QEMU writes to the host's serial log).
# One record per line, never longer than ~100 bytes, so that each reaches Xen
# in one console_io chunk and cannot be cut by Xen's own log lines:
#
#     XH1|<type>|<id>|<data>|<length of data>#
#
# The host finds records anywhere in a line, checks the length and ignores
# damaged ones.  Anything longer than a few bytes travels as a "blob": base64
# in 64-character chunks (48 bytes each; chunk i is record "c|<blob>.<i>"),
# closed by "e|<blob>|<chunk count>".

XH_CONSOLE=${XH_CONSOLE:-/dev/hvc0}
XH_STATE=/run/xenhost
XH_BLOB_CAP=${XH_BLOB_CAP:-262144}
XH_BLOB_TAIL=${XH_BLOB_TAIL:-65536}
GUEST_NAME=${GUEST_NAME:-tick}
GUEST_LOG=${GUEST_LOG:-/var/log/xen/console/guest-$GUEST_NAME.log}

# xh_rec TYPE ID DATA
xh_rec() {
	printf 'XH1|%s|%s|%s|%d#\n' "$1" "$2" "$3" "${#3}" >>"$XH_CONSOLE"
}

# xh_now: dom0 uptime in whole seconds
xh_now() {
	local u
	read -r u _ </proc/uptime
	echo "${u%%.*}"
}

# xh_now_ms: dom0 uptime in milliseconds (10 ms resolution)
xh_now_ms() {
	local u
	read -r u _ </proc/uptime
	echo "$((${u%%.*} * 1000 + (1${u#*.} - 100) * 10))"
}

# xh_stream BLOB FILE STOPFILE
# Send FILE as blob BLOB, following it while it grows (twice a second), until
# STOPFILE exists; then send the rest and the end record.  Each chunk holds
# at most 48 bytes and decodes on its own; a chunk shorter than 48 bytes
# ends a run (the host decodes run by run).  At most XH_BLOB_CAP bytes are
# streamed; if FILE is longer, its last XH_BLOB_TAIL bytes follow as blob
# BLOB.tail, and record "z|BLOB|<full size>" says so.
xh_stream() {
	local blob=$1 file=$2 stop=$3 off=0 i=0 size n final limit
	while :; do
		final=0
		[ -e "$stop" ] && final=1
		size=0
		[ -f "$file" ] && size=$(wc -c <"$file")
		limit=$size
		[ "$limit" -gt "$XH_BLOB_CAP" ] && limit=$XH_BLOB_CAP
		n=$((limit - off))
		if [ "$n" -gt 0 ]; then
			tail -c +$((off + 1)) "$file" | head -c "$n" | xh_b64rec "$blob" "$i"
			i=$((i + (n + 47) / 48))
			off=$limit
		fi
		if [ "$final" = 1 ]; then
			if [ "$size" -gt "$XH_BLOB_CAP" ]; then
				tail -c "$XH_BLOB_TAIL" "$file" | xh_b64rec "$blob.tail" 0
				xh_rec e "$blob.tail" "$(((XH_BLOB_TAIL + 47) / 48))"
				xh_rec z "$blob" "$size"
			fi
			xh_rec e "$blob" "$i"
			return 0
		fi
		usleep 500000
	done
}

# xh_b64rec BLOB FIRST: stdin as chunk records BLOB.FIRST, BLOB.FIRST+1, ...
xh_b64rec() {
	base64 -w 64 | awk -v b="$1" -v i="$2" \
		'{ printf "XH1|c|%s.%d|%s|%d#\n", b, i++, $0, length($0); fflush() }' >>"$XH_CONSOLE"
}

# xh_blob BLOB FILE: send a complete file
xh_blob() {
	local stop="$XH_STATE/stop.$$.$RANDOM"
	: >"$stop"
	xh_stream "$1" "$2" "$stop"
	rm -f "$stop"
}

# xh_blob_str BLOB STRING
xh_blob_str() {
	local f="$XH_STATE/str.$$.$RANDOM"
	printf '%s' "$2" >"$f"
	xh_blob "$1" "$f"
	rm -f "$f"
}

# xh_msg TEXT: a progress/diagnostic message for the host (shown with -v)
xh_msg() {
	xh_blob_str "m$(xh_now_ms)r$RANDOM" "[$(xh_now)s] $*"
	echo "xenhost: $*" >&2
}

# xh_stage NAME: timing mark (dom0 uptime in ms)
xh_stage() {
	xh_rec s "$1" "$(xh_now_ms)"
}

# ---- guest console log helpers ------------------------------------------

# xh_tick_count LOG: number of "tick N" lines in LOG
xh_tick_count() {
	local c=0
	[ -f "$1" ] && c=$(grep -c '^tick [0-9]' "$1" 2>/dev/null)
	echo "${c:-0}"
}

# xh_last_tick LOG: N of the last "tick N" line ("" if none)
xh_last_tick() {
	[ -f "$1" ] || return 1
	grep '^tick [0-9]' "$1" 2>/dev/null | tail -n 1 | tr -d '\r' | cut -d' ' -f2
}

# xh_ticks_advance SECS LOG: 0 if the tick count grows within SECS seconds
xh_ticks_advance() {
	local secs=$1 log=$2 start end c
	start=$(xh_tick_count "$log")
	end=$(($(xh_now) + secs))
	while :; do
		c=$(xh_tick_count "$log")
		[ "$c" -gt "$start" ] && return 0
		[ "$(xh_now)" -ge "$end" ] && return 1
		usleep 300000
	done
}
