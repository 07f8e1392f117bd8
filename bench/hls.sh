#!/bin/bash
# HLS fast start beside stock serving of the same live stream, in one run.
#
# One nginx: nginx-rtmp cuts 2 s fragments (12 s playlist) of an ffmpeg
# test stream; /stock/ serves hls_path with the static module, /fs2/ and
# /fs1/ with hls_fast_start 2 and 1 fragments.  For each, PLAYS first plays
# by ffmpeg (a new terminal each): time to the first decoded frame, and
# start latency = how far that frame is behind live.  Live is the stream
# time now: publish start + elapsed wall time + c, c calibrated from the
# newest fragment's end at a playlist rename.  Then the wake-up delay
# (rename to answer) and reload requests/s (wrk) against stock.  Then the
# web player: WEB_PLAYS rounds of hls.js in headless Chromium, a stock and
# a fast-start play side by side per round, 20 s each: time to the first
# "playing", start latency (hls.latency then) and stalls.
# Figures are noisy on a shared machine: read them as provisional.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX:-/usr/sbin/nginx}
plays=${PLAYS:-20}
web_plays=${WEB_PLAYS:-5}
work=$(mktemp -d /tmp/hls-bench.XXXXXX)
http=$((20000 + RANDOM % 20000))
rtmp=$((http + 1))

mkdir -p "$work/logs" "$work/hls"
chmod 755 "$work"          # the workers may run as another user
chmod 777 "$work/hls"

cat > "$work/nginx.conf" <<EOC
load_module $top/build/ngx_http_hls_fast_start_module.so;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
pid $work/logs/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
rtmp {
    server {
        listen 127.0.0.1:$rtmp;
        application app {
            live on;
            hls on;
            hls_path $work/hls;
            hls_fragment 2s;
            hls_playlist_length 12s;
        }
    }
}
http {
    access_log off;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
    hls_fast_start_zone fs:10m;
    server {
        listen 127.0.0.1:$http;
        location /stock/ { alias $work/hls/; }
        # a terminal per player: the web plays share one browser
        location /fs2/ {
            alias $work/hls/;
            hls_fast_start fs;
            hls_fast_start_key \$remote_addr\$http_user_agent\$arg_player;
        }
        location /fs1/ {
            alias $work/hls/;
            hls_fast_start fs;
            hls_fast_start_fragments 1;
        }
        location = /player {
            default_type text/html;
            return 200 "<!doctype html><title>player</title><body></body>";
        }
    }
}
EOC

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$nginx" -p "$work/" -c "$work/nginx.conf" -e "$work/logs/error.log" \
         -g 'daemon off;' &
pids+=($!)
sleep 0.5

start=$(date +%s.%N)
ffmpeg -hide_banner -loglevel error -re \
    -f lavfi -i "testsrc=size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" \
    -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p \
    -g 25 -keyint_min 25 -sc_threshold 0 -c:a aac -b:a 64k \
    -f flv "rtmp://127.0.0.1:$rtmp/app/s" > "$work/logs/ffmpeg.log" 2>&1 &
pids+=($!)

for i in $(seq 300); do
    n=$(grep -c EXTINF "$work/hls/s.m3u8" 2>/dev/null || true)
    [ "${n:-0}" -ge 6 ] && break
    sleep 0.1
done

if [ "${n:-0}" -lt 6 ]; then
    echo "the stream did not go live; see $work/logs" >&2
    tail -3 "$work/logs/error.log" >&2
    exit 1
fi

WORK=$work HTTP=$http START=$start PLAYS=$plays python3 - <<'EOP'
import os, re, random, subprocess, time, socket, statistics

work, http = os.environ['WORK'], int(os.environ['HTTP'])
start, plays = float(os.environ['START']), int(os.environ['PLAYS'])
pl = work + '/hls/s.m3u8'


def newest_end():
    """wall time of a rename and the stream time at the end of the newest
    fragment then"""
    m0 = os.stat(pl).st_mtime_ns
    while os.stat(pl).st_mtime_ns == m0:
        time.sleep(0.002)
    t = os.stat(pl).st_mtime_ns / 1e9
    last = [l for l in open(pl).read().split('\n') if l.endswith('.ts')][-1]
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v',
                          '-show_entries', 'packet=pts_time,duration_time',
                          '-of', 'csv=p=0', work + '/hls/' + last],
                         capture_output=True, text=True).stdout.split()
    p, d = out[-1].split(',')[:2]
    return t, float(p) + float(d)


def calibrate():
    cs = []
    for _ in range(3):
        t, end = newest_end()
        cs.append(end - (t - start))
    return statistics.median(cs)


c = calibrate()


def play(loc, i):
    # start anywhere within a fragment, as real players do
    time.sleep(random.uniform(0, 2))
    t0 = time.time()
    r = subprocess.run(['ffmpeg', '-hide_banner', '-loglevel', 'info',
                        '-user_agent', 'bench-%s-%d' % (loc, i), '-copyts',
                        '-i', 'http://127.0.0.1:%d/%s/s.m3u8' % (http, loc),
                        '-map', '0:v:0', '-frames:v', '1', '-vf', 'showinfo',
                        '-f', 'null', '-'], capture_output=True, text=True)
    t1 = time.time()
    m = re.search(r'pts_time:([\d.]+)', r.stderr)
    if not m:
        return None
    live = (t1 - start) + c
    # past the fragment boundary: from the last rename (if during the play)
    renamed = os.stat(pl).st_mtime_ns / 1e9
    after = t1 - renamed if renamed > t0 else t1 - t0
    return t1 - t0, live - float(m.group(1)), after


