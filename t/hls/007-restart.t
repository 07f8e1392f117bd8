# One timeline per terminal across a publisher restart: nginx-rtmp
# (hls_continuous on, its default) carries the media sequence on and writes
# an EXT-X-DISCONTINUITY before the first fragment of the new publish, and
# later drops discontinuities from the head without counting them.
# Terminal A starts with fast start before the restart and reloads at every
# playlist rename through it; every answer must be an RFC 8216 update of
# the one before (LiveCdn::HlsCheck).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::HlsCheck;

my $dir = helper_dir();

$ENV{TEST_NGINX_RTMP_PORT} = free_port();
$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

start_hls_origin("$dir/hls", fragment => '1s', playlist => '4s');

start_nginx_helper('edge', wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                   valgrind => 1, conf => <<'EOC');
load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 64; }
http {
    hls_fast_start_zone fs:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_EDGE_PORT;
        location /hls/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start fs;
            hls_fast_start_wait 20s;
            add_header X-FS $hls_fast_start always;
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};
my $playlist = "$dir/hls/s.m3u8";
my $url = "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}/app/s";
my $check = hls_timeline();
my (@answers, @problems);

sub get {
    return http_finish(http_start($edge, '/hls/s.m3u8',
                                  { 'User-Agent' => 'A' }), 30);
}

sub inode {
    return (stat $playlist)[1] // 0;
}

sub answer {
    my ($r) = @_;
    push @answers, $r;
    push @problems, $check->add($r->{body}, 'answer ' . @answers);
}

# reloads at every rename until "done" says so
sub reload_until {
    my ($done) = @_;
    my $ino = inode();

    for (1 .. 60) {
        return 0 unless wait_for(sub { inode() != $ino }, 10);
        $ino = inode();
        answer(get());
        return 1 if $done->(slurp($playlist) // '');
    }

    return 0;
}

sub ms_of {
    return ($_[0] =~ /MEDIA-SEQUENCE:(\d+)/)[0] // 0;
}

start_publisher('pub', url => $url, gop => 1);

ok(wait_for(sub { (slurp($playlist) // '') =~ /^[^#\s]/m }, 20),
   'the stream started');

my $r = get();
is($r->{headers}{'x-fs'}, 'held', 'A: the first request held');
answer($r);

ok(reload_until(sub { ms_of($_[0]) >= 2 }), 'A: reloads before the restart');

# the publisher goes and comes back; nginx-rtmp carries the sequence on
stop_helper('pub', wait => 10);
my $before = ms_of(slurp($playlist) // '');
start_publisher('pub', url => $url, gop => 1);

ok(reload_until(sub { $_[0] =~ /#EXT-X-DISCONTINUITY/
                      && ms_of($_[0]) > $before }),
   'the restarted stream is in the window');
ok(reload_until(sub { $_[0] !~ /#EXT-X-DISCONTINUITY/ }),
   'its discontinuity left the window');
ok(reload_until(sub { 1 }), 'a reload after that');

is(join("\n", @problems), '', 'A: every answer an RFC 8216 update');
is(scalar(grep { $_->{status} != 200 } @answers), 0, 'A: all 200');

if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    stop_helper('edge', signal => 'QUIT', wait => 60);
    is(valgrind_reports('edge'), '', 'no memcheck reports from the edge');
}

unlike(slurp("$dir/edge/logs/error.log") // '',
       qr/\[(?:alert|crit|emerg|error|warn)\]/, 'no errors in the edge log');

run_tests();

__DATA__
