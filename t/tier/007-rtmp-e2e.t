# End to end with stock nginx-rtmp: two mid-tier members (helper nginx-rtmp),
# ffmpeg publishes to the member util/tier-hash.py names for the stream,
# and only there; an edge nginx-rtmp whose on_play / on_publish point at
# the tier service pulls the stream from the member the service names; a
# player (ffmpeg) gets frames from the edge.  A wrong choice finds no
# stream.  The relay's own local publish must get 200, not a redirect.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;

my $rtmp = $ENV{TEST_NGINX_RTMP_MODULE};
my %port = map { $_ => free_port() } qw(mid-a mid-b edge http);
my $stream = "tier$$";

for my $id (qw(mid-a mid-b)) {
    start_nginx_helper($id, wait_port => $port{$id}, conf => <<"EOC");
load_module $rtmp;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:$port{$id};
        application live { live on; }
    }
}
EOC
}

start_nginx_helper('edge', wait_port => $port{http}, conf => <<"EOC");
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
load_module $rtmp;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    log_format tier '\$status \$request_body';
    access_log logs/access.log tier;
    client_body_temp_path client_body;
    tier_group mid {
        member mid-a 127.0.0.1:$port{'mid-a'};
        member mid-b 127.0.0.1:$port{'mid-b'};
    }
    server {
        listen 127.0.0.1:$port{http};
        location = /tier/pick { tier_enum mid; }
    }
}
rtmp {
    server {
        listen 127.0.0.1:$port{edge};
        application live {
            live on;
            on_play http://127.0.0.1:$port{http}/tier/pick;
            on_publish http://127.0.0.1:$port{http}/tier/pick;
        }
    }
}
EOC

my ($best, $other) = split ' ', `python3 util/tier-hash.py live/$stream mid-a mid-b`;
ok($best && $other, "the reference hash picks $best for live/$stream");

start_publisher('publisher',
                url => "rtmp://127.0.0.1:$port{$best}/live/$stream");

ok(count_frames("rtmp://127.0.0.1:$port{$best}/live/$stream",
                seconds => 1, timeout => 20) > 0,
   "$best has the stream");
is(count_frames("rtmp://127.0.0.1:$port{$other}/live/$stream",
                seconds => 1, timeout => 5), 0,
   "$other has not: a wrong choice would play nothing");

my $frames = count_frames("rtmp://127.0.0.1:$port{edge}/live/$stream",
                          seconds => 3, timeout => 30);
ok($frames > 0, "the edge pulled from $best, the player got $frames frames");

my $log = do {
    local $/;
    open my $fh, '<', helper_dir() . '/edge/logs/access.log' or die $!;
    <$fh>;
};

like($log, qr/^302 \S*call=play&name=$stream\b/m,
     'on_play of the player: 302');
like($log, qr/^200 \S*flashver=ngx-local-relay\S*call=publish&name=$stream\b/m,
     "on_publish of the edge's own pull relay: 200");
unlike($log, qr/^302 \S*flashver=ngx-local-relay/m,
       'no relay session was redirected');

our $expected = $best;

run_tests();

__DATA__

=== TEST 1: the service answers GET with the member the reference picked
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid {
        member mid-a 127.0.0.1:1935;
        member mid-b 127.0.0.1:1936;
    }
--- config
    location = /tier/pick { tier_enum mid; }
--- request eval
"GET /tier/pick?n=1&key=live/tier$$"
--- response_body_like eval
qr/"servers":\[\{"id":"$::expected",/
