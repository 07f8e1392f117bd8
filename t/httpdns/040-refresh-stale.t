# ngx_http_httpdns_module and the shared lookup cache under a request
# stream, with two workers: one service query per key per refresh period,
# concurrent misses sharing one query, stale then fallback while the
# service is down, back to httpdns when it returns, and a reload with
# requests in flight.  Real nginx processes for both roles; plain
# Test::More, so it runs the same under any runner.

use strict;
use warnings;

use Test::More;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

my $front = free_port();
my $svc = free_port();
my $dir = helper_dir();

sub service_conf {
    return <<"_EOC_";
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    log_format q '\$arg_ip';
    server {
        listen 127.0.0.1:$svc;
        access_log $dir/service.log q;
        location = /d { return 200 "192.0.2.40;192.0.2.41,60"; }
        location = /slow {
            limit_rate 100;
            alias $dir/slow.txt;
        }
    }
}
_EOC_
}

open my $fh, '>', "$dir/slow.txt" or die;
print $fh "192.0.2.50,60";
close $fh;

my $front_conf = <<"_EOC_";
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 1024; accept_mutex off; }
http {
    access_log off;
    httpdns_zone alloc:1m refresh=1s stale=2s;
    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/\$arg_svc;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/\$arg_stream";
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$svc/;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
        }
    }
}
_EOC_

start_nginx_helper('service', conf => service_conf(), wait_port => $svc);
my $master = start_nginx_helper('front', conf => $front_conf,
                                wait_port => $front);

sub alloc {
    my ($ip, $svcloc) = @_;
    my ($status, undef, $body) =
        http_get($front, "/v1/push?stream=s&svc=" . ($svcloc // 'd')
                         . "&ip=$ip");
    my ($source) = $body =~ /"source":"(\w+)"/;
    return ($status, $source // '', $body);
}

sub queries {
    my ($subnet) = @_;
    open my $fh, '<', "$dir/service.log" or return 0;
    my $n = grep { /^\Q$subnet\E\.\d+$/ } <$fh>;
    return $n;
}

# several requests at once, in separate processes; returns the answers
sub parallel {
    my ($n, @args) = @_;
    my @kids;
    for my $i (1 .. $n) {
        pipe(my $r, my $w) or die;
        my $pid = fork() // die;
        if ($pid == 0) {
            close $r;
            my ($status, $source) = alloc(@args);
            print $w "$status $source";
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    my @out;
    for (@kids) {
        my ($pid, $r) = @$_;
        local $/;
        push @out, scalar(<$r>) // '';
        waitpid($pid, 0);
    }
    return @out;
}


# --- one query per key per period, two workers, steady stream ---------

my $t0 = time;
my %seen;
while (time - $t0 < 3.5) {
    for my $ip ('198.51.100.7', '203.0.113.7') {
        my ($status, $source) = alloc($ip);
        $seen{"$status $source"}++;
    }
    sleep 0.02;
}

is_deeply([keys %seen], ['200 httpdns'], 'every answer came from httpdns');
# queries at about 0, 1, 2 and 3 s: 4, give or take one for timing
my ($qa, $qb) = (queries('198.51.100'), queries('203.0.113'));
ok($qa >= 3 && $qa <= 5, "one query per period for key A ($qa in 3.5 s)");
ok($qb >= 3 && $qb <= 5, "one query per period for key B ($qb in 3.5 s)");
diag("requests: $seen{'200 httpdns'}, queries: A $qa, B $qb");


# --- concurrent misses share one query, across workers ----------------

my @answers = parallel(20, '10.9.9.9', 'slow');
is(scalar(grep { $_ eq '200 httpdns' } @answers), 20,
   '20 concurrent misses all answered from httpdns')
    or diag(join ', ', @answers);
is(queries('10.9.9'), 1, 'and the service saw one query');


# --- service down: stale, then fallback; back: httpdns --------------

alloc('192.0.2.200');                 # a fresh entry for this part
my $fetched = time;
stop_helper('service');

my ($first_stale, $first_fallback, @order);
while (time - $fetched < 8) {
    my ($status, $source) = alloc('192.0.2.200');
    push @order, $source unless @order && $order[-1] eq $source;
    $first_stale //= time - $fetched if $source eq 'stale';
    if ($source eq 'fallback') {
        $first_fallback = time - $fetched;
        last;
    }
    sleep 0.05;
}

is_deeply(\@order, ['httpdns', 'stale', 'fallback'],
          'httpdns, then stale, then fallback');
ok(defined $first_stale && $first_stale >= 0.9 && $first_stale < 2.5,
   sprintf('stale after the refresh period (%.2f s)', $first_stale // -1));
ok(defined $first_fallback && $first_fallback >= 2.9
   && $first_fallback < 4.5,
   sprintf('fallback after refresh + stale (%.2f s)', $first_fallback // -1));

start_nginx_helper('service', conf => service_conf(), wait_port => $svc);

my $back;
my $t1 = time;
while (time - $t1 < 5) {
    my ($status, $source) = alloc('192.0.2.200');
    if ($source eq 'httpdns') { $back = time - $t1; last }
    sleep 0.05;
}
ok(defined $back, sprintf('httpdns again once the service is back '
                          . '(%.2f s)', $back // -1));


# --- reload with requests in flight -----------------------------------

pipe(my $r, my $w) or die;
my $pid = fork() // die;
if ($pid == 0) {
    close $r;
    my @a = parallel(10, '10.8.8.8', 'slow');
    print $w join(',', @a);
    close $w;
    POSIX::_exit(0);
}
close $w;
# the reload once all ten are in flight: one fetching, nine waiting
is(wait_logged("$dir/front/logs/error.log",
            qr/(\d+#\d+: \*\d+) live lookup: "[^"]*10\.8\.8\.0\/24" miss, (?:fetching|waiting)/,
            10), 10, 'ten misses in flight, one fetching');
my ($mpid) = `cat $dir/front/logs/nginx.pid` =~ /(\d+)/;
ok(kill('HUP', $mpid), 'reload sent while the misses wait');
my $got = do { local $/; <$r> };
waitpid($pid, 0);
my @during = split /,/, $got;
is(scalar(grep { $_ eq '200 httpdns' } @during), 10,
   'all 10 requests held over the reload were answered') or diag($got);

my ($status, $source) = alloc('10.8.8.8', 'slow');
is("$status $source", '200 httpdns', 'the new workers share the cache');

# stop (and under TEST_NGINX_USE_VALGRIND, the memcheck verdict on the
# front), then read the whole error log
stop_helpers();

open my $log, '<', "$dir/front/logs/error.log" or die;
my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ } <$log>;
is(scalar(@bad), 0, 'no alert, crit or crash in the error log')
    or diag(join '', @bad[0 .. ($#bad < 5 ? $#bad : 5)]);

done_testing();
