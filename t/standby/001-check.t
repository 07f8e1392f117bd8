# standby_check alone: the JSON answers, uri validation (400), what is
# "media" (a regular file under root; a live playlist), symlinks as
# disable_symlinks says, and config errors.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = helper_dir();
my $m = "$dir/root/media";

$ENV{TEST_NGINX_MEDIA} = "$dir/root";

write_file("$m/a.mp4", "a\n");
write_file("$m/sub/b.ts", "b\n");
write_file("$dir/outside/secret.mp4", "secret\n");
symlink("$dir/outside/secret.mp4", "$m/link.mp4") or die "symlink: $!\n";
symlink("$dir/outside", "$m/linkdir") or die "symlink: $!\n";
write_file("$m/x+y z.mp4", "odd\n");

# live: written a moment ago with a target duration of an hour, so it is
# fresh however slow the run; stale: the same, two hours and a second ago
my $live = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:7\n"
         . "#EXT-X-TARGETDURATION:3600\n#EXTINF:2.000,\n7.ts\n"
         . "#EXTINF:2.000,\n8.ts\n";
write_file("$m/live.m3u8", $live);
write_file("$m/stale.m3u8", $live);
utime(time - 7201, time - 7201, "$m/stale.m3u8");
write_file("$m/vod.m3u8", "$live#EXT-X-ENDLIST\n");
utime(time - 3600, time - 3600, "$m/vod.m3u8");
write_file("$m/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n"
                             . "low/index.m3u8\n");
utime(time - 3600, time - 3600, "$m/master.m3u8");
write_file("$m/junk.m3u8", "not a playlist\n");

# the load average is above this on any machine that runs the suite
my ($load) = (slurp('/proc/loadavg') // '0') =~ /^(\S+)/;
$ENV{TEST_NGINX_LOW_LOAD} = $load >= 0.02 ? '0.01' : '';

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->main_config) {
        $block->set_value('main_config', "load_module "
            . "$ENV{TEST_NGINX_MODULE_DIR}/ngx_http_standby_module.so;");
    }

    if (!defined $block->config) {
        $block->set_value('config', <<'_EOC_');
    location = /check {
        standby_check root=$TEST_NGINX_MEDIA max_conns=10
                      base=http://10.0.0.2:8080;
    }
_EOC_
    }

    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: a file under root: 200 and where to get it
--- request
GET /check?uri=/media/a.mp4
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"url":"http://10.0.0.2:8080/media/a.mp4","host":"10.0.0.2","port":8080,"path":"/media/a.mp4"}



=== TEST 2: percent-decoded once, escaped again in the url
--- request
GET /check?uri=%2Fmedia%2Fx%2By%20z.mp4
--- response_body
{"url":"http://10.0.0.2:8080/media/x+y%20z.mp4","host":"10.0.0.2","port":8080,"path":"/media/x+y%20z.mp4"}



=== TEST 3: no such file: 404
--- request
GET /check?uri=/media/none.mp4
--- error_code: 404
--- response_body
{"error":"not_found","detail":"no such file"}



=== TEST 4: a directory is not media
--- request
GET /check?uri=/media/sub
--- error_code: 404
--- response_body
{"error":"not_found","detail":"not a regular file"}



=== TEST 5: a path through a file
--- request
GET /check?uri=/media/a.mp4/x.mp4
--- error_code: 404
--- response_body_like: "not_found"



=== TEST 6: bad uri values: 400
--- request eval
[
"GET /check",
"GET /check?uri=",
"GET /check?uri=media/a.mp4",
"GET /check?uri=/media/../../outside/secret.mp4",
"GET /check?uri=/media/%2e%2e/%2e%2e/outside/secret.mp4",
"GET /check?uri=/media/%2E%2e/x",
"GET /check?uri=/media/..",
"GET /check?uri=/media/./a.mp4",
"GET /check?uri=/media/a.mp4%00.txt",
"GET /check?uri=/media/a%0d%0aX:%20y",
"GET /check?uri=/media/a%09b",
"GET /check?uri=/media/%zz",
"GET /check?uri=/media/%2",
"GET /check?uri=/" . ("x" x 2048),
]
--- error_code eval
[(400) x 14]
--- response_body eval
[
qq({"error":"bad_uri","detail":"no uri argument"}\n),
qq({"error":"bad_uri","detail":"uri is not absolute"}\n),
qq({"error":"bad_uri","detail":"uri is not absolute"}\n),
(qq({"error":"bad_uri","detail":"dot segment in uri"}\n)) x 5,
(qq({"error":"bad_uri","detail":"control byte in uri"}\n)) x 3,
(qq({"error":"bad_uri","detail":"invalid percent-encoding in uri"}\n)) x 2,
qq({"error":"bad_uri","detail":"uri too long"}\n),
]



=== TEST 7: the longest uri still accepted
--- request eval
"GET /check?uri=/" . ("y" x 2047)
--- error_code: 404



