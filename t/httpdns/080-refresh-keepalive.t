# A request that starts a background refresh is answered at once, and
# the client's next request is not held behind the refresh: nginx takes
# the next request of a keep-alive connection only once every subrequest
# has ended, so such an answer closes its connection and the client comes
# back on a new one.  The service answers the refresh slowly (limit_rate);
# the second answer must come while the refresh is still in flight (its
# "fetch done" line not yet logged).  Plain Test::More.

use strict;
use warnings;

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

my $front = free_port();
my $dir = helper_dir();

open my $fh, '>', "$dir/answer.txt" or die "$!\n";
print $fh '10.0.0.1;10.0.0.2,60' . (' ' x 200);
close $fh;

start_nginx_helper('front', wait_port => $front, valgrind => 1,
                   conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; }
http {
    access_log off;
    httpdns_zone alloc:1m refresh=1s;
    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/d;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/s";
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$front/service/;
        }
        location = /service/d {
            access_log $dir/service.log;
            default_type text/plain;
            set \$rate 0;
            if (-f $dir/slow) {
                set \$rate 50;
            }
            limit_rate \$rate;
            alias $dir/answer.txt;
        }
    }
}
_EOC_

my $log = "$dir/front/logs/error.log";
my $uri = '/v1/push?stream=s&ip=10.1.1.1';

sub count_log {
    my ($re) = @_;
    return scalar grep { /$re/ } split /\n/, slurp($log) // '';
}

# one HTTP/1.1 request on a keep-alive connection, its answer read by
# Content-Length: (status, connection header, body)
sub ask {
    my ($s) = @_;
    print $s "GET $uri HTTP/1.1\r\nHost: localhost\r\n\r\n";

    my ($buf, $len) = ('', undef);
    my $sel = IO::Select->new($s);
    my $deadline = time + 15;

    while (time < $deadline && $sel->can_read($deadline - time)) {
        sysread($s, $buf, 4096, length $buf) or last;
        if (!defined $len && $buf =~ /\r\n\r\n/) {
            ($len) = $buf =~ /^Content-Length: (\d+)/mi;
        }
        last if defined $len
                && length($buf) >= index($buf, "\r\n\r\n") + 4 + $len;
    }

    my ($status) = $buf =~ m{^HTTP/1\.1 (\d+)};
    my ($conn) = $buf =~ /^Connection: (\S+)/mi;
    return ($status // 0, lc($conn // ''), $buf);
}

sub connect_front {
    return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$front",
                                 Proto => 'tcp', Timeout => 5)
        // die "connect: $!\n";
}

my ($status) = ask(connect_front());
is($status, 200, 'the first answer is fetched');

open $fh, '>', "$dir/slow" or die "$!\n";
close $fh;

# the first request past the refresh period starts the refresh
my ($s, $conn, $body);
my $deadline = time + 10;
while (time < $deadline) {
    $s = connect_front();
    ($status, $conn, $body) = ask($s);
    last if count_log(qr/live lookup: .* hit, .* refresh$/);
    close $s;
    sleep 0.1;
}

is(count_log(qr/live lookup: .* hit, .* refresh$/), 1,
   'a request starts a refresh');
like("$status $body", qr/^200 .*"source":"httpdns"/s,
     'and is answered from the cache');

# as any client: the same connection unless the answer closed it
$s = connect_front() if $conn eq 'close';
($status, undef, $body) = ask($s);

like("$status $body", qr/^200 .*"source":"httpdns"/s,
     'the next request is answered');
is(count_log(qr/live lookup: .* fetch done/), 1,
   'while the refresh is still in flight');

$deadline = time + 15;
sleep 0.1 while count_log(qr/live lookup: .* fetch done/) < 2
                && time < $deadline;

is(count_log(qr/live lookup: .* fetch done/), 2, 'the refresh ends');
is(scalar(() = (slurp("$dir/service.log") // '') =~ /\n/g), 2,
   'two queries in all');

stop_helper('front', signal => 'QUIT', wait => 10);
is(valgrind_reports('front'), '', 'no memcheck reports')
    if $ENV{TEST_NGINX_USE_VALGRIND};

done_testing();
