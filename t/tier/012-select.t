# The selector: tier_lookup (access phase, through the lookup cache) and
# the tier_select balancer.  The enumeration service and the mid-tier
# backends are servers of the same nginx; the service's location is the
# internal one tier_lookup calls.  live/s1 ranks mid-c, mid-b, mid-a
# (util/tier-hash.py).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;

our %p = map { $_ => free_port() } qw(a b c backup);

# a dead member's port per block: its "temporarily disabled for every
# worker" state is shared memory, which TEST_NGINX_USE_HUP keeps over the
# reload to the next block (that block would then never try it)
# (the blocks whose expectations name it get theirs here, before the
# eval sections run; the others in the preprocessor)
our %dead = map { $_ => free_port() } 2, 3, 18;

add_block_preprocessor(sub {
    my $block = shift;
    my $dead = $::dead{$block->seq_num} //= free_port();

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('http_config', <<"EOC" . ($block->http_config // ''));
    tier_group mid {
        member mid-a 127.0.0.1:$p{a};
        member mid-b 127.0.0.1:$p{b};
        member mid-c 127.0.0.1:$p{c};
    }
    tier_group deadfirst {
        member mid-a 127.0.0.1:$p{a};
        member mid-b 127.0.0.1:$p{b};
        member mid-c 127.0.0.1:$dead;
    }
    tier_group alldead {
        member mid-c 127.0.0.1:$dead;
    }

    server {
        listen 127.0.0.1:$p{a};
        location / { return 200 "mid-a \$uri\\n"; }
    }
    server {
        listen 127.0.0.1:$p{b};
        location / { return 200 "mid-b \$uri\\n"; }
    }
    server {
        listen 127.0.0.1:$p{c};
        location / { return 200 "mid-c \$uri \$connection_requests\\n"; }
    }
    server {
        listen 127.0.0.1:$p{backup};
        location / { return 200 "backup \$uri\\n"; }
    }

    upstream mid_http {
        tier_select;
        server 127.0.0.1:$p{backup} backup;
    }
    upstream nobackup {
        tier_select;
        server 127.0.0.1:$p{backup} backup down;
    }
    upstream kept {
        tier_select;
        server 127.0.0.1:$p{backup} backup;
        keepalive 4;
    }
EOC

    # the service's bad answers, one internal location each
    $block->set_value('config', $::bad_answers)
        if defined $block->bad_answers;

    $block->set_value('no_error_log', "[alert]\n[crit]\n[emerg]\n")
        unless defined $block->no_error_log;
});

our $bad_answers = <<'EOC';
    location ~ ^/(?<kind>[a-z]+)/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t5:1m key=$kind/$s uri=/_bad/$kind;
        proxy_pass http://mid_http;
        add_header X-Source $tier_source;
    }
    location = /_bad/host {
        internal;
        return 200 '{"ttl":30,"servers":[{"id":"a","addr":"mid.example:80"}]}';
    }
    location = /_bad/empty { internal; return 200 '{"ttl":30,"servers":[]}'; }
    location = /_bad/cut {
        internal;
        return 200 '{"ttl":30,"servers":[{"id":"a","addr":"127.0.0.1:80"}';
    }
    location = /_bad/junk { internal; return 200 'garbage'; }
    location = /_bad/status { internal; return 503; }
    location = /_bad/noport {
        internal;
        return 200 '{"servers":[{"addr":"127.0.0.1"}]}';
    }
EOC

run_tests();

__DATA__

=== TEST 1: the first member of the answer; fetched, then from the cache
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t1:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://mid_http;
        add_header X-Peer $tier_peer;
        add_header X-Source $tier_source;
        add_header X-Key $tier_key;
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request eval
["GET /live/s1.m3u8", "GET /live/s1.m3u8", "GET /live/s2.m3u8"]
--- response_body_like eval
[qr/^mid-c \/live\/s1.m3u8 /, qr/^mid-c \/live\/s1.m3u8 /,
 qr/^mid-b \/live\/s2.m3u8\n/]
--- response_headers eval
["X-Peer: 127.0.0.1:$::p{c}\nX-Source: fetched\nX-Key: live/s1",
 "X-Peer: 127.0.0.1:$::p{c}\nX-Source: cache\nX-Key: live/s1",
 "X-Peer: 127.0.0.1:$::p{b}\nX-Source: fetched\nX-Key: live/s2"]
--- no_error_log
[error]



=== TEST 2: a dead first member: the next in order; then skipped
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t2:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://mid_http;
        proxy_next_upstream error timeout;
        add_header X-Peer $tier_peer;
        add_header X-Addr $upstream_addr;
    }
    location = /_tier/pick { internal; tier_enum deadfirst; }
