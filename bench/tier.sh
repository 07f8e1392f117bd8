#!/bin/bash
# GET /tier/pick (16 members) against "return 200" on the same nginx, in
# the same run, with wrk; prints both figures and their ratio.
#   bench/tier.sh [seconds] [connections]

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
conns=${2:-50}
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
dir=$(mktemp -d /tmp/bench-tier.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

members=
for i in $(seq -w 1 16); do
    members="$members        member mid-$i 10.0.1.$i:1935;"$'\n'
done

mkdir -p "$dir/logs"
cat > "$dir/nginx.conf" <<EOC
load_module $top/build/ngx_http_tier_module.so;
worker_processes 1;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    keepalive_requests 1000000;
    tier_group mid {
$members    }
    server {
        listen 127.0.0.1:$port;
        location = /tier/pick { tier_enum mid; }
        location = /ok { return 200 '{"ok":true}'; }
    }
}
EOC

"$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
trap 'kill -QUIT $(cat "$dir/logs/nginx.pid") 2>/dev/null; sleep 0.3; rm -rf "$dir"' EXIT

curl -sf "http://127.0.0.1:$port/tier/pick?key=live/bench" > /dev/null

rps() {
    wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port$1" \
        | awk '/Requests\/sec/ { print $2 }'
}

base=$(rps /ok)
pick=$(rps "/tier/pick?key=live/stream0001")

printf 'tier: return 200             %8.0f req/s\n' "$base"
printf 'tier: /tier/pick, 16 members %8.0f req/s\n' "$pick"
awk -v p="$pick" -v b="$base" \
    'BEGIN { printf "tier: ratio pick / return 200 %7.2f (target >= 0.80)\n", p / b }'
