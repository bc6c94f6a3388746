# Sourced by the screenshot scripts (POSIX sh). wait_for_xvfb NAME DISPLAY PID
# waits until the Xvfb started as PID serves DISPLAY: its socket exists
# and it is still running (a server still running on the display, an
# earlier run shutting down, makes ours exit). After 10 s, or once it has
# exited, it says so as NAME and exits the script.
wait_for_xvfb() {
	_i=0
	while [ ! -S "/tmp/.X11-unix/X${2#:}" ] || ! kill -0 "$3" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$3" 2>/dev/null; then
			echo "$1: Xvfb did not start on $2 (in use? set DISPLAY_NUM)" >&2
			exit 1
		fi
		sleep 0.1
	done
}
