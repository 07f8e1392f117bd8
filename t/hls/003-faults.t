# HLS fast start when the files misbehave while a request is held: a
# playlist that appears and cannot be read, the same directory reached
# through two paths.  The nginx under test runs as a helper (master, one
# worker), so that a worker that stops answering fails the checks here
# instead of hanging the runner; playlists are written by this file, as
# nginx-rtmp does (a temporary file renamed into place).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use Time::HiRes qw(time sleep);

my $dir = helper_dir();

$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

mkdir "$dir/hls";
symlink "hls", "$dir/link" or die "symlink: $!\n";

start_nginx_helper('edge', wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                   conf => <<'EOC');
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
            hls_fast_start_wait 4s;
            add_header X-FS $hls_fast_start always;
        }
        location /link/ {
            alias $TEST_NGINX_HLS_DIR/../link/;
            hls_fast_start fs;
            hls_fast_start_wait 4s;
            add_header X-FS $hls_fast_start always;
        }
        location = /alive {
            return 200 "alive\n";
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};

sub spew {
    my ($f, $data) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    print $fh $data;
    close $fh;
}

# requests nginx may hold: sent now, read later
sub start_request {
    my ($uri, $ua) = @_;
    return http_start($edge, $uri, { 'User-Agent' => $ua });
}

sub finish_request {
    my $r = http_finish(@_);
    $r->{fs} = $r->{headers}{'x-fs'} // '';
    return $r;
}

sub edge_log {
    return slurp("$dir/edge/logs/error.log") // '';
}

sub holds {
    return fast_start_holds('edge', $_[0]);
}

sub wait_holds {
    my ($name, $n) = @_;
    return wait_for(sub { holds($name) >= $n });
}


# 1. A nested stream directory that does not exist yet is polled; it then
#    appears with a playlist that cannot be read (over the 1 MB limit).
#    The request is answered at once with the stock file, and the worker
#    goes on serving.

{
    my $s = start_request('/hls/big/index.m3u8', 'big');
    ok(wait_holds('index.m3u8', 1), 'big/index.m3u8 held');

    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-TARGETDURATION:2\n";
    $pl .= "#EXTINF:2.000,\n" . sprintf("%020d.ts\n", $_) for 1 .. 40000;

    mkdir "$dir/hls/tmp-big";
    spew("$dir/hls/tmp-big/index.m3u8", $pl);
    my $start = time;
    rename "$dir/hls/tmp-big", "$dir/hls/big" or die "rename: $!\n";

    my $r = finish_request($s, 8);

    is($r->{status}, 200, 'unreadable playlist: answered');
    is($r->{fs}, 'first', 'unreadable playlist: the stock file at once');
    ok($r->{done} - $start < 2,
       sprintf('unreadable playlist: answered %.3f s after it appeared',
               $r->{done} - $start));
    is(length $r->{body}, length $pl, 'unreadable playlist: all of it');

    my ($status, undef, $body) = http_get($edge, '/alive');
    is($status, 200, 'the worker still answers');
    like(edge_log(), qr/hls fast start: playlist ".*big\/index\.m3u8" too big/,
         'the size is logged');
}


# 2. The same directory reached through two paths (a symlink): inotify
#    gives both one watch.  A rename wakes the requests held through
#    either path, and the first to finish does not take the watch away
#    from the other.

sub playlist {
    my ($ms) = @_;
    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:$ms\n#EXT-X-TARGETDURATION:2\n";
    $pl .= "#EXTINF:2.000,\ns-$_.ts\n" for $ms .. $ms + 2;
    return $pl;
}

sub rename_playlist {
    my ($ms) = @_;
    spew("$dir/hls/s.m3u8.bak", playlist($ms));
    rename "$dir/hls/s.m3u8.bak", "$dir/hls/s.m3u8" or die "rename: $!\n";
    return time;
}

