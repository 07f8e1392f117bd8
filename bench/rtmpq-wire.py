#!/usr/bin/python3
# A delay line between two network namespaces, for bench/rtmpq.sh: a tun
# device in each (tunq0 in NS_A, tunq1 in NS_B), and every IP packet read
# from one is written to the other DELAY_MS later.  The kernel has no
# netem; random loss is nftables' job (numgen) on the tun devices, so TCP
# and QUIC see the same impairment.
#   rtmpq-wire.py NS_A NS_B DELAY_MS     (one way; RTT = 2 x DELAY_MS)

import ctypes
import fcntl
import heapq
import os
import select
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def tun_in(ns, name):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit('setns %s: %s' % (ns, os.strerror(ctypes.get_errno())))
    os.close(fd)
    tun = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(tun, TUNSETIFF,
                struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return tun


def main():
    ns_a, ns_b, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
    a = tun_in(ns_a, 'tunq0')
    b = tun_in(ns_b, 'tunq1')
    peer = {a: b, b: a}
    queue = []          # (due, seq, fd, packet)
    seq = 0

    print('wire: up', flush=True)

    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, pkt = heapq.heappop(queue)
            try:
                os.write(fd, pkt)
            except OSError:
                pass
        timeout = max(0, queue[0][0] - now) if queue else 1.0
        ready, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                seq += 1
                heapq.heappush(queue, (now + delay, seq, peer[fd], pkt))


main()
