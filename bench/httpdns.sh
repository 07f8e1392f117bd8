#!/bin/bash
# HttpDNS allocation beside stock nginx, in one run on one nginx:
#  1. wrk against a cached allocation (/v1/push, fresh cache hit) and
#     against "return 200" on the same server: requests/s and their ratio
#     (target 0.7 or more);
#  2. cold-miss latency: every request a new subnet, so every request is
#     a miss that waits for the service, beside the same service reached
#     through a stock proxy_pass location (the service's own latency seen
#     from nginx): the difference is what the module adds (target <= 1 ms).
# Figures are noisy on a shared machine: read them as provisional.

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX:-/usr/sbin/nginx}
secs=${SECS:-5}
misses=${MISSES:-500}
work=$(mktemp -d /tmp/httpdns-bench.XXXXXX)
port=$((20000 + RANDOM % 20000))
svc=$((port + 1))

mkdir -p "$work/logs"
chmod 755 "$work"

cat > "$work/nginx.conf" <<EOC
load_module $top/build/ngx_http_httpdns_module.so;
worker_processes 1;
pid $work/logs/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    httpdns_zone alloc:10m refresh=60s;
    server {
        listen 127.0.0.1:$port;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/d;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/\$httpdns_stream?vhost=\$httpdns_domain";
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$svc/;
        }
        location = /direct { proxy_pass http://127.0.0.1:$svc/d; }
        location = /ret200 { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:$svc;
        location = /d { return 200 "192.0.2.40;192.0.2.41,60"; }
    }
}
EOC

"$nginx" -p "$work/" -c "$work/nginx.conf" -e "$work/logs/error.log"
trap 'kill $(cat $work/logs/nginx.pid) 2>/dev/null; rm -rf $work' EXIT
sleep 0.5

hit="http://127.0.0.1:$port/v1/push?stream=s1&ip=198.51.100.7"
curl -sf "$hit" > /dev/null

rps() {
    wrk -t2 -c50 -d"${secs}s" "$1" | awk '/Requests\/sec/ { print $2 }'
}

ours=$(rps "$hit")
stock=$(rps "http://127.0.0.1:$port/ret200")

# cold misses: a new /24 per request, one keep-alive connection
urls() {
    local path=$1 i
    for ((i = 0; i < misses; i++)); do
        echo "url = \"http://127.0.0.1:$port$path&ip=10.$((i / 256)).$((i % 256)).1\""
        echo 'output = "/dev/null"'
    done
}

avg() {
    urls "$1" > "$work/urls"
    curl -s -K "$work/urls" -w '%{time_total}\n' \
        | awk '{ s += $1; n++ } END { printf "%.3f", s / n * 1000 }'
}

miss=$(avg "/v1/push?stream=s1")
direct=$(avg "/direct?x=1")

echo "httpdns benchmark (1 worker, wrk -t2 -c50 -d${secs}s; $misses misses)"
printf '%-40s %12s %12s %8s\n' "" "httpdns" "stock" "ratio"
printf '%-40s %12s %12s %8.2f\n' "cached allocation, requests/s" \
    "$ours" "$stock" "$(echo "$ours / $stock" | bc -l)"
printf '%-40s %12s %12s %8.3f\n' "cold miss vs service via proxy, ms" \
    "$miss" "$direct" "$(echo "$miss - $direct" | bc -l)"
echo "(last column of the second line: milliseconds added per miss)"

grep -E '\[(alert|crit|emerg)\]' "$work/logs/error.log" && exit 1
exit 0