res = {}
for loc in ('stock', 'fs2', 'fs1'):
    got = [x for x in (play(loc, i) for i in range(plays)) if x]
    res[loc] = (statistics.median([g[0] for g in got]),
                statistics.median([g[1] for g in got]), len(got),
                statistics.median([g[2] for g in got]),
                max(g[2] for g in got))

# wake-up: rename to answer, with a raw socket per first request
wakes = []
for i in range(plays):
    s = socket.create_connection(('127.0.0.1', http))
    s.sendall(b'GET /fs2/s.m3u8 HTTP/1.0\r\nUser-Agent: wake-%d\r\n\r\n' % i)
    data = b''
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    t = time.time()
    wakes.append(t - os.stat(pl).st_mtime_ns / 1e9)
    s.close()

print('calibration c = %.3f s (stream time minus publish-relative wall time)'
      % c)
print('%-22s %10s %10s %10s' % ('first plays (median)', 'stock', 'fast 2',
                                 'fast 1'))
print('%-22s %10.3f %10.3f %10.3f' % ('time to frame, s', res['stock'][0],
                                       res['fs2'][0], res['fs1'][0]))
print('%-22s %10.3f %10.3f %10.3f' % ('start latency, s', res['stock'][1],
                                       res['fs2'][1], res['fs1'][1]))
print('%-22s %10s %10.2f %10.2f' % ('latency / stock', '',
                                     res['fs2'][1] / res['stock'][1],
                                     res['fs1'][1] / res['stock'][1]))
print('%-22s %10.3f %10.3f %10.3f' % ('frame after boundary', res['stock'][3],
                                       res['fs2'][3], res['fs1'][3]))
print('%-22s %10.3f %10.3f %10.3f' % ('  max of those', res['stock'][4],
                                       res['fs2'][4], res['fs1'][4]))
print('%-22s %10d %10d %10d' % ('plays', res['stock'][2], res['fs2'][2],
                                 res['fs1'][2]))
print('wake-up after rename: median %.1f ms, max %.1f ms (%d requests)'
      % (statistics.median(wakes) * 1000, max(wakes) * 1000, len(wakes)))
EOP

# reloads: the fast-start location with a known terminal vs stock static
curl -s -o /dev/null -A wrk "http://127.0.0.1:$http/fs2/s.m3u8"
rps() {
    wrk -t2 -c32 -d5s -H 'User-Agent: wrk' "http://127.0.0.1:$http/$1/s.m3u8" \
        | awk '/Requests\/sec/ { print $2 }'
}
stock=$(rps stock)
fast=$(rps fs2)
printf 'reloads/s: stock %s, fast start %s, ratio %.2f\n' "$stock" "$fast" \
       "$(echo "$fast / $stock" | bc -l)"

# the web player, stock and fast start side by side
WORK=$work HTTP=$http PLAYS=$web_plays TOP=$top python3 - <<'EOP'
import json, os, statistics, subprocess

http, rounds, top = int(os.environ['HTTP']), int(os.environ['PLAYS']), \
    os.environ['TOP']
res = {'stock': [], 'fs2': []}

for i in range(rounds):
    conf = {'page': 'http://127.0.0.1:%d/player' % http, 'seconds': 20,
            'plays': [{'name': 'stock', 'src': '/stock/s.m3u8'},
                      {'name': 'fs2', 'src': '/fs2/s.m3u8?player=%d' % i}]}
    out = subprocess.run(['node', top + '/t/helpers/player/play.js',
                          json.dumps(conf)], capture_output=True, text=True)
    r = json.loads(out.stdout)
    if 'skip' in r:
        print('web player: skipped, ' + r['skip'])
        raise SystemExit(0)
    for p in r['plays']:
        if p.get('ttff') is not None:
            res[p['name']].append((p['ttff'] / 1000, p['latency'],
                                   p['waiting'],
                                   any(e['fatal'] for e in p['errors'])))

def med(loc, k):
    return statistics.median(x[k] for x in res[loc])

print('%-30s %10s %10s' % ('web player, hls.js (median)', 'stock', 'fast 2'))
print('%-30s %10.3f %10.3f' % ('time to first frame, s', med('stock', 0),
                               med('fs2', 0)))
print('%-30s %10.3f %10.3f' % ('start latency, s', med('stock', 1),
                               med('fs2', 1)))
print('%-30s %10s %10.2f' % ('latency / stock', '',
                             med('fs2', 1) / med('stock', 1)))
print('%-30s %10d %10d' % ('stalls in the first 20 s, all',
                           sum(x[2] for x in res['stock']),
                           sum(x[2] for x in res['fs2'])))
print('%-30s %10d %10d' % ('fatal errors', sum(x[3] for x in res['stock']),
                           sum(x[3] for x in res['fs2'])))
print('%-30s %10d %10d' % ('plays', len(res['stock']), len(res['fs2'])))
EOP

if grep -q '\[alert\]\|\[crit\]' "$work/logs/error.log"; then
    echo "alerts in the error log:" >&2
    grep '\[alert\]\|\[crit\]' "$work/logs/error.log" >&2
    exit 1
fi
