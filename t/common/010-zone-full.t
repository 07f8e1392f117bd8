# The shared zones evict by design: a small zone flooded with new keys
# keeps working without a word in the error log.  A 32k lookup zone gets
# 1000 new subnets in four runs whose answers need other slab slot sizes
# each (fragmentation: one eviction does not free a page), a 32k HLS fast
# start zone 1500 new terminals: no [crit]
# "no memory" line, no failure to store, and the answers keep being
# cached (the last keys are hits).  Plain Test::More, two workers.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;

my $front = free_port();
my $dir = helper_dir();

mkdir "$dir/hls";
open my $fh, '>', "$dir/hls/s.m3u8" or die "$!\n";
print $fh "not a playlist\n";
close $fh;

start_nginx_helper('front', wait_port => $front, conf => <<"_EOC_");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    httpdns_zone alloc:32k;
    hls_fast_start_zone fs:32k;

    # answers of 128, 16, 32 and 64 byte slab slots, by the domain: each
    # phase of the flood needs slots that the one before did not
    map \$arg_dn \$answer {
        p1.example.com "10.0.0.1;10.0.0.2;10.0.0.3;10.0.0.4;10.0.0.5;10.0.0.6;10.0.0.7;10.0.0.8,60";
        p2.example.com "10.0.0.1,60";
        p3.example.com "10.0.0.1;10.0.0.2;10.0.0.3,60";
        default "10.0.0.1;10.0.0.2;10.0.0.3;10.0.0.4;10.0.0.5,60";
    }

    server {
        listen 127.0.0.1:$front;
        location = /v1/push {
            httpdns_alloc alloc;
            httpdns_service /_httpdns/d;
            httpdns_dialect dnspod;
            httpdns_client \$arg_ip;
            httpdns_domain \$arg_d;
            httpdns_url "rtmp://\$httpdns_ip/live/s";
        }
        location /_httpdns/ {
            internal;
            proxy_pass http://127.0.0.1:$front/service/;
        }
        location = /service/d {
            access_log $dir/service.log;
            return 200 "\$answer";
        }
        location /hls/ {
            root $dir;
            hls_fast_start fs;
            hls_fast_start_key \$arg_t;
            add_header X-Fast-Start \$hls_fast_start;
        }
    }
}
_EOC_

sub queries {
    return scalar(() = (slurp("$dir/service.log") // '') =~ /\n/g);
}

my $n = 1000;
my %status;

# key $i: a phase of 250 subnets a domain
sub alloc_uri {
    my ($i, $host) = @_;
    return sprintf '/v1/push?stream=s&d=p%d.example.com&ip=10.0.%d.%d',
                   1 + int(($i - 1) / 250), ($i - 1) % 250, $host;
}

for my $i (1 .. $n) {
    my ($st) = http_get($front, alloc_uri($i, 1));
    $status{$st}++;
}

is_deeply(\%status, { 200 => $n }, "$n new subnets answered");
is(queries(), $n, 'one query each');

# the last ones are still cached: no new query
for my $i ($n - 4 .. $n) {
    my (undef, undef, $body) = http_get($front, alloc_uri($i, 9));
    like($body, qr/"source":"httpdns"/, "subnet $i answered");
}

is(queries(), $n, 'the last subnets were hits');

%status = ();
my %state;

$n = 1500;

for my $i (1 .. $n) {
    my ($st, $h) = http_get($front, "/hls/s.m3u8?t=$i");
    $status{$st}++;
    $state{ $h->{'x-fast-start'} // '-' }++;
}

is_deeply(\%status, { 200 => $n }, "$n new terminals answered");

# a terminal seen last is known: its next request passes
my (undef, $h) = http_get($front, "/hls/s.m3u8?t=$n");
is($h->{'x-fast-start'}, 'pass', 'the last terminal is remembered');

my $log = slurp("$dir/front/logs/error.log") // '';
my @bad = $log =~ /^(.*\[(?:crit|alert|emerg|error)\].*)$/mg;

is(scalar @bad, 0, 'no crit, alert or error line')
    or diag join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)];

unlike($log, qr/could not store the answer/, 'every answer was stored');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
