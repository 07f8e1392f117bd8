# HLS fast start when the files misbehave while a request is held: a
# playlist that appears and cannot be read, the same directory reached
# through two paths.  The nginx under test runs as a helper (master, one
# worker), so that a worker that stops answering fails the checks here
# instead of hanging the runner; playlists are written by this file, as
# nginx-rtmp does (a temporary file renamed into place).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $dir = helper_dir();

$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

mkdir "$dir/hls";

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
        location = /alive {
            return 200 "alive\n";
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($f, $data) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    print $fh $data;
    close $fh;
}

sub start_request {
    my ($uri, $ua) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $edge,
                                  Proto => 'tcp')
        or die "connect: $!\n";
    print $s "GET $uri HTTP/1.0\r\nHost: localhost\r\nUser-Agent: $ua\r\n\r\n";
    return $s;
}

sub finish_request {
    my ($s, $secs) = @_;
    my $resp = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $secs;
        local $/;
        $resp = <$s> // '';
        alarm 0;
    };
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    my ($fs) = ($head // '') =~ m{^X-FS: (\S*)}mi;
    return { status => $status // 0, fs => $fs // '', body => $body // '',
             done => time };
}

sub edge_log {
    return slurp("$dir/edge/logs/error.log") // '';
}


# 1. A nested stream directory that does not exist yet is polled; it then
#    appears with a playlist that cannot be read (over the 1 MB limit).
#    The request is answered at once with the stock file, and the worker
#    goes on serving.

{
    my $s = start_request('/hls/big/index.m3u8', 'big');
    sleep 0.5;

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
