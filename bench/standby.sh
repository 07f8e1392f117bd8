#!/bin/bash
# Standby redirect beside stock nginx, in one run: a primary and a standby
# nginx, one worker each, pinned to their own core (worker_cpu_affinity).
#  1. wrk against a redirect decision with a cached answer and against
#     "return 302" on the same primary: requests/s and their ratio
#     (target 0.7 or more);
#  2. uncached decisions: every request a new file, so every request asks
#     the standby, beside "return 302": median and 90th percentile, and
#     the median added (target at most 2 ms);
#  3. a standby that does not accept connections (a listener whose queue
#     is full, so connects hang): the first request, served locally after
#     proxy_connect_timeout (100 ms here; target at most 10 ms past it),
#     then requests in the retry window beside stock static serving of
#     the same files (target: nothing added);
#  4. the point of it all: 1 MB files both controllers hold, fetched by
#     curl with 16 transfers at a time following the redirects, against
#     the same files from the primary alone: requests/s of the pair and of
#     the primary alone, their ratio, and the standby's share of the
#     files (it takes all it has room for: max_conns is not reached,
#     MAXC=n to change that) and the primary worker's CPU per request.
# Figures are noisy on a shared machine: read them as provisional.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX:-/usr/sbin/nginx}
secs=${SECS:-5}
misses=${MISSES:-500}
bigs=${BIGS:-2000}
maxc=${MAXC:-1000}
work=$(mktemp -d /tmp/standby-bench.XXXXXX)
pp=$((20000 + RANDOM % 20000))
sp=$((pp + 1))
hole=$((pp + 2))

mkdir -p "$work/p/logs" "$work/s/logs" "$work/primary/media" \
         "$work/standby/media"
chmod 755 "$work"

for ((i = 0; i < misses; i++)); do
    echo "small file $i" > "$work/primary/media/s$i.bin"
done
head -c 1048576 /dev/urandom > "$work/primary/media/big.bin"
for ((i = 0; i < 20; i++)); do
    cp "$work/primary/media/big.bin" "$work/primary/media/b$i.bin"
done
cp "$work/primary/media/"* "$work/standby/media/"

cat > "$work/s/nginx.conf" <<EOC
load_module $top/build/ngx_http_standby_module.so;
worker_processes 1;
worker_cpu_affinity 10;
pid $work/s/logs/nginx.pid;
error_log $work/s/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    server {
        listen 127.0.0.1:$sp;
        location = /standby/check {
            standby_check root=$work/standby max_conns=$maxc
                          base=http://127.0.0.1:$sp;
        }
        location /media/ { root $work/standby; }
        location = /status { stub_status; }
    }
}
EOC

cat > "$work/p/nginx.conf" <<EOC
load_module $top/build/ngx_http_standby_module.so;
worker_processes 1;
worker_cpu_affinity 01;
pid $work/p/logs/nginx.pid;
error_log $work/p/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    standby_redirect_zone bench:16m;
    upstream standby {
        server 127.0.0.1:$sp;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$pp;
        location /media/ {
            standby_redirect /_standby/check?uri=\$standby_uri;
            standby_redirect_cache 3600s;
            root $work/primary;
        }
        location /_standby/ {
            internal;
            proxy_pass http://standby/standby/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /down/ {
            standby_redirect /_down/check?uri=\$standby_uri;
            standby_redirect_retry 3600s;
            alias $work/primary/media/;
        }
        location /_down/ {
            internal;
            proxy_pass http://127.0.0.1:$hole/standby/;
            proxy_connect_timeout 100ms;
        }
        location /static/ { alias $work/primary/media/; }
        location /alone/ { alias $work/primary/media/; }
        location /ret302 {
            return 302 http://127.0.0.1:$sp/media/s1.bin?standby_hop=1;
        }
        location = /status { stub_status; }
    }
}
EOC

# a listener that never accepts, its queue filled: connects to it hang
python3 - "$hole" > "$work/hole.log" 2>&1 <<'EOP' &
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(0)
held = []
for _ in range(4):
    c = socket.socket()
    c.settimeout(0.2)
    try:
        c.connect(("127.0.0.1", port))
    except OSError:
        pass
    held.append(c)
print("ready", flush=True)
time.sleep(3600)
EOP
holepid=$!

"$nginx" -p "$work/s/" -c "$work/s/nginx.conf" -e "$work/s/logs/error.log"
"$nginx" -p "$work/p/" -c "$work/p/nginx.conf" -e "$work/p/logs/error.log"
trap 'kill $(cat $work/p/logs/nginx.pid) $(cat $work/s/logs/nginx.pid) \
      $holepid 2>/dev/null; rm -rf $work' EXIT

for i in $(seq 50); do
    grep -q ready "$work/hole.log" 2>/dev/null \
        && curl -sf -o /dev/null "http://127.0.0.1:$pp/static/s1.bin" \
        && curl -sf -o /dev/null "http://127.0.0.1:$sp/status" && break
    sleep 0.1
done

P=http://127.0.0.1:$pp

rps() {
    wrk -t2 -c50 -d"${secs}s" "$1" | awk '/Requests\/sec/ { print $2 }'
}

# one keep-alive connection, one line per request: milliseconds
times() {
    local i
    for ((i = 0; i < $2; i++)); do
        echo "url = \"$P$1$i.bin\""
        echo 'output = "/dev/null"'
    done > "$work/urls"
    curl -s -K "$work/urls" -w '%{time_total}\n' | awk '{ print $1 * 1000 }'
}

pct() {
    sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p); if (i < 1) i = 1; printf "%.3f", a[i] }'
}

