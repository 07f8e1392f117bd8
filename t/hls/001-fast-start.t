# HLS fast start against a live stream: stock nginx-rtmp (in a helper
# nginx) cuts 1 s fragments of an ffmpeg test stream; the nginx under
# test serves its hls_path.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;

$ENV{TEST_NGINX_RTMP_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = helper_dir() . '/hls';

mkdir "$ENV{TEST_NGINX_HLS_DIR}";

# disable_symlinks: a live playlist outside the served tree, reached through
# a directory symlink and a file symlink
{
    my $d = $ENV{TEST_NGINX_HLS_DIR};
    mkdir "$d/outside";
    mkdir "$d/links";
    open my $fh, '>', "$d/outside/out.m3u8" or die "$d: $!\n";
    print $fh "#EXTM3U\n#EXT-X-TARGETDURATION:60\n#EXTINF:2.000,\nout-1.ts\n";
    close $fh;
    symlink "$d/outside", "$d/links/linkdir" or die "symlink: $!\n";
    symlink "$d/outside/out.m3u8", "$d/links/file.m3u8" or die "symlink: $!\n";
}

start_nginx_helper('origin', wait_port => $ENV{TEST_NGINX_RTMP_PORT},
                   conf => <<'EOC');
load_module $TEST_NGINX_RTMP_MODULE;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:$TEST_NGINX_RTMP_PORT;
        application app {
            live on;
            hls on;
            hls_path $TEST_NGINX_HLS_DIR/flat;
            hls_fragment 1s;
            hls_playlist_length 6s;
        }
        application nested {
            live on;
            hls on;
            hls_path $TEST_NGINX_HLS_DIR/nested;
            hls_nested on;
            hls_fragment 1s;
            hls_playlist_length 6s;
            hls_fragment_naming timestamp;
        }
    }
}
EOC

start_publisher('flat', url => "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}"
                               . "/app/s1", gop => 1);
start_publisher('nested', url => "rtmp://127.0.0.1:"
                                 . "$ENV{TEST_NGINX_RTMP_PORT}/nested/s2",
                gop => 1);

# a live window of at least 3 fragments before the blocks run
for (1 .. 200) {
    my $pl = '';
    for my $f ("$ENV{TEST_NGINX_HLS_DIR}/flat/s1.m3u8",
               "$ENV{TEST_NGINX_HLS_DIR}/nested/s2/index.m3u8")
    {
        open my $fh, '<', $f or next;
        local $/;
        $pl .= <$fh>;
    }
    last if ($pl =~ s/#EXTINF//g) >= 6;
    select undef, undef, undef, 0.1;
}

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->main_config) {
        $block->set_value('main_config', "load_module "
            . "$ENV{TEST_NGINX_MODULE_DIR}/ngx_http_hls_fast_start_module.so;");
    }

    if (!defined $block->http_config) {
        $block->set_value('http_config', "hls_fast_start_zone fs:1m;");
    }

    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: a first request is held and gets the last 2 complete fragments
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/flat/;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /hls/s1.m3u8
--- more_headers
User-Agent: test-1
--- response_headers
Cache-Control: no-store
X-FS: held
--- response_body_like chomp
^#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:(\d+)
#EXT-X-TARGETDURATION:\d+
(#EXT-X-DISCONTINUITY-SEQUENCE:1
)?(#EXT-X-DISCONTINUITY
)?#EXTINF:[\d.]+,
s1-\1\.ts
(#EXT-X-DISCONTINUITY
)?#EXTINF:[\d.]+,
s1-\d+\.ts\n\z
--- error_log eval
[qr/hls fast start: first request, key "127\.0\.0\.1test-1"/,
 qr/hls fast start: hold "s1\.m3u8"/,
 qr/hls fast start: wake "s1\.m3u8", 2 of \d+ fragments/]
--- timeout: 10



