# An entry that cannot fit even in an empty zone evicts nothing: a 32k
# lookup zone holds 20 answers; a request whose key is 40k long (the
# service URI takes an argument of the client here) is answered uncached,
# with the one "could not allocate" line, and the 20 answers stay cached.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;

my $front = free_port();
my $dir = helper_dir();

start_nginx_helper('front', wait_port => $front, valgrind => 1,
                   conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; }
http {
    access_log off;
    large_client_header_buffers 4 64k;
    httpdns_zone alloc:32k;

    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service "/_httpdns/d?pad=\$arg_pad";
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
            return 200 "10.0.0.1,60";
        }
    }
}
_EOC_

sub queries {
    return scalar(() = (slurp("$dir/service.log") // '') =~ /\n/g);
}

sub push_uri {
    my ($i, $pad) = @_;
    return "/v1/push?stream=s&ip=10.0.$i.1&pad=" . ($pad // 'x');
}

for my $i (1 .. 20) {
    http_get($front, push_uri($i));
}

is(queries(), 20, '20 answers fetched');

my ($status, undef, $body) = http_get($front, push_uri(99, 'y' x 40000));
like("$status $body", qr/^200 .*"source":"httpdns"/,
     'a key bigger than the zone is answered');
is(queries(), 21, 'by a query of its own');

for my $i (1 .. 20) {
    http_get($front, push_uri($i));
}

is(queries(), 21, 'and the 20 answers are still cached');

my @lines = grep { /could not allocate/ }
            split /\n/, slurp("$dir/front/logs/error.log") // '';

is(scalar @lines, 1, 'one line says so');
like($lines[0] // '', qr/\[error\].* in live lookup zone "alloc"/,
     'naming the zone');

stop_helper('front', signal => 'QUIT', wait => 10);
is(valgrind_reports('front'), '', 'no memcheck reports')
    if $ENV{TEST_NGINX_USE_VALGRIND};

done_testing();