# the median of three rounds, ours and stock taking turns, so that a
# busy moment of the machine does not fall on one side only
med3() {
    sort -n | sed -n 2p
}

# 1. cached decisions
curl -s -o /dev/null "$P/media/s1.bin"
for r in 1 2 3; do
    rps "$P/media/s1.bin" >> "$work/ours"
    rps "$P/ret302" >> "$work/stock"
done
ours=$(med3 < "$work/ours")
stock=$(med3 < "$work/stock")

# 2. uncached decisions (the files were never asked for) beside
#    "return 302" over the same kind of connection
times /media/s "$misses" > "$work/miss.ms"
times "/ret302?" "$misses" > "$work/ret.ms"
miss50=$(pct 0.5 < "$work/miss.ms")
miss90=$(pct 0.9 < "$work/miss.ms")
ret50=$(pct 0.5 < "$work/ret.ms")
ret90=$(pct 0.9 < "$work/ret.ms")

# 3. the standby does not accept: the first request, then the window
first=$(curl -s -o /dev/null -w '%{time_total}' "$P/down/s0.bin" \
        | awk '{ printf "%.1f", $1 * 1000 }')
times /down/s 200 > "$work/down.ms"
times /static/s 200 > "$work/static.ms"
down50=$(pct 0.5 < "$work/down.ms")
static50=$(pct 0.5 < "$work/static.ms")

# 4. the pair against the primary alone
big() {
    local i
    for ((i = 0; i < bigs; i++)); do
        echo "url = \"$P$1$((i % 20)).bin\""
        echo 'output = "/dev/null"'
    done > "$work/big"
    curl -s --no-progress-meter -L --parallel --parallel-max 16 -K "$work/big" \
         -w '%{http_code}\n' > "$work/codes"
}

served() {
    curl -s "http://127.0.0.1:$1/status" | awk 'NR == 3 { print $3 }'
}

# CPU time (clock ticks) of the worker of the nginx whose pid file is $1
cpu() {
    local master w
    master=$(cat "$1")
    w=$(pgrep -P "$master" | head -1)
    awk '{ print $14 + $15 }' "/proc/$w/stat"
}

for ((i = 0; i < 20; i++)); do
    curl -s -o /dev/null "$P/media/b$i.bin"
done

s0=$(served "$sp")
ok=0
pcpu=0
acpu=0
for r in 1 2 3; do
    c0=$(cpu "$work/p/logs/nginx.pid")
    t0=$(date +%s.%N)
    big /media/b
    t1=$(date +%s.%N)
    c1=$(cpu "$work/p/logs/nginx.pid")
    echo "$bigs / ($t1 - $t0)" | bc -l >> "$work/pair"
    ok=$((ok + $(grep -c '^200$' "$work/codes" || true)))
    pcpu=$((pcpu + c1 - c0))

    c0=$(cpu "$work/p/logs/nginx.pid")
    t0=$(date +%s.%N)
    big /alone/b
    t1=$(date +%s.%N)
    c1=$(cpu "$work/p/logs/nginx.pid")
    echo "$bigs / ($t1 - $t0)" | bc -l >> "$work/alone"
    acpu=$((acpu + c1 - c0))
done
s1=$(served "$sp")
hz=$(getconf CLK_TCK)
pair=$(med3 < "$work/pair")
alone=$(med3 < "$work/alone")
share=$(echo "($s1 - $s0 - 1) / (3 * $bigs)" | bc -l)

echo "standby benchmark (1 worker each, own core; wrk -t2 -c50 -d${secs}s" \
     "and $bigs x 1 MB, 16 at a time: medians of 3 alternating rounds;" \
     "$misses uncached)"
printf '%-44s %12s %12s %8s\n' "" "standby" "stock" "ratio"
printf '%-44s %12s %12s %8.2f\n' "cached decision vs return 302, req/s" \
    "$ours" "$stock" "$(echo "$ours / $stock" | bc -l)"
printf '%-44s %12s %12s %8.3f\n' "uncached decision vs return 302, median ms" \
    "$miss50" "$ret50" "$(echo "$miss50 - $ret50" | bc -l)"
printf '%-44s %12s %12s %8.3f\n' "  90th percentile ms" \
    "$miss90" "$ret90" "$(echo "$miss90 - $ret90" | bc -l)"
printf '%-44s %12s %12s %8.1f\n' "standby not accepting: first request, ms" \
    "$first" "100" "$(echo "$first - 100" | bc -l)"
printf '%-44s %12s %12s %8.3f\n' "  in the retry window vs static, median ms" \
    "$down50" "$static50" "$(echo "$down50 - $static50" | bc -l)"
printf '%-44s %12.0f %12.0f %8.2f\n' "pair (curl -L) vs primary alone, 1 MB req/s" \
    "$pair" "$alone" "$(echo "$pair / $alone" | bc -l)"
printf '%-44s %12.2f\n' "  share the standby served" "$share"
printf '%-44s %12.3f %12.3f %8.2f\n' "  primary worker CPU per request, ms" \
    "$(echo "$pcpu * 1000 / $hz / (3 * $bigs)" | bc -l)" \
    "$(echo "$acpu * 1000 / $hz / (3 * $bigs)" | bc -l)" \
    "$(echo "($pcpu + 0.001) / ($acpu + 0.001)" | bc -l)"
echo "(ratio column: ours / stock, or ms added for the ms lines;" \
     "$ok of $((3 * bigs)) pair transfers ended 200)"

grep -E '\[(alert|crit|emerg)\]' "$work/p/logs/error.log" \
     "$work/s/logs/error.log" && exit 1
exit 0