=== TEST 8: decoded once only: "%252e%252e" is a name, not a dot segment
--- request
GET /check?uri=/media/%252e%252e/%252e%252e/outside/secret.mp4
--- error_code: 404
--- response_body
{"error":"not_found","detail":"no such file"}



=== TEST 9: symlinks out of root: followed only where the operator allows
--- config
    location = /check {
        standby_check root=$TEST_NGINX_MEDIA max_conns=10
                      base=http://10.0.0.2:8080;
    }
    location = /strict {
        disable_symlinks on;
        standby_check root=$TEST_NGINX_MEDIA max_conns=10
                      base=http://10.0.0.2:8080;
    }
--- request eval
[
"GET /check?uri=/media/link.mp4",
"GET /check?uri=/media/linkdir/secret.mp4",
"GET /strict?uri=/media/link.mp4",
"GET /strict?uri=/media/linkdir/secret.mp4",
"GET /strict?uri=/media/a.mp4",
]
--- error_code eval
[200, 200, 404, 404, 200]
--- response_body_like eval
[
qr{"url":"http://10\.0\.0\.2:8080/media/link\.mp4"},
qr{"url":"http://10\.0\.0\.2:8080/media/linkdir/secret\.mp4"},
qr{^\{"error":"not_found","detail":"not allowed"\}$},
qr{^\{"error":"not_found","detail":"no such file"\}$},
qr{"url":"http://10\.0\.0\.2:8080/media/a\.mp4"},
]



=== TEST 10: playlists: live ones only
--- request eval
[
"GET /check?uri=/media/live.m3u8",
"GET /check?uri=/media/stale.m3u8",
"GET /check?uri=/media/vod.m3u8",
"GET /check?uri=/media/master.m3u8",
"GET /check?uri=/media/junk.m3u8",
]
--- error_code eval
[200, 404, 200, 200, 404]
--- response_body_like eval
[
qr{"path":"/media/live\.m3u8"},
qr{"playlist not updated within two target durations"},
qr{"path":"/media/vod\.m3u8"},
qr{"path":"/media/master\.m3u8"},
qr{"not a media playlist"},
]



=== TEST 11: base with https, a default port and a path prefix
--- config
    location = /check {
        standby_check root=$TEST_NGINX_MEDIA max_conns=10
                      base=https://[2001:db8::2]/vol1/;
    }
--- request
GET /check?uri=/media/a.mp4
--- response_body
{"url":"https://[2001:db8::2]/vol1/media/a.mp4","host":"[2001:db8::2]","port":443,"path":"/vol1/media/a.mp4"}



=== TEST 12: the load average limit
--- config
    location = /low {
        standby_check root=$TEST_NGINX_MEDIA max_conns=10 max_load=0.01
                      base=http://10.0.0.2:8080;
    }
    location = /high {
        standby_check root=$TEST_NGINX_MEDIA max_conns=10 max_load=1000
                      base=http://10.0.0.2:8080;
    }
--- skip_eval: 1: $ENV{TEST_NGINX_LOW_LOAD} eq ''
--- request eval
["GET /low?uri=/media/a.mp4", "GET /high?uri=/media/a.mp4"]
--- error_code eval
[503, 200]
--- response_body_like eval
[qr/^\{"error":"overloaded"/, qr/"url"/]



=== TEST 13: methods other than GET and HEAD
--- request
POST /check?uri=/media/a.mp4
x
--- error_code: 405



=== TEST 14: HEAD: the status and no body
--- request
HEAD /check?uri=/media/a.mp4
--- error_code: 200
--- response_body



=== TEST 15: root, max_conns and base are needed
--- config
    location = /check { standby_check root=/srv max_conns=10; }
--- must_die
--- error_log
"standby_check" needs root=, max_conns= and base=



=== TEST 16: bad base
--- config
    location = /check {
        standby_check root=/srv max_conns=10 base=ftp://10.0.0.2;
    }
--- must_die
--- error_log
invalid base "ftp://10.0.0.2", must be http[s]://host[:port][/path]



=== TEST 17: bad max_conns
--- config
    location = /check {
        standby_check root=/srv max_conns=0 base=http://10.0.0.2;
    }
--- must_die
--- error_log
invalid parameter "max_conns=0"



=== TEST 18: bad max_load
--- config
    location = /check {
        standby_check root=/srv max_conns=1 max_load=high base=http://h;
    }
--- must_die
--- error_log
invalid parameter "max_load=high"



=== TEST 19: unknown parameter
--- config
    location = /check {
        standby_check root=/srv max_conns=1 base=http://h maxconns=3;
    }
--- must_die
--- error_log
invalid parameter "maxconns=3"



=== TEST 20: a port out of range in base
--- config
    location = /check {
        standby_check root=/srv max_conns=1 base=http://h:65536;
    }
--- must_die
--- error_log
invalid base "http://h:65536"