=== TEST 2: the same terminal's reload is not held, and starts no earlier
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/flat/;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- request eval
["GET /hls/s1.m3u8", "GET /hls/s1.m3u8"]
--- more_headers
User-Agent: test-2
--- response_headers eval
["X-FS: held\nCache-Control: no-store", "X-FS: pass\nCache-Control: no-store"]
--- response_body_like eval
[qr/\A(?:(?!#EXTINF).)*(?:#EXTINF(?:(?!#EXTINF).)*){2}\z/s,
 qr/\A(?:(?!#EXTINF).)*(?:#EXTINF(?:(?!#EXTINF).)*){2,}\z/s]
--- timeout: 10



=== TEST 3: two terminals, each held once
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/flat/;
        hls_fast_start fs;
        hls_fast_start_key $arg_terminal;
        add_header X-FS $hls_fast_start always;
    }
--- request eval
["GET /hls/s1.m3u8?terminal=a", "GET /hls/s1.m3u8?terminal=b",
 "GET /hls/s1.m3u8?terminal=a", "GET /hls/s1.m3u8?terminal=b"]
--- response_headers eval
["X-FS: held", "X-FS: held", "X-FS: pass", "X-FS: pass"]
--- timeout: 10



=== TEST 4: hls_fast_start_fragments 1
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/flat/;
        hls_fast_start fs;
        hls_fast_start_fragments 1;
    }
--- request
GET /hls/s1.m3u8
--- response_body_like chomp
^#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:(\d+)
#EXT-X-TARGETDURATION:\d+
(#EXT-X-DISCONTINUITY-SEQUENCE:1
)?(#EXT-X-DISCONTINUITY
)?#EXTINF:[\d.]+,
s1-\1\.ts\n\z
--- timeout: 10



=== TEST 5: nested, timestamp naming
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/nested/;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /hls/s2/index.m3u8
--- response_headers
X-FS: held
--- response_body_like chomp
^#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:\d+
#EXT-X-TARGETDURATION:\d+
(#EXT-X-DISCONTINUITY-SEQUENCE:1
)?(#EXT-X-DISCONTINUITY
)?#EXTINF:[\d.]+,
\d+\.ts
(#EXT-X-DISCONTINUITY
)?#EXTINF:[\d.]+,
\d+\.ts\n\z
--- timeout: 10



=== TEST 6: no playlist yet: held for the wait, then 404
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/flat/;
        hls_fast_start fs;
        hls_fast_start_wait 1s;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /hls/nosuch.m3u8
--- error_code: 404
--- response_headers
X-FS: timeout
--- error_log eval
[qr/hls fast start: hold "nosuch\.m3u8" in ".*", no playlist yet/,
 qr/hls fast start: wait for "nosuch\.m3u8" timed out/]
--- no_error_log
[alert]
[crit]



=== TEST 7: a live playlist that is not rewritten: the stock one on timeout
--- config
    location /pl/ {
        root html;
        hls_fast_start fs;
        hls_fast_start_wait 500ms;
        add_header X-FS $hls_fast_start always;
    }
--- user_files
>>> pl/stuck.m3u8
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-TARGETDURATION:5
#EXTINF:5.000,
stuck-4.ts
#EXTINF:5.000,
stuck-5.ts
#EXTINF:5.000,
stuck-6.ts
--- request
GET /pl/stuck.m3u8
--- response_headers
X-FS: timeout
!Cache-Control
--- response_body
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-TARGETDURATION:5
#EXTINF:5.000,
stuck-4.ts
#EXTINF:5.000,
stuck-5.ts
#EXTINF:5.000,
stuck-6.ts
--- error_log
hls fast start: wait for "stuck.m3u8" timed out



=== TEST 8: a stale playlist (stream gone) is served stock at once
--- config
    location /pl/ {
        root html;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- user_files
>>> pl/gone.m3u8 200101010000
#EXTM3U
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-TARGETDURATION:2
#EXTINF:2.000,
gone-4.ts
--- request
GET /pl/gone.m3u8
--- response_headers
X-FS: first
!Cache-Control
--- response_body
#EXTM3U
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-TARGETDURATION:2
#EXTINF:2.000,
gone-4.ts
--- error_log
hls fast start: stale playlist
--- no_error_log
hls fast start: hold



=== TEST 9: a master playlist and garbage are served stock at once
--- config
    location /pl/ {
        root html;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- user_files
>>> pl/master.m3u8
#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=500000
low/index.m3u8
>>> pl/garbage.m3u8
#EXTM3U
#EXTINF:not a playlist
--- request eval
["GET /pl/master.m3u8", "GET /pl/garbage.m3u8"]
--- response_headers eval
["X-FS: first", "X-FS: first"]
--- response_body eval
["#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000\nlow/index.m3u8\n",
 "#EXTM3U\n#EXTINF:not a playlist\n"]
--- error_log
is not a live media playlist



=== TEST 10: other files, other methods and "off" are untouched
--- config
    location /pl/ {
        root html;
        hls_fast_start fs;
        hls_fast_start_wait 1s;
        add_header X-FS $hls_fast_start always;

        location /pl/off/ {
            hls_fast_start off;
            add_header X-FS $hls_fast_start always;
        }
    }
--- user_files
>>> pl/a.ts
fragment
>>> pl/off/x.m3u8
#EXTM3U
>>> pl/live.m3u8
#EXTM3U
#EXT-X-TARGETDURATION:60
#EXTINF:2.000,
live-1.ts
--- request eval
["GET /pl/a.ts", "GET /pl/off/x.m3u8", "POST /pl/live.m3u8",
 "PUT /pl/live.m3u8"]
--- response_headers eval
["X-FS: ", "X-FS: ", "X-FS: ", "X-FS: "]
--- response_body eval
["fragment\n", "#EXTM3U\n", qr/405 Not Allowed/, qr/405 Not Allowed/]
--- error_code eval
[200, 200, 405, 405]
--- no_error_log
hls fast start: first



=== TEST 25: an existing file used as a directory: 404 at once, logged once
--- config
    location /pl/ {
        root html;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- user_files
>>> pl/live.m3u8
#EXTM3U
#EXT-X-TARGETDURATION:60
#EXTINF:2.000,
live-1.ts
--- request
GET /pl/live.m3u8/x.m3u8
--- error_code: 404
--- response_headers
X-FS: first
--- timeout: 2
--- grep_error_log eval: qr/\[(?:error|warn|crit)\][^\n]*/
--- grep_error_log_out eval
qr/\A\[error\][^\n]*open\(\) "[^"]*live\.m3u8\/x\.m3u8" failed \(20: Not a directory\)[^\n]*\n\z/
--- no_error_log
[warn]
hls fast start: hold



=== TEST 26: a path too long: 404 at once, no watch, no poll
--- config
    large_client_header_buffers 4 16k;
    location /pl/ {
        root html;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- request eval
"GET /pl/" . ("d/" x 2100) . "index.m3u8"
--- error_code: 404
--- response_headers
X-FS: first
--- timeout: 2
--- error_log
(36: File name too long)
--- no_error_log
[warn]
hls fast start: hold



=== TEST 27: disable_symlinks: a directory symlink out of the tree is 404
--- config
    location /links/ {
        alias $TEST_NGINX_HLS_DIR/links/;
        disable_symlinks on;
        hls_fast_start fs;
        hls_fast_start_wait 1s;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /links/linkdir/out.m3u8
--- error_code: 404
--- response_headers
X-FS: first
--- no_error_log
hls fast start: hold
[alert]



=== TEST 28: disable_symlinks: a file symlink is 403
--- config
    location /links/ {
        alias $TEST_NGINX_HLS_DIR/links/;
        disable_symlinks on;
        hls_fast_start fs;
        hls_fast_start_wait 1s;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /links/file.m3u8
--- error_code: 403
--- response_headers
X-FS: first
--- error_log
(40: Too many levels of symbolic links)
--- no_error_log
hls fast start: hold
[alert]



=== TEST 29: without disable_symlinks the same links are followed, and held
--- config
    location /links/ {
        alias $TEST_NGINX_HLS_DIR/links/;
        hls_fast_start fs;
        hls_fast_start_wait 300ms;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /links/linkdir/out.m3u8
--- response_headers
X-FS: timeout
--- response_body
#EXTM3U
#EXT-X-TARGETDURATION:60
#EXTINF:2.000,
out-1.ts
--- error_log
hls fast start: hold "out.m3u8"



=== TEST 11: bad hls_fast_start_fragments
--- config
    location /hls/ { hls_fast_start fs; hls_fast_start_fragments 0; }
--- must_die
--- error_log
value must be between 1 and 16



=== TEST 12: too many hls_fast_start_fragments
--- config
    location /hls/ { hls_fast_start fs; hls_fast_start_fragments 17; }
--- must_die
--- error_log
value must be between 1 and 16



=== TEST 13: non-numeric hls_fast_start_fragments
--- config
    location /hls/ { hls_fast_start_fragments two; }
--- must_die
--- error_log
"hls_fast_start_fragments" directive invalid number



=== TEST 14: zero hls_fast_start_wait
--- config
    location /hls/ { hls_fast_start_wait 0; }
--- must_die
--- error_log
"hls_fast_start_wait" directive must be positive



=== TEST 15: bad hls_fast_start_wait
--- config
    location /hls/ { hls_fast_start_wait soon; }
--- must_die
--- error_log
"hls_fast_start_wait" directive invalid value



=== TEST 16: zero hls_fast_start_session
--- config
    location /hls/ { hls_fast_start_session 0s; }
--- must_die
--- error_log
"hls_fast_start_session" directive must be positive



=== TEST 17: empty hls_fast_start_key
--- config
    location /hls/ { hls_fast_start_key ""; }
--- must_die
--- error_log
empty key: every terminal would be the same



=== TEST 18: zone without a size
--- http_config
    hls_fast_start_zone fs;
--- config
--- must_die
--- error_log
invalid zone "fs", expected name:size



=== TEST 19: zone with a bad size
--- http_config
    hls_fast_start_zone fs:lots;
--- config
--- must_die
--- error_log
invalid zone size "fs:lots"



=== TEST 20: zone too small
--- http_config
    hls_fast_start_zone fs:1k;
--- config
--- must_die
--- error_log
zone "fs:1k" is too small



=== TEST 21: the same zone twice
--- http_config
    hls_fast_start_zone fs:1m;
    hls_fast_start_zone fs:1m;
--- config
--- must_die
--- error_log
duplicate zone "fs"



=== TEST 22: an undeclared zone
--- http_config
--- config
    location /hls/ { hls_fast_start nosuch; }
--- must_die
--- error_log
zero size shared memory zone "nosuch"



=== TEST 23: hls_fast_start twice
--- config
    location /hls/ { hls_fast_start fs; hls_fast_start off; }
--- must_die
--- error_log
"hls_fast_start" directive is duplicate



=== TEST 24: hls_fast_start_zone outside http
--- config
    location /hls/ { hls_fast_start_zone other:1m; }
--- must_die
--- error_log
"hls_fast_start_zone" directive is not allowed here
