#!/usr/bin/python3
# RTMP over TCP against RTMP over QUIC under the same impairment; driven by
# bench/rtmpq.sh, which documents it.  Needs root (network namespaces).

import os
import re
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECS = int(os.environ.get('SECS', '15'))
POINTS = os.environ.get('POINTS', '0/20 1/100 2/100 5/100 2/200').split()
RATE = os.environ.get('RATE', '3M')
CCS = os.environ.get('CCS', 'cubic bbr').split()     # the tunnel's --cc
NGINX = os.environ.get('NGINX', '/usr/sbin/nginx')
TAG = str(os.getpid())
NS_A, NS_B = 'rqa' + TAG, 'rqb' + TAG       # encoder side, server side
ADDR_A, ADDR_B = '10.77.0.1', '10.77.0.2'
WORK = '/tmp/rtmpq-bench.' + TAG

procs = []


def sh(cmd, ns=None, check=True):
    if ns:
        cmd = 'ip netns exec %s %s' % (ns, cmd)
    return subprocess.run(cmd, shell=True, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True).stdout


def spawn(cmd, ns=None, log=None):
    if ns:
        cmd = 'ip netns exec %s %s' % (ns, cmd)
    out = open(log, 'w') if log else subprocess.DEVNULL
    p = subprocess.Popen('exec ' + cmd, shell=True, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    procs.append(p)
    return p


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_for(path, pattern, secs=10):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if re.search(pattern, open(path).read()):
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def cpu(pid):
    # utime + stime of a process, seconds
    try:
        f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


def children(pid):
    out = sh('pgrep -P %d' % pid, check=False)
    return [int(x) for x in out.split()]


def setup(loss, rtt):
    sh('ip netns add ' + NS_A)
    sh('ip netns add ' + NS_B)
    wire = spawn('python3 %s/bench/rtmpq-wire.py %s %s %s'
                 % (TOP, NS_A, NS_B, rtt / 2), log=WORK + '/wire.log')
    if not wait_for(WORK + '/wire.log', 'wire: up'):
        sys.exit('the delay wire did not start')
    for ns, dev, me, peer in ((NS_A, 'tunq0', ADDR_A, ADDR_B),
                              (NS_B, 'tunq1', ADDR_B, ADDR_A)):
        sh('ip link set lo up', ns)
        sh('ip link set %s up' % dev, ns)
        sh('ip addr add %s peer %s dev %s' % (me, peer, dev), ns)
        if loss:
            sh("nft 'add table inet loss; add chain inet loss in "
               "{ type filter hook input priority 0; }; add rule inet loss in "
               "iifname %s numgen random mod 100 < %d drop'" % (dev, loss), ns)
    return wire


def teardown(wire):
    for p in list(procs):
        stop(p)
    procs.clear()
    sh('ip netns del ' + NS_A, check=False)
    sh('ip netns del ' + NS_B, check=False)


def server():
    conf = WORK + '/nginx.conf'
    open(conf, 'w').write('''
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module {top}/build/ngx_stream_rtmpq_module.so;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
{user}
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log info;
events {{ worker_connections 256; }}
stream {{
    server {{
        listen {b}:1935 udp reuseport;
        rtmpq_pass 127.0.0.1:19350;
        rtmpq_proxy_protocol on;
        rtmpq_certificate {w}/rtmpq.crt;
        rtmpq_certificate_key {w}/rtmpq.key;
    }}
}}
rtmp {{
    server {{
        listen {b}:1935;
        listen 127.0.0.1:19350 proxy_protocol;
        listen 127.0.0.1:19351;
        application live {{ live on; }}
    }}
}}
'''.format(top=TOP, w=WORK, b=ADDR_B,
           user='user root;' if os.getuid() == 0 else ''))
    p = spawn("%s -p %s/ -c %s -e %s/error.log -g 'daemon off;'"
              % (NGINX, WORK, conf, WORK), NS_B)
    if not wait_for(WORK + '/error.log', 'start worker process'):
        sys.exit('nginx did not start:\n' + open(WORK + '/error.log').read())
    return p


def run(transport, srv):
    """One publish of SECS seconds; returns the figures."""
    name = 's%s%d' % (transport, int(time.time() * 1000) % 100000)
    player = subprocess.Popen(
        'exec ip netns exec %s ffprobe -v error -rw_timeout 20000000 '
        '-probesize 32 -analyzeduration 0 -fflags nobuffer '
        '-select_streams v -show_entries packet=pts_time,size -of csv=p=0 '
        'rtmp://127.0.0.1:19351/live/%s' % (NS_B, name),
        shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True)
    procs.append(player)
    time.sleep(0.5)      # the player waits for the publish (nginx-rtmp)

    nginx_pids = children(srv.pid)
    tunnel = None
    url = 'rtmp://%s:1935/live/%s' % (ADDR_B, name)
    if transport != 'tcp':
        log = WORK + '/tunnel.log'
        tunnel = spawn('%s/build/rtmpq-tunnel --listen 127.0.0.1:1936 '
                       '--cc %s --cafile %s/rtmpq.crt rtmpq://%s:1935/live'
                       % (TOP, transport.split('-')[1], WORK, ADDR_B), NS_A,
                       log)
        wait_for(log, 'listening')
        url = 'rtmp://127.0.0.1:1936/live/' + name

    cpu0 = sum(cpu(p) for p in nginx_pids) + (cpu(tunnel.pid) if tunnel else 0)
    t_pub = time.monotonic()
    pub = spawn('ffmpeg -hide_banner -loglevel error -re -f lavfi '
                '-i testsrc2=size=640x360:rate=25 -t %d -vf noise=alls=12:allf=t '
                '-c:v libx264 -preset ultrafast -tune zerolatency '
                '-b:v %s -maxrate %s -bufsize %s -x264-params nal-hrd=cbr '
                '-g 50 -an -f flv %s' % (SECS, RATE, RATE, RATE, url), NS_A)

    arrivals = []
    deadline = t_pub + SECS + 15
    os.set_blocking(player.stdout.fileno(), False)
    buf = ''
    while time.monotonic() < deadline:
        try:
            chunk = os.read(player.stdout.fileno(), 65536).decode()
        except BlockingIOError:
            chunk = None
        now = time.monotonic()
        if chunk:
            buf += chunk
            *lines, buf = buf.split('\n')
            for line in lines:
                m = re.match(r'([\d.]+),(\d+)', line)
                if m:
                    arrivals.append((now, float(m.group(1)), int(m.group(2))))
        elif pub.poll() is not None and arrivals \
                and now - arrivals[-1][0] > 3:
            break
        else:
            time.sleep(0.005)

    cpu1 = sum(cpu(p) for p in nginx_pids) + (cpu(tunnel.pid) if tunnel else 0)
    stop(pub)
    stop(player)
    if tunnel:
        stop(tunnel)
        procs.remove(tunnel)
    procs.remove(pub)
    procs.remove(player)

    if len(arrivals) < 10:
        return None

    lat = sorted(a - (t_pub + pts) for a, pts, _ in arrivals)
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:])]
    stalls = [g for g in gaps if g > 0.5]
    span = arrivals[-1][0] - arrivals[0][0]
    mbits = sum(s for _, _, s in arrivals) * 8 / 1e6
    return {
        'goodput': mbits / span if span > 0 else 0,
        'p50': statistics.median(lat) * 1000,
        'p95': lat[int(len(lat) * 0.95) - 1] * 1000,
        'stalls': len(stalls),
        'stall_s': sum(stalls),
        'connect': (arrivals[0][0] - t_pub) * 1000,
        'cpu': (cpu1 - cpu0) * 1000 / mbits if mbits else 0,
        'frames': len(arrivals),
    }


