# The lookup cache's promises about time and space, on a real nginx with
# a stand-in service that logs every query: after a failure a key is not
# asked again for 1 s (requests in that second get the fallback), and the
# failure is logged once per refresh period; entries unused for
# "inactive" are dropped; a full zone evicts the least recently used
# entry.  One worker, so that the debug log reads in order.  Plain
# Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

my $front = free_port();
my $svc = free_port();
my $dir = helper_dir();
my $log = "$dir/front/logs/error.log";

my $locations = join '', map { <<"_EOC_" } qw(fail idle small);
        location = /$_ {
            httpdns_alloc $_;
            httpdns_service /_svc/\$arg_svc;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/\$arg_stream";
        }
_EOC_

start_nginx_helper('front', wait_port => $front, conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; }
http {
    access_log off;
    log_format q '\$uri \$arg_ip';
    httpdns_zone fail:1m;
    httpdns_zone idle:1m inactive=1s;
    httpdns_zone small:32k;
    server {
        listen 127.0.0.1:$front;
$locations
        location /_svc/ {
            internal;
            proxy_pass http://127.0.0.1:$svc/;
        }
    }
    server {
        listen 127.0.0.1:$svc;
        access_log $dir/service.log q;
        location = /ok { return 200 "192.0.2.1,60"; }
        location = /bad { return 503; }
    }
}
_EOC_

sub alloc {
    my ($loc, $ip, $svcloc) = @_;
    my ($status, undef, $body) =
        http_get($front, "/$loc?stream=s&svc=" . ($svcloc // 'ok')
                         . "&ip=$ip");
    my ($source) = $body =~ /"source":"(\w+)"/;
    return $source // "status $status";
}

# the queries the service got for a subnet
sub queries {
    my ($what) = @_;
    open my $fh, '<', "$dir/service.log" or return 0;
    return scalar grep { /^\Q$what\E\n/ } <$fh>;
}

sub log_lines {
    my ($re) = @_;
    open my $fh, '<', $log or return 0;
    return scalar grep { $_ =~ $re } <$fh>;
}


# --- back-off after a failure, logged once per refresh period ---------

my $t0 = time;
is(alloc('fail', '198.51.100.7', 'bad'), 'fallback', 'a failure: fallback');
is(queries('/bad 198.51.100.0'), 1, 'one query');

my @next = map { alloc('fail', '198.51.100.7', 'bad') } 1 .. 3;
my $soon = time - $t0;
is("@next", 'fallback fallback fallback', 'the next requests: fallback');

SKIP: {
    skip sprintf('the first requests took %.2f s', $soon), 2 if $soon >= 0.9;

    is(queries('/bad 198.51.100.0'), 1,
       sprintf('no query in the second after the failure (%.2f s)', $soon));
    is(log_lines(qr/live lookup: "[^"]*198\.51\.100\.0\/24" miss, failed lately/),
       3, 'each says so in the debug log');
}

my $again;
while (time - $t0 < 5) {
    alloc('fail', '198.51.100.7', 'bad');
    if (queries('/bad 198.51.100.0') == 2) {
        $again = time - $t0;
        last;
    }
    sleep 0.05;
}

ok(defined $again && $again >= 0.95,
   sprintf('asked again after a second (%.2f s)', $again // -1));
is(log_lines(qr/\[error\].*live lookup: "[^"]*198\.51\.100\.0\/24" failed/),
   1, 'two failures in one refresh period: logged once');


# --- inactive=1s: an entry unused that long is dropped ----------------

is(alloc('idle', '203.0.113.7'), 'httpdns', 'an answer for key A');
is(alloc('idle', '203.0.113.7'), 'httpdns', 'A again: from the cache');
is(queries('/ok 203.0.113.0'), 1, 'one query for A');

# the inactivity itself: nothing to wait on but the clock
sleep 1.2;

is(alloc('idle', '203.0.114.7'), 'httpdns', 'a new key B (expires A)');
is(alloc('idle', '203.0.113.7'), 'httpdns', 'A again');
is(queries('/ok 203.0.113.0'), 2, 'A was dropped: a second query');


# --- a full zone evicts the least recently used entry -----------------

alloc('small', '10.0.0.1');              # K0, kept in use
alloc('small', '10.0.1.1');              # K1, never used again

for my $i (2 .. 600) {
    alloc('small', sprintf('10.%d.%d.1', $i >> 8, $i & 255));
    alloc('small', '10.0.0.1') if $i % 10 == 0;
}

is(alloc('small', '10.0.0.1'), 'httpdns', 'K0 after 600 other keys');
is(queries('/ok 10.0.0.0'), 1, 'K0, used all along, was kept');
is(alloc('small', '10.0.1.1'), 'httpdns', 'K1 after 600 other keys');
is(queries('/ok 10.0.1.0'), 2, 'K1, the least recently used, was evicted');

is(log_lines(qr/\[(?:alert|crit|emerg)\]/), 0, 'no alert in the error log');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the front
stop_helpers();

done_testing();
