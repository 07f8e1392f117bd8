# A real web player: hls.js in headless Chromium plays through the fast-
# start location from the first seconds of a stream (its first request
# waits for the stream's first fragment) and later in it, beside a play
# of the stock location at the same moment.  nginx-rtmp cuts 2 s
# fragments into a 10 s window, as in the field report this test comes
# from.  Each fast-start play must start, keep playing across the
# transition to the terminal's reloads (media time advancing with wall
# time, no stall, no fatal error), get playlists that form one RFC 8216
# timeline, and start closer to live than the stock play.

use Test::Nginx::Socket;
use Test::More;
use LiveCdn::Helpers;
use LiveCdn::HlsCheck;
use LiveCdn::Player;

my $dir = helper_dir();

$ENV{TEST_NGINX_RTMP_PORT} = free_port();
$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

start_hls_origin("$dir/hls", fragment => '2s', playlist => '10s');

start_nginx_helper('edge', wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                   conf => <<'EOC');
load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; }
http {
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
    hls_fast_start_zone fs:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_EDGE_PORT;
        location /hls/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start fs;
            hls_fast_start_wait 20s;
            # one browser, several players: a terminal per player
            hls_fast_start_key $remote_addr$http_user_agent$arg_player;
        }
        location /stock/ {
            alias $TEST_NGINX_HLS_DIR/;
        }
        location = /player {
            default_type text/html;
            return 200 "<!doctype html><title>player</title><body></body>\n";
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};
my $page = "http://127.0.0.1:$edge/player";
my $edge_log = "$dir/edge/logs/error.log";

# the early play asks before the stream exists

my $early = play_start(page => $page, seconds => 14, wait => 40,
                       plays => [{ name => 'early',
                                   src => '/hls/s.m3u8?player=early' }]);

my $held = wait_for(sub { play_done($early) || (slurp($edge_log) // '')
                          =~ /hold "s\.m3u8" in "[^"]*", no playlist yet/ },
                    30) && !play_done($early);

if (!$held) {
    my $r = play_finish($early);
    plan(skip_all => $r->{skip}) if $r->{skip};
    fail('the early play asked for the playlist');
    done_testing();
    exit;
}

start_publisher('pub', url => "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}"
                              . '/app/s', gop => 1);

my $r = play_finish($early);
plan(skip_all => $r->{skip}) if $r->{skip};

my @plays = @{ $r->{plays} };

# later: a full window, then a fast-start and a stock play at once

ok(wait_for(sub { my @s = (slurp("$dir/hls/s.m3u8") // '') =~ /^s-\d+\.ts$/mg;
                  @s >= 5 }, 30), 'the window is full');

$r = play_finish(play_start(page => $page, seconds => 12,
                            plays => [{ name => 'later',
                                        src => '/hls/s.m3u8?player=later' },
                                      { name => 'stock',
                                        src => '/stock/s.m3u8' }]));
push @plays, @{ $r->{plays} };

my %p = map { $_->{name} => $_ } @plays;

for my $name (qw(early later stock)) {
    my $p = $p{$name};
    my @s = @{ $p->{samples} || [] };

    ok(defined $p->{ttff}, "$name: started"
       . (defined $p->{ttff} ? sprintf(' after %.0f ms, %.2f s behind live',
                                        $p->{ttff}, $p->{latency}) : ''));
    is(join(' ', map { $_->{details} } grep { $_->{fatal} }
                 @{ $p->{errors} }), '', "$name: no fatal error");
    is($p->{waiting}, 0, "$name: no stall");

    next unless @s >= 2;

    my ($wall, $media) = (($s[-1][0] - $s[0][0]) / 1000, $s[-1][1] - $s[0][1]);
    ok($wall >= 10, sprintf("$name: played %.1f s", $wall));
    ok($media >= 0.9 * $wall && $media <= 1.1 * $wall + 0.5,
       sprintf("$name: media time %.2f s in %.2f s of wall time", $media,
               $wall));

    next if $name eq 'stock';

    my $t = hls_timeline();
    my @answers = grep { $_->{url} =~ m{/hls/s\.m3u8} } @{ $p->{playlists} };
    my @problems = map { $t->add($_->{body}, "$name playlist") } @answers;

    ok(@answers >= 4, "$name: " . @answers . ' playlists, across reloads');
    is(join("\n", @problems), '', "$name: one RFC 8216 timeline");
}

ok(defined $p{later}{latency} && defined $p{stock}{latency}
   && $p{later}{latency} < $p{stock}{latency},
   sprintf('start latency: fast start %.2f s, stock %.2f s',
           $p{later}{latency} // -1, $p{stock}{latency} // -1));

# both first answers were held ones, of 2 fragments (the early one waited
# for the second fragment of the stream)
for my $name (qw(early later)) {
    my ($first) = grep { $_->{url} =~ m{/hls/s\.m3u8} }
                  @{ $p{$name}{playlists} };
    my @segs = ($first->{body} // '') =~ /^s-\d+\.ts$/mg;
    is(scalar @segs, 2, "$name: the first answer lists 2 fragments");
}

like((slurp($edge_log) // ''), qr/hold "s\.m3u8" on, 1 of 2 fragments/,
     'the early play waited for a second fragment');
like((slurp($edge_log) // ''),
     qr/hls fast start: first request, key "[^"]*later"/,
     'the later play was a first request');

done_testing();
