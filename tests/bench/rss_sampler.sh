#!/bin/sh
# rss_sampler.sh PID: every 10 ms print "name VmHWM-kB" for PID and all of
# its descendants, until killed.  Used by the install benchmark.
root=$1
while kill -0 "$root" 2>/dev/null; do
	for p in $root $(pgrep -P "$root"); do
		n=$(sed -n 's/^Name:\t*//p' /proc/$p/status 2>/dev/null)
		h=$(sed -n 's/^VmHWM:[ \t]*\([0-9]*\) kB/\1/p' /proc/$p/status 2>/dev/null)
		[ -n "$h" ] && echo "$n $h"
	done
	sleep 0.01
done
