# The answer of the service is cached for every terminal of a subnet, so
# nothing of one client's request but the query may reach the service:
# not its Range (a partial answer would be cached for all: "10.0.0.12"
# cut to "10.0.0.1"), not its Cookie or Authorization, not the
# Content-Length of a body the service would wait for.  The stand-in
# service is a static file, which honours Range as any web server does.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;

my $front = free_port();
my $dir = helper_dir();

open my $fh, '>', "$dir/answer.txt" or die "$!\n";
print $fh "10.0.0.12;10.0.0.13,60";
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
    httpdns_zone alloc:1m;
    log_format h 'range=\$http_range cookie=\$http_cookie '
                 'auth=\$http_authorization length=\$http_content_length';
    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/d;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain push.example.com;
            httpdns_url "rtmp://\$httpdns_ip/live/s";
            httpdns_fallback off;
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$front/service/;
        }
        location = /service/d {
            access_log $dir/service.log h;
            default_type text/plain;
            alias $dir/answer.txt;
        }
    }
}
_EOC_

my ($status, undef, $body) = http_request('GET', $front,
    '/v1/push?stream=s&ip=10.1.1.1', undef,
    { Range => 'bytes=0-7', Cookie => 'session=s3cret',
      Authorization => 'Bearer t0ken' });

like("$status $body", qr/^200 .*"ips":\["10\.0\.0\.12","10\.0\.0\.13"\]/,
     'a client with Range gets the whole answer');

($status, undef, $body) = http_request('GET', $front,
    '/v1/push?stream=s&ip=10.1.1.2');

like("$status $body",
     qr/^200 .*"ips":\["10\.0\.0\.12","10\.0\.0\.13"\].*"source":"httpdns"/,
     'and so does the next terminal of the subnet, from the cache');

($status, undef, $body) = http_request('GET', $front,
    '/v1/push?stream=s&ip=10.2.2.2', 'hello');

like("$status $body", qr/^200 .*"ips":\["10\.0\.0\.12","10\.0\.0\.13"\]/,
     'a GET with a body is answered');

my @seen = split /\n/, slurp("$dir/service.log") // '';

is(scalar @seen, 2, 'two queries');
is_deeply([grep { $_ ne 'range=- cookie=- auth=- length=-' } @seen], [],
          'the service saw no header of the clients')
    or diag explain \@seen;

stop_helper('front', signal => 'QUIT', wait => 10);
is(valgrind_reports('front'), '', 'no memcheck reports')
    if $ENV{TEST_NGINX_USE_VALGRIND};

done_testing();