--- request eval
["GET /live/s1.m3u8", "GET /live/s1.m3u8"]
--- response_body eval
["mid-b /live/s1.m3u8\n", "mid-b /live/s1.m3u8\n"]
--- response_headers eval
["X-Peer: 127.0.0.1:$::p{b}\nX-Addr: 127.0.0.1:$::dead{2}, 127.0.0.1:$::p{b}",
 "X-Peer: 127.0.0.1:$::p{b}\nX-Addr: 127.0.0.1:$::p{b}"]



=== TEST 3: proxy_next_upstream_tries 1: no second member
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t3:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://mid_http;
        proxy_next_upstream error;
        proxy_next_upstream_tries 1;
    }
    location = /_tier/pick { internal; tier_enum deadfirst; }
--- request
GET /live/s1.m3u8
--- error_code: 502
--- error_log eval
["connect() failed",
 "tier_select: upstream server 127.0.0.1:$::dead{3} temporarily disabled for every worker"]



=== TEST 4: the list exhausted: the backup server; $tier_source backup
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t4:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://mid_http;
        add_header X-Source $tier_source;
        add_header X-Peer $tier_peer;
    }
    location = /_tier/pick { internal; tier_enum alldead; }
--- request
GET /live/s1.m3u8
--- response_body
backup /live/s1.m3u8
--- response_headers eval
"X-Source: backup\nX-Peer: 127.0.0.1:$::p{backup}"
--- error_log
connect() failed



=== TEST 5: a bad answer (host) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /host/s1.m3u8
--- response_body
backup /host/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"host/s1 0" failed: a server without an IP address and port



=== TEST 6: a bad answer (empty) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /empty/s1.m3u8
--- response_body
backup /empty/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"empty/s1 0" failed: no servers



=== TEST 7: a bad answer (cut) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /cut/s1.m3u8
--- response_body
backup /cut/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"cut/s1 0" failed: truncated or invalid JSON



=== TEST 8: a bad answer (junk) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /junk/s1.m3u8
--- response_body
backup /junk/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"junk/s1 0" failed: not a JSON object



=== TEST 9: a bad answer (status) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /status/s1.m3u8
--- response_body
backup /status/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"status/s1 0" failed: 



=== TEST 10: a bad answer (noport) is a failed lookup: backup, a clear line
--- bad_answers
--- request
GET /noport/s1.m3u8
--- response_body
backup /noport/s1.m3u8
--- response_headers
X-Source: backup
--- error_log
"noport/s1 0" failed: a server without an IP address and port



=== TEST 11: a key that renders empty: a clear line, backup
--- config
    location ~ ^/k/(?<s>[^/]*)$ {
        tier_lookup mid_http zone=t6:1m key=$s uri=/_tier/pick;
        proxy_pass http://mid_http;
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request
GET /k/
--- response_body
backup /k/
--- error_log
tier_lookup: invalid key "" for upstream "mid_http"



=== TEST 12: an invalid key: a clear line, backup
--- config
    location ~ ^/k/(?<s>[^/]*)$ {
        tier_lookup mid_http zone=t6:1m key=$s uri=/_tier/pick;
        proxy_pass http://mid_http;
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request
GET /k/a%22b
--- response_body
backup /k/a"b
--- error_log
tier_lookup: invalid key "a"b" for upstream "mid_http"



=== TEST 13: no list and no backup up: 502 and a clear error line
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup nobackup zone=t7:1m key=live/$s uri=/_bad;
        proxy_pass http://nobackup;
    }
    location = /_bad { internal; return 200 'garbage'; }
--- request
GET /live/s1.m3u8
--- error_code: 502
--- error_log
tier_select: no server of upstream "nobackup" for key "live/s1": no answer from the service, and no backup server is up



=== TEST 14: proxy_pass to a tier_select upstream without tier_lookup: backup
--- config
    location /x {
        proxy_pass http://mid_http;
    }
--- request
GET /x
--- response_body
backup /x



=== TEST 15: keepalive to the upstream: the backend sees one connection
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup kept zone=t9:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://kept;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request eval
["GET /live/s1.m3u8", "GET /live/s1.m3u8", "GET /live/s1.m3u8"]
--- response_body eval
["mid-c /live/s1.m3u8 1\n", "mid-c /live/s1.m3u8 2\n",
 "mid-c /live/s1.m3u8 3\n"]



=== TEST 16: no tier_lookup for the upstream and no backup up: 502, a clear line
--- config
    location /x {
        proxy_pass http://nobackup;
    }
--- request
GET /x
--- error_code: 502
--- error_log
tier_select: no server of upstream "nobackup": no tier_lookup for it in this location, and no backup server is up



=== TEST 17: the stock "zone" in a tier_select upstream: list, then backup
(key mid/s1 ranks mid-a first)
--- http_config
    upstream zoned {
        tier_select;
        zone zoned 64k;
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT backup;
    }
--- config
    location ~ ^/(?<g>mid|alldead)/(?<s>[^/.]+)\.m3u8$ {
        if ($http_x_hop) {
            return 200 "zoned backup\n";
        }
        tier_lookup zoned zone=t10:1m key=$g/$s uri=/_tier/$g;
        proxy_pass http://zoned;
        proxy_set_header X-Hop 1;
        add_header X-Source $tier_source;
    }
    location = /_tier/mid { internal; tier_enum mid; }
    location = /_tier/alldead { internal; tier_enum alldead; }
--- request eval
["GET /mid/s1.m3u8", "GET /alldead/s1.m3u8"]
--- response_body_like eval
[qr/^mid-a \/mid\/s1\.m3u8$/, qr/^zoned backup$/]
--- response_headers eval
["X-Source: fetched", "X-Source: backup"]



=== TEST 18: an address the answer repeats is tried once
--- http_config
    upstream nofails {
        tier_select max_fails=0;
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT backup down;
    }
--- config eval
qq{
    location ~ ^/live/(?<s>[^/.]+)\\.m3u8\$ {
        tier_lookup nofails zone=t11:1m key=live/\$s uri=/_dup;
        proxy_pass http://nofails;
        proxy_next_upstream error;
        add_header X-Addr \$upstream_addr;
    }
    location = /_dup {
        internal;
        return 200 '{"ttl":30,"servers":[{"addr":"127.0.0.1:$::dead{18}"},
            {"addr":"127.0.0.1:$::dead{18}"},{"addr":"127.0.0.1:$::p{b}"}]}';
    }
}
--- request
GET /live/s1.m3u8
--- response_body
mid-b /live/s1.m3u8
--- response_headers eval
"X-Addr: 127.0.0.1:$::dead{18}, 127.0.0.1:$::p{b}"
--- error_log
connect() failed



