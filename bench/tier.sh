#!/bin/bash
# The tier module beside stock nginx, in one run, one worker each, wrk:
#  1. proxied small objects through a tier_select upstream with a warm
#     lookup cache against the same requests through a plain upstream to
#     the same backend (a second nginx): target 0.85 or more;
#  2. GET /tier/pick with n=3 over groups of 16, 64 and 256 members
#     against "return 200" on the same server: target 0.9 or more at 256.
# Each figure is measured right after its baseline, in rounds; the
# medians are printed, so that the load of a shared machine weighs on
# both alike.  Read the figures as provisional all the same.
#   bench/tier.sh [seconds per run] [connections] [rounds]

set -e

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-2}
conns=${2:-50}
rounds=${3:-5}
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
dir=$(mktemp -d /tmp/bench-tier.XXXXXX)
chmod 755 "$dir"

port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

front=$(port)
back=$(port)

group() {
    local name=$1 n=$2 i
    echo "    tier_group $name {"
    for ((i = 0; i < n; i++)); do
        echo "        member m$i 10.1.$((i / 200)).$((i % 200 + 1)):1935;"
    done
    echo "    }"
}

mkdir -p "$dir/front/logs" "$dir/back/logs"

cat > "$dir/back/nginx.conf" <<EOC
worker_processes 1;
pid $dir/back/logs/nginx.pid;
error_log $dir/back/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$back;
        location / { return 200 "a small object\n"; }
    }
}
EOC

cat > "$dir/front/nginx.conf" <<EOC
load_module $top/build/ngx_http_tier_module.so;
worker_processes 1;
pid $dir/front/logs/nginx.pid;
error_log $dir/front/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/front/client_body;
    proxy_temp_path $dir/front/proxy_temp;

    tier_group bench {
        member mid-a 127.0.0.1:$back;
    }
$(group g16 16)
$(group g64 64)
$(group g256 256)

    upstream plain {
        server 127.0.0.1:$back;
        keepalive 64;
    }
    upstream tiered {
        tier_select;
        server 127.0.0.1:$back backup;
        keepalive 64;
    }

    server {
        listen 127.0.0.1:$front;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /plain/ { proxy_pass http://plain; }
        location /tier/ {
            tier_lookup tiered zone=bench:1m key=live/bench
                        uri=/_tier/pick;
            proxy_pass http://tiered;
        }
        location = /_tier/pick {
            internal;
            tier_enum bench;
            tier_enum_ttl 1h;
        }

        location = /g16 { tier_enum g16; }
        location = /g64 { tier_enum g64; }
        location = /g256 { tier_enum g256; }
        location = /ok { return 200 '{"ok":true}'; }
    }
}
EOC

"$nginx" -p "$dir/back/" -c "$dir/back/nginx.conf" -e "$dir/back/logs/error.log"
"$nginx" -p "$dir/front/" -c "$dir/front/nginx.conf" \
    -e "$dir/front/logs/error.log"
trap 'kill -QUIT $(cat "$dir/front/logs/nginx.pid" "$dir/back/logs/nginx.pid") 2>/dev/null; sleep 0.3; rm -rf "$dir"' EXIT

url=http://127.0.0.1:$front

# the cache is warm, the selector reaches the backend, and the answers
# are the ones util/tier-hash.py gives
test "$(curl -s "$url/tier/x")" = "a small object"

for n in 16 64 256; do
    want=$(python3 "$top/util/tier-hash.py" live/stream0001 \
               $(for ((i = 0; i < n; i++)); do echo -n "m$i "; done) \
           | cut -d' ' -f1-3)
    got=$(curl -s "$url/g$n?key=live/stream0001&n=3" \
          | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' \
          | sed 's/ $//')
    if [ "$got" != "$want" ]; then
        echo "tier: g$n answers \"$got\", util/tier-hash.py \"$want\"" >&2
        exit 1
    fi
done

rps() {
    wrk -t1 -c"$conns" -d"${secs}s" "$url$1" \
        | awk '/Requests\/sec/ { print $2 }'
}

median() {
    tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) { print v[(NR + 1) / 2] }
        else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

# each figure right after its baseline, so that both see the same load;
# the median over the rounds of the figures and of their ratios
declare -A all ratio

for round in $(seq "$rounds"); do
    a=$(rps /plain/x)
    b=$(rps /tier/x)
    all[plain]+=" $a"
    all[tier]+=" $b"
    ratio[tier]+=" $(awk -v a="$b" -v b="$a" 'BEGIN { print a / b }')"

    for n in 16 64 256; do
        a=$(rps /ok)
        b=$(rps "/g$n?key=live/stream0001&n=3")
        all[ok]+=" $a"
        all[p$n]+=" $b"
        ratio[p$n]+=" $(awk -v a="$b" -v b="$a" 'BEGIN { print a / b }')"
    done
done

printf 'tier: plain upstream              %8.0f req/s\n' \
    "$(echo "${all[plain]}" | median)"
printf 'tier: tier_select, warm cache     %8.0f req/s  ratio %.2f' \
    "$(echo "${all[tier]}" | median)" "$(echo "${ratio[tier]}" | median)"
echo ' (target >= 0.85)'
printf 'tier: return 200                  %8.0f req/s\n' \
    "$(echo "${all[ok]}" | median)"
for n in 16 64 256; do
    printf 'tier: /tier/pick n=3, %3d members %8.0f req/s  ratio %.2f\n' \
        "$n" "$(echo "${all[p$n]}" | median)" \
        "$(echo "${ratio[p$n]}" | median)"
done
echo "tier: target for /tier/pick at 256 members: 0.9 or more"