{
    rename_playlist(1);

    my $h = holds('s.m3u8');
    my @s = (start_request('/hls/s.m3u8', 'both-1'),
             start_request('/link/s.m3u8', 'both-2'));
    ok(wait_holds('s.m3u8', $h + 2), 'both held');

    my $start = rename_playlist(2);
    my @r = map { finish_request($_, 8) } @s;

    for my $i (0, 1) {
        is($r[$i]->{fs}, 'held', "two paths, request $i: held");
        ok($r[$i]->{done} - $start < 1,
           sprintf("two paths, request $i: answered %.3f s after the rename",
                   $r[$i]->{done} - $start));
        like($r[$i]->{body}, qr/^#EXT-X-MEDIA-SEQUENCE:3\n/m,
             "two paths, request $i: the renamed playlist, trimmed");
    }

    # one path held now, the other one held and answered meanwhile

    $h = holds('s.m3u8');
    my $a = start_request('/hls/s.m3u8', 'both-3');
    ok(wait_holds('s.m3u8', $h + 1), 'first path held');
    my $b = start_request('/link/s.m3u8', 'both-4');
    ok(wait_holds('s.m3u8', $h + 2), 'second path held');
    $start = rename_playlist(3);
    my $rb = finish_request($b, 8);
    my $ra = finish_request($a, 8);

    is($rb->{fs}, 'held', 'second path held and answered');
    ok($rb->{done} - $start < 1,
       sprintf('second path: answered %.3f s after the rename',
               $rb->{done} - $start));
    like($rb->{body}, qr/^#EXT-X-MEDIA-SEQUENCE:4\n/m,
         'second path: the renamed playlist, trimmed');
    is($ra->{fs}, 'held', 'first path held again');
    ok($ra->{done} - $start < 1,
       sprintf('first path: answered %.3f s after the rename',
               $ra->{done} - $start));

    # another file waited for through the first path: the event for
    # s.m3u8 must still reach the second path's directory

    $h = holds('s.m3u8');
    my $other = start_request('/hls/other.m3u8', 'both-6');
    ok(wait_holds('other.m3u8', 1), 'other.m3u8 held');
    my $d = start_request('/link/s.m3u8', 'both-7');
    ok(wait_holds('s.m3u8', $h + 1), 'second path held');
    $start = rename_playlist(4);
    my $rd = finish_request($d, 8);

    is($rd->{fs}, 'held', 'other file on the first path: second path held');
    ok($rd->{done} - $start < 1,
       sprintf('other file on the first path: answered %.3f s after the '
               . 'rename', $rd->{done} - $start));

    my $ro = finish_request($other, 8);
    is($ro->{status}, 404, 'the other file never came: 404');
    is($ro->{fs}, 'timeout', 'the other file never came: timeout');

    $h = holds('s.m3u8');
    my $c = start_request('/link/s.m3u8', 'both-5');
    ok(wait_holds('s.m3u8', $h + 1), 'second path alone held');
    $start = rename_playlist(5);
    my $rc = finish_request($c, 8);

    is($rc->{fs}, 'held', 'second path alone: held');
    ok($rc->{done} - $start < 1,
       sprintf('second path alone: answered %.3f s after the rename',
               $rc->{done} - $start));
}


# 3. A nested stream directory that does not exist yet is polled; then a
#    regular file appears under its name.  It cannot be watched (ENOTDIR):
#    the request is answered at once, as the static module answers it, and
#    that is logged once, not once per 40 ms poll.

{
    my $s = start_request('/hls/notdir/index.m3u8', 'notdir');
    ok(wait_for(sub { edge_log() =~ /no ".*\/notdir" yet, polling/ }),
       'not a directory: polled');

    spew("$dir/hls/notdir", "a file\n");
    my $start = time;
    my $r = finish_request($s, 8);

    is($r->{status}, 404, 'not a directory: 404');
    is($r->{fs}, 'first', 'not a directory: answered at once');
    ok($r->{done} - $start < 1,
       sprintf('not a directory: answered %.3f s after the file appeared',
               $r->{done} - $start));

    my @lines = edge_log() =~ /^.*\[(?:warn|error)\].*notdir.*$/mg;
    is(scalar @lines, 1, 'not a directory: one line in the log')
        or diag(join "\n", @lines);
}


unlike(edge_log(), qr/\[(?:alert|crit|emerg)\]/, 'no alerts in the edge log');

run_tests();

__DATA__

=== TEST 1: a nested directory that never appears: polled, then 404
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- http_config
    hls_fast_start_zone fs:1m;
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/;
        hls_fast_start fs;
        hls_fast_start_wait 300ms;
        add_header X-FS $hls_fast_start always;
    }
--- request
GET /hls/never/index.m3u8
--- error_code: 404
--- response_headers
X-FS: timeout
--- error_log
hls fast start: no "
--- no_error_log
[alert]
[crit]