=== TEST 19: a subrequest (which skips the access phase) gets its list too
--- config
    location = /page {
        ssi on;
        default_type text/html;
        return 200 '<!--# include virtual="/live/s1.m3u8" -->';
    }
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t12:1m key=live/$s uri=/_tier/pick;
        proxy_pass http://mid_http;
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request eval
["GET /page", "GET /page"]
--- response_body_like eval
[qr/^mid-c \/live\/s1.m3u8 \d+$/, qr/^mid-c \/live\/s1.m3u8 \d+$/]
--- no_error_log
[error]



=== TEST 20: tier_lookup inherited by the service's location: no loop
--- config
    tier_lookup mid_http zone=t13:1m key=live/s1 uri=/_tier/pick;
    location = /page {
        ssi on;
        default_type text/html;
        return 200 '<!--# include virtual="/live/s1.m3u8" -->';
    }
    location /live/ {
        proxy_pass http://mid_http;
    }
    location = /_tier/pick { internal; tier_enum mid; }
--- request
GET /page
--- response_body_like: ^mid-c /live/s1.m3u8 \d+$
--- no_error_log
[error]



=== TEST 21: IPv6 literals in an answer
--- http_config eval
qq{
    server {
        listen [::1]:$::p{a};
        location / { return 200 "v6 \$uri\\n"; }
    }
}
--- config eval
qq{
    location ~ ^/live/(?<s>[^/.]+)\\.m3u8\$ {
        tier_lookup mid_http zone=t14:1m key=live/\$s uri=/_v6;
        proxy_pass http://mid_http;
        add_header X-Peer \$tier_peer;
    }
    location = /_v6 {
        internal;
        return 200 '{"ttl":30,"servers":[{"addr":"[::1]:$::p{a}"}]}';
    }
}
--- request
GET /live/s1.m3u8
--- response_body
v6 /live/s1.m3u8
--- response_headers eval
"X-Peer: [::1]:$::p{a}"
--- no_error_log
[error]



=== TEST 22: a group of 128 members without n=: the best 16 are asked for
(the whole answer would not fit subrequest_output_buffer_size, 4k)
--- http_config eval
"    tier_group big {\n"
. CORE::join('', map { "        member big-$_ 127.0.0.1:$::p{a};\n" } 1 .. 128)
. "    }\n"
--- config
    location ~ ^/live/(?<s>[^/.]+)\.m3u8$ {
        tier_lookup mid_http zone=t15:1m key=live/$s uri=/_tier/big;
        proxy_pass http://mid_http;
        add_header X-Source $tier_source;
    }
    location = /_tier/big { internal; tier_enum big; }
--- request
GET /live/s1.m3u8
--- response_body
mid-a /live/s1.m3u8
--- response_headers
X-Source: fetched
--- no_error_log
[error]
