# A client that goes away must not fail the lookup others wait on: the
# fetch it started outlives it, its waiters in both workers get the
# service's answer, nothing counts as a service failure, and the answer
# is cached even when nobody waits for it any more.  Two workers, a
# service that answers slowly (an nginx stand-in whose answer trickles
# out under limit_rate), no proxy_ignore_client_abort.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

my $front = free_port();
my $svc = free_port();
my $dir = helper_dir();

# about 220 bytes at 100 bytes/s: the answer takes two seconds or more
my $answer = '{"Status":0,"TC":false,"Question":[{"name":"push.example.com.",'
    . '"type":1}],"Answer":[{"name":"push.example.com.","type":1,"TTL":60,'
    . '"data":"192.0.2.77"}],"Comment":"' . ('x' x 50) . '"}';

open my $fh, '>', "$dir/answer.json" or die "$!\n";
print $fh $answer;
close $fh;

start_nginx_helper('service', wait_port => $svc, conf => <<"_EOC_");
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    log_format q '\$arg_edns_client_subnet';
    server {
        listen 127.0.0.1:$svc;
        access_log $dir/service.log q;
        location = /resolve {
            limit_rate 100;
            default_type application/json;
            alias $dir/answer.json;
        }
    }
}
_EOC_

start_nginx_helper('front', wait_port => $front, conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    httpdns_zone alloc:1m;
    server {
        listen 127.0.0.1:$front reuseport;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/resolve;
            httpdns_dialect doh-json;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/\$arg_stream";
            httpdns_fallback off;
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$svc/;
        }
    }
}
_EOC_

my $log = "$dir/front/logs/error.log";

sub log_lines {
    my ($re) = @_;
    return grep { /$re/ } split /\n/, slurp($log) // '';
}

sub wait_log {
    my ($re, $n, $secs) = @_;
    my $deadline = time + $secs;
    my @l;
    while (time < $deadline) {
        @l = log_lines($re);
        return @l if @l >= $n;
        sleep 0.02;
    }
    return @l;
}

sub queries {
    my ($subnet) = @_;
    return scalar grep { $_ eq $subnet } split /\n/,
        slurp("$dir/service.log") // '';
}

sub push_uri {
    my ($ip) = @_;
    return "/v1/push?stream=s&ip=$ip";
}


# --- the first client leaves, its waiters in both workers get the answer

my $key = qr/"doh-json\|\/_httpdns\/resolve\|push\.example\.com\|203\.0\.113\.0\/24"/;

my $first = http_start($front, push_uri('203.0.113.1'))
    // die "connect: $!\n";

ok(scalar wait_log(qr/live lookup: $key miss, fetching/, 1, 5),
   'the first request fetches');

# the requests that wait on it: a connection logs "miss, waiting" at
# each look at the zone; twelve or more, until both workers have some
sub waiting {
    my %w;
    for (log_lines(qr/live lookup: $key miss, waiting/)) {
        $w{"$1 $2"} = $1 if /\[debug\] (\d+)#\d+: \*(\d+) /;
    }
    return %w;
}

my (@waiters, %seen);
while (@waiters < 60) {
    push @waiters, http_start($front, push_uri('203.0.113.' . (@waiters + 2)))
        // die "connect: $!\n";

    my $deadline = time + 5;
    %seen = waiting();
    while (keys %seen < @waiters && time < $deadline) {
        sleep 0.02;
        %seen = waiting();
    }

    my %pids = map { $_ => 1 } values %seen;
    last if @waiters >= 12 && keys %pids == 2;
}

my %pids = map { $_ => 1 } values %seen;
is(scalar keys %seen, scalar @waiters, scalar(@waiters) . ' requests wait');
is(scalar keys %pids, 2, 'in both workers');

close $first;

my %got;
for my $s (@waiters) {
    my $r = http_finish($s, 15);
    my ($source) = $r->{body} =~ /"source":"(\w+)"/;
    my ($url) = $r->{body} =~ /"url":"([^"]*)"/;
    $got{join ' ', $r->{status}, $source // '-', $url // '-'}++;
}

is_deeply([keys %got], ['200 httpdns rtmp://192.0.2.77/live/s'],
          "every waiter got the service's answer")
    or diag explain \%got;

is(queries('203.0.113.0/24'), 1, 'from the one query the first started');

is(scalar log_lines(qr/live lookup: .* failed/), 0,
   'no lookup failure in the error log');

my ($status, undef, $body) = http_get($front, push_uri('203.0.113.200'));
like("$status $body", qr/^200 .*"source":"httpdns"/,
     'the key is cached, not in failure back-off');


# --- nobody waits: the answer is cached all the same --------------------

$key = qr/"doh-json\|\/_httpdns\/resolve\|push\.example\.com\|198\.51\.100\.0\/24"/;

my $lone = http_start($front, push_uri('198.51.100.1'))
    // die "connect: $!\n";

ok(scalar wait_log(qr/live lookup: $key miss, fetching/, 1, 5),
   'a lone client starts a fetch');

close $lone;

ok(scalar wait_log(qr/live lookup: $key fetch done/, 1, 10),
   'and leaves before the answer: the fetch ends all the same');

($status, undef, $body) = http_get($front, push_uri('198.51.100.2'));
like("$status $body", qr/^200 .*"source":"httpdns"/,
     'the next client finds the answer cached');
is(queries('198.51.100.0/24'), 1, 'one query for that key');

is(scalar log_lines(qr/\[(?:error|alert|crit)\]/), 0,
   'no error in the log')
    or diag join "\n", log_lines(qr/\[(?:error|alert|crit)\]/);

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
