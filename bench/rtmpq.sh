#!/bin/bash
# RTMP over TCP against RTMP over QUIC (ngx_stream_rtmpq_module and
# rtmpq-tunnel), same run, same impairment.
#
# Two network namespaces made here: the encoder's (ffmpeg, and for QUIC
# rtmpq-tunnel) and the server's (one nginx: nginx-rtmp on TCP 1935 and
# the module on UDP 1935, and a plain RTMP player, ffprobe, on loopback).
# They are joined by a tun device in each, bridged by bench/rtmpq-wire.py,
# which delays every packet by RTT/2 (this kernel has no netem); nftables
# drops LOSS% of the packets entering each side (numgen random).  Each
# point publishes a RATE (3 Mbit/s) CBR x264 stream for SECS seconds over
# TCP, then over QUIC, and reports: goodput at the player, end-to-end
# latency (arrival time minus publish start plus the frame's timestamp,
# so encoder start-up is in it, the same for both), stall count and time
# (gaps over 500 ms between frames), time to the first frame, and server
# CPU (nginx, plus the tunnel for QUIC) per megabit.
#   POINTS="loss/rtt ..." (default "0/20 1/100 2/100 5/100 2/200"),
#   SECS (default 15), RATE (default 3M).  Needs root.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "rtmpq bench: needs root (network namespaces), skipped" >&2
    exit 0
fi

exec python3 "$top/bench/rtmpq-bench.py"
