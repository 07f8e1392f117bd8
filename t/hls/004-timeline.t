# One timeline per terminal, on a stream that starts while a player waits:
# nginx-rtmp cuts 1 s fragments into a 4 s window, so the stream's first
# fragment (and the EXT-X-DISCONTINUITY nginx-rtmp writes before it)
# leaves the window within seconds.  Terminal A asks before the stream
# exists, terminal B joins a few fragments in, terminal S reloads the
# stock location; each reloads at every playlist rename, and A goes on
# through a publisher restart (whose discontinuity nginx-rtmp drops from
# the head uncounted in turn).  Every answer A and B get, in order, must
# be an RFC 8216 update of the one before (LiveCdn::HlsCheck); S shows the
# defect of stock serving that the module corrects.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::HlsCheck;
use Time::HiRes qw(time);

my $dir = helper_dir();

$ENV{TEST_NGINX_RTMP_PORT} = free_port();
$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

start_hls_origin("$dir/hls", fragment => '1s', playlist => '4s');

start_nginx_helper('edge', wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                   valgrind => 1, conf => <<'EOC');
load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 2;
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
        location /stock/ {
            alias $TEST_NGINX_HLS_DIR/;
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};
my $playlist = "$dir/hls/s.m3u8";

sub get {
    my ($uri, $ua) = @_;
    return http_finish(http_start($edge, $uri, { 'User-Agent' => $ua }), 30);
}

sub inode {
    return (stat $playlist)[1] // 0;
}

my %t = map { $_ => { check => hls_timeline(), answers => [] } } qw(A B S);

sub answer {
    my ($who, $r) = @_;
    my $t = $t{$who};

    push @{ $t->{answers} }, $r;
    push @{ $t->{problems} },
        $t->{check}->add($r->{body}, "$who answer " . @{ $t->{answers} });
}


# A asks before there is a stream; the answer comes with the first fragment

my $a = http_start($edge, '/hls/s.m3u8', { 'User-Agent' => 'A' });
ok(wait_for(sub { (slurp("$dir/edge/logs/error.log") // '')
                  =~ /hold "s\.m3u8" in "[^"]*", no playlist yet/ }),
   'A: held, no playlist yet');

start_publisher('pub', url => "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}"
                              . '/app/s', gop => 1);

my $first = http_finish($a, 30);
is($first->{status}, 200, 'A: answered once the stream exists');
is($first->{headers}{'x-fs'}, 'held', 'A: held');
answer('A', $first);
answer('S', get('/stock/s.m3u8', 'S'));

# every rename: A and S reload; B joins at the third fragment

my ($ino, $stock_ms, $renames) = (inode(), 0, 0);

while ($renames < 40) {
    last unless wait_for(sub { inode() != $ino }, 10);
    $ino = inode();
    $renames++;

    ($stock_ms) = (slurp($playlist) // '') =~ /MEDIA-SEQUENCE:(\d+)/;

    answer('A', get('/hls/s.m3u8', 'A'));
    answer('S', get('/stock/s.m3u8', 'S'));

    if (!@{ $t{B}{answers} } && segments_in(slurp($playlist)) >= 3
        && $stock_ms == 0)
    {
        my $r = get('/hls/s.m3u8', 'B');
        is($r->{headers}{'x-fs'}, 'held', 'B: held');
        answer('B', $r);
        $ino = inode();
        next;
    }

    answer('B', get('/hls/s.m3u8', 'B')) if @{ $t{B}{answers} };

    last if $stock_ms >= 4;
}

# the publisher goes and comes back (hls_continuous on, nginx-rtmp's
# default): the sequence goes on after a discontinuity, which later leaves
# the head uncounted as well; A reloads at every rename through it

sub reload_until {
    my ($done) = @_;

    for (1 .. 60) {
        return 0 unless wait_for(sub { inode() != $ino }, 10);
        $ino = inode();
        answer('A', get('/hls/s.m3u8', 'A'));
        return 1 if $done->(slurp($playlist) // '');
    }

    return 0;
}

sub ms_of {
    return ($_[0] =~ /MEDIA-SEQUENCE:(\d+)/)[0] // 0;
}

stop_helper('pub', wait => 10);
my $before = ms_of(slurp($playlist) // '');
start_publisher('pub', url => "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}"
                              . '/app/s', gop => 1);

ok(reload_until(sub { $_[0] =~ /#EXT-X-DISCONTINUITY/
                      && ms_of($_[0]) > $before }),
   'restart: the new publish is in the window');
ok(reload_until(sub { $_[0] !~ /#EXT-X-DISCONTINUITY/ }),
   'restart: its discontinuity left the window');
ok(reload_until(sub { 1 }), 'restart: a reload after that');

sub segments_in {
    my @s = ($_[0] // '') =~ /^[^#\s]/mg;
    return scalar @s;
}

ok($stock_ms >= 4, "the window moved on ($renames renames, stock media "
                   . "sequence $stock_ms)");

for my $who (qw(A B)) {
    my @p = @{ $t{$who}{problems} || [] };
    my $n = @{ $t{$who}{answers} };
    ok($n >= 5, "$who: $n answers");
    is(join("\n", @p), '', "$who: every answer an RFC 8216 update");
    is(scalar(grep { $_->{status} != 200 } @{ $t{$who}{answers} }), 0,
       "$who: all 200");
}

# what stock serving does to a player that joined early
like(join("\n", @{ $t{S}{problems} || [] }),
     qr/discontinuity sequence number 1 became 0/,
     'stock: nginx-rtmp drops the head discontinuity uncounted');

# A met both cases: the stock bytes while they kept to its timeline, a
# rewritten playlist counting the discontinuity once they did not
my @a = @{ $t{A}{answers} }[1 .. $#{ $t{A}{answers} }];
ok(scalar(grep { !defined $_->{headers}{'cache-control'} } @a),
   'A: some reloads are the stock file untouched');
ok(scalar(grep { $_->{body} =~ /^#EXT-X-DISCONTINUITY-SEQUENCE:1$/m
                 && $_->{headers}{'cache-control'} eq 'no-store' } @a),
   'A: later reloads count the dropped discontinuity');

# B's first answer drops the discontinuity; its reloads are trimmed
my @b = @{ $t{B}{answers} };
like($b[0]{body}, qr/^#EXT-X-DISCONTINUITY-SEQUENCE:1$/m,
     'B: the first answer counts the discontinuity it drops');
my ($b_ms) = $b[0]{body} =~ /MEDIA-SEQUENCE:(\d+)/;
ok(scalar(grep { ($_->{body} =~ /MEDIA-SEQUENCE:(\d+)/)[0] == $b_ms }
          @b[1 .. $#b]) >= 1, "B: reloads start at $b_ms, not before");

if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    stop_helper('edge', signal => 'QUIT', wait => 60);
    is(valgrind_reports('edge'), '', 'no memcheck reports from the edge');
}

unlike(slurp("$dir/edge/logs/error.log") // '',
       qr/\[(?:alert|crit|emerg|error|warn)\]/, 'no errors in the edge log');

run_tests();

__DATA__
