# The refresh claim of the lookup cache across workers: while a fetch is
# in flight no other worker starts one, however slow the service; and the
# claim of a worker that dies mid-fetch is given up at once, so the next
# request fetches again instead of waiting for the claim to run out.
# Real nginx (master and two workers); the service is a socket that
# accepts and never answers.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

my $front = free_port();
my $svc = free_port();
my $dir = helper_dir();

start_helper('blackhole', cmd => [$^X, '-MIO::Socket::INET', '-e', <<'_EOP_',
my ($port, $log) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                              Listen => 64, ReuseAddr => 1) or die "$!\n";
my @keep;
while (my $c = $l->accept) {
    push @keep, $c;
    open my $fh, '>>', $log or die "$!\n";
    print $fh "connection\n";
    close $fh;
}
_EOP_
    $svc, "$dir/connections.log"]);

wait_tcp_port($svc, 5) or BAIL_OUT('the service did not start');

# that check was a connection too
our $probe = wait_connections(1, 5);

my $master = start_nginx_helper('front', wait_port => $front, conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    httpdns_zone alloc:1m;
    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/d;
            httpdns_dialect dnspod;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/\$arg_stream";
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$svc/;
            proxy_read_timeout 60s;
        }
    }
}
_EOC_

sub connections {
    open my $fh, '<', "$dir/connections.log" or return 0;
    my @l = <$fh>;
    return scalar(@l) - ($main::probe // 0);
}

sub wait_connections {
    my ($n, $secs) = @_;
    my $deadline = time + $secs;
    sleep 0.05 while connections() < $n && time < $deadline;
    return connections();
}

# a request whose answer we never read: it keeps its worker waiting
sub fire {
    return http_start($front, '/v1/push?stream=s')
        // die "connect: $!\n";
}

sub workers {
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @pids, $1 if $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $master;
    }
    return @pids;
}

my @held = (fire());
is(wait_connections(1, 5), 1, 'a miss fetches once');

push @held, fire(), fire(), fire();
is(wait_logged("$dir/front/logs/error.log",
            qr/(\d+#\d+: \*\d+) live lookup: "[^"]+" miss, waiting/, 3),
   3, 'the three other misses wait');
is(connections(), 1, 'other misses, in any worker, wait for that fetch');

my @old = workers();
is(scalar @old, 2, 'two workers');
kill 'KILL', @old;

my $deadline = time + 5;
my @new;
while (time < $deadline) {
    @new = grep { my $p = $_; !grep { $_ == $p } @old } workers();
    last if @new == 2;
    sleep 0.05;
}
is(scalar @new, 2, 'the master started two new workers');

push @held, fire();
is(wait_connections(2, 3), 2,
   "the dead worker's claim is given up: the next miss fetches at once");

my $log = do {
    local $/;
    open my $fh, '<', "$dir/front/logs/error.log" or die "$!\n";
    <$fh>;
};
like($log, qr/live lookup: worker \d+ died during a fetch, fetching again/,
     'and says so in the error log');

close $_ for @held;

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the front
stop_helpers();

done_testing();