def main():
    os.makedirs(WORK)
    subprocess.run('openssl req -x509 -newkey ec -pkeyopt '
                   'ec_paramgen_curve:prime256v1 -nodes -keyout %s/rtmpq.key '
                   '-out %s/rtmpq.crt -days 2 -subj /CN=bench -addext '
                   'subjectAltName=IP:%s >/dev/null 2>&1'
                   % (WORK, WORK, ADDR_B), shell=True, check=True)

    print('RTMP over TCP vs RTMP over QUIC: %s video for %d s per run, '
          'loss by nftables on both sides, delay by a tun wire' % (RATE, SECS))
    print('%-9s %-10s %8s %8s %8s %7s %8s %8s %9s  %s'
          % ('loss/rtt', 'via', 'Mbit/s', 'p50 ms', 'p95 ms', 'stalls',
             'stall s', 'first ms', 'cpu ms/Mb', 'QUIC/TCP p95, stall s'))

    for point in POINTS:
        loss, rtt = (int(x) for x in point.split('/'))
        res = {}
        wire = setup(loss, rtt)
        try:
            srv = server()
            for transport in ['tcp'] + ['quic-' + cc for cc in CCS]:
                r = res[transport] = run(transport, srv)
                if r is None:
                    print('%-9s %-10s no frames arrived' % (point, transport))
                    continue
                ratio = ''
                if transport != 'tcp' and res.get('tcp'):
                    t = res['tcp']
                    ratio = '%.2f, %s' % (
                        r['p95'] / t['p95'] if t['p95'] > 0 else 0,
                        '%.2f' % (r['stall_s'] / t['stall_s'])
                        if t['stall_s'] else '%.1f vs 0' % r['stall_s'])
                print('%-9s %-10s %8.2f %8.0f %8.0f %7d %8.1f %8.0f %9.1f  %s'
                      % (point, transport, r['goodput'], r['p50'], r['p95'],
                         r['stalls'], r['stall_s'], r['connect'], r['cpu'],
                         ratio), flush=True)
        finally:
            teardown(wire)

    subprocess.run(['rm', '-rf', WORK])


if __name__ == '__main__':
    try:
        main()
    finally:
        for p in procs:
            stop(p)
        sh('ip netns del ' + NS_A, check=False)
        sh('ip netns del ' + NS_B, check=False)
