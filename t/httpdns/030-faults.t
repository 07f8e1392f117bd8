# ngx_http_httpdns_module: bad input gets 400 with the JSON error shape;
# a failing service (timeout, 5xx, empty, garbage, truncated or oversized
# answer, NXDOMAIN, SERVFAIL, error JSON) is a failed lookup that falls
# back to the domain, or 503 with httpdns_fallback off, logged once at
# error level, never a crash.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;

# a service that accepts and never answers, for the timeout case
$ENV{TEST_NGINX_BLACKHOLE_PORT} = free_port();
start_helper('blackhole', cmd => ['perl', '-MIO::Socket::INET', '-e',
    'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:'
    . $ENV{TEST_NGINX_BLACKHOLE_PORT} . '", Listen => 64, ReuseAddr => 1)'
    . ' or die; my @c; while (my $c = $s->accept) { push @c, $c }']);
wait_tcp_port($ENV{TEST_NGINX_BLACKHOLE_PORT}, 10)
    or die "blackhole did not start\n";

# an answer bigger than the internal location's subrequest buffer
our $BIG = join(';', ('192.0.2.1') x 600) . ',60';

# DNS answers for push.example.com: flags, then A records
sub dns_answer {
    my ($flags, @addrs) = @_;
    my $q = join('', map { pack('C/a*', $_) } qw(push example com))
            . "\0" . pack('nn', 1, 1);
    my $m = pack('n6', 0, $flags, 1, scalar @addrs, 0, 0) . $q;
    $m .= pack('nnnNn', 0xc00c, 1, 1, 60, 4) . pack('C4', split /\./)
        for @addrs;
    return $m;
}

our $GOOD = dns_answer(0x8180, '192.0.2.70', '192.0.2.71');
our $TRUNCATED = substr($GOOD, 0, length($GOOD) - 3);
our $TC = dns_answer(0x8380, '192.0.2.70');
our $SERVFAIL = dns_answer(0x8182);
our $NOADDR = dns_answer(0x8180);

our $bad_stream = '{"error":"invalid_stream","detail":"stream must be 1-128 '
    . 'bytes of A-Z a-z 0-9 . _ - ~, not . or .."}' . "\n";

# A zone size of its own per block: under TEST_NGINX_USE_HUP a zone whose
# name and size are unchanged survives the reload, and with it the answers
# of the blocks that ran before.
my $zone_kb = 1024;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config',
        'load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;')
        unless defined $block->main_config;

    $block->set_value('http_config',
                      "    httpdns_zone alloc:" . $zone_kb++ . "k;\n"
                      . "    log_format httpdns_query '\$uri?\$args';\n")
        unless defined $block->http_config;

    my $dialect = $block->name =~ /\bdoh\b/ ? 'doh' : 'dnspod';

    $block->set_value('config', <<_EOC_ . ($block->config // ''))
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/\$arg_fault;
        httpdns_dialect $dialect;
        httpdns_client \$arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://\$httpdns_ip/live/\$httpdns_stream?h=\$http_x_hint";
    }

    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/fake/;
        proxy_read_timeout 500ms;
        subrequest_output_buffer_size 4k;
    }

    location = /_httpdns/timeout {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_BLACKHOLE_PORT;
        proxy_read_timeout 300ms;
    }

    location = /fake/good { return 200 "192.0.2.80;192.0.2.81,60"; }
    location = /fake/503 {
        # one line per query: TEST 15 counts them
        access_log logs/service.log httpdns_query;
        return 503;
    }
    location = /fake/404 { return 404 "192.0.2.82,60"; }
    location = /fake/empty { return 200 ""; }
    location = /fake/garbage { return 200 "<html>not an answer</html>"; }
    location = /fake/zero { return 200 "0"; }
    location = /fake/half { return 200 "192.0.2.83;192.0.2.,60"; }
    location /fake/dns/ { alias html/; }

    location /fake/nolen/ {
        # the same files without a Content-Length (read to the close)
        alias html/;
        sub_filter_types *;
        sub_filter "no such text" "";
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: baseline: the stand-in answers
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=good
--- response_body
{"url":"rtmp://192.0.2.80/live/s1?h=","urls":["rtmp://192.0.2.80/live/s1?h=","rtmp://192.0.2.81/live/s1?h="],"ips":["192.0.2.80","192.0.2.81"],"domain":"push.example.com","ttl":60,"source":"httpdns"}
--- no_error_log
[error]



=== TEST 2: missing stream
--- request
GET /v1/push?ip=198.51.100.1&fault=good
--- error_code: 400
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"missing_stream","detail":"the stream argument is required"}



=== TEST 3: invalid streams: bad byte, encoded slash, too long, bad escape
--- request eval
["GET /v1/push?stream=a+b&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=a%2Fb&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=" . ("x" x 129) . "&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=ab%2&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=&ip=198.51.100.1&fault=good"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[($::bad_stream) x 5]



=== TEST 4: a percent-encoded valid stream of 128 bytes is fine
--- request eval
"GET /v1/push?stream=%41" . ("b" x 127) . "&ip=198.51.100.1&fault=good"
--- response_body_like chomp
"source":"httpdns"



=== TEST 5: a rendered URL with a quote or space is refused
--- more_headers
X-Hint: a"b
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=good
--- error_code: 400
--- response_body
{"error":"invalid_url","detail":"the rendered URL has bytes that cannot go into a URL"}



=== TEST 6: a client that is not an IP address
--- request
GET /v1/push?stream=s1&ip=not-an-ip&fault=good
--- error_code: 400
--- response_body
{"error":"invalid_client","detail":"the client address is not an IP address"}



=== TEST 7: POST is not allowed
--- request
POST /v1/push?stream=s1&ip=198.51.100.1&fault=good
hello
--- error_code: 405



=== TEST 8: service 5xx: fallback to the domain, logged
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=503
--- response_body
{"url":"rtmp://push.example.com/live/s1?h=","urls":["rtmp://push.example.com/live/s1?h="],"ips":[],"domain":"push.example.com","ttl":0,"source":"fallback"}
--- error_log
failed: service answered non-2xx (status 503)



=== TEST 9: service 404 with an address body is still a failure
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=404
--- response_body_like chomp
"source":"fallback"
--- error_log
service answered non-2xx (status 404)



=== TEST 10: empty body
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=empty
--- response_body_like chomp
"source":"fallback"
--- error_log
failed: dnspod answer empty



=== TEST 11: garbage, "0", and a broken address list
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.1&fault=garbage",
 "GET /v1/push?stream=s1&ip=198.51.100.1&fault=zero",
 "GET /v1/push?stream=s1&ip=198.51.100.1&fault=half"]
--- response_body_like eval
['"ips":\[\],"domain":"push\.example\.com","ttl":0,"source":"fallback"',
 '"ips":\[\],"domain":"push\.example\.com","ttl":0,"source":"fallback"',
 '"ips":\[\],"domain":"push\.example\.com","ttl":0,"source":"fallback"']
--- error_log
dnspod answer is not an address list



=== TEST 12: oversized answer: too big for the buffer, fails cleanly
--- user_files eval
[["big.txt", $main::BIG]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/big.txt
--- response_body_like chomp
"source":"fallback"
--- error_log
answer too big: content length 6002
failed: answer bigger than subrequest_output_buffer_size
--- no_error_log
too big subrequest response
pipe read upstream



=== TEST 13: service timeout
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=timeout
--- response_body_like chomp
"source":"fallback"
--- error_log
upstream timed out
failed: no answer (status 0)
--- timeout: 10



=== TEST 14: fallback off: 503 with the JSON error shape
--- config
    location = /v1/strict {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/503;
        httpdns_dialect dnspod;
        httpdns_fallback off;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
--- request
GET /v1/strict?stream=s1&ip=198.51.100.1
--- error_code: 503
--- response_headers
Content-Type: application/json
--- response_body
{"error":"unavailable","detail":"no answer from the HttpDNS service"}



=== TEST 15: a failure is not cached as an answer, and backs off
--- config
    location = /service-log { alias logs/service.log; }
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.1&fault=503",
 "GET /v1/push?stream=s1&ip=198.51.100.1&fault=503",
 "GET /service-log"]
--- response_body_like eval
['"source":"fallback"', '"source":"fallback"',
 '\A/fake/503\?dn=push\.example\.com&ip=198\.51\.100\.0&ttl=1\n\z']



=== TEST 16: doh: a good DNS message
--- user_files eval
[["good.bin", $main::GOOD]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/good.bin
--- response_body_like chomp
"ips":\["192\.0\.2\.70","192\.0\.2\.71"\],"domain":"push\.example\.com","ttl":60,"source":"httpdns"
--- no_error_log
[error]



=== TEST 17: doh: a truncated DNS message
--- user_files eval
[["t.bin", $main::TRUNCATED]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/t.bin
--- response_body_like chomp
"source":"fallback"
--- error_log
DNS answer record truncated



=== TEST 18: doh: the TC flag
--- user_files eval
[["tc.bin", $main::TC]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/tc.bin
--- response_body_like chomp
"source":"fallback"
--- error_log
DNS answer truncated



=== TEST 19: doh: SERVFAIL
--- user_files eval
[["sf.bin", $main::SERVFAIL]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/sf.bin
--- response_body_like chomp
"source":"fallback"
--- error_log
DNS answer rcode not NOERROR



=== TEST 20: doh: NOERROR without an address
--- user_files eval
[["na.bin", $main::NOADDR]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=dns/na.bin
--- response_body_like chomp
"source":"fallback"
--- error_log
DNS answer has no address



=== TEST 21: doh: garbage is not a DNS message
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=garbage
--- response_body_like chomp
"source":"fallback"
--- error_log
DNS message is not a response



=== TEST 22: config: httpdns_alloc without httpdns_service
--- config
    location = /bad {
        httpdns_alloc alloc;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/";
    }
--- must_die
--- error_log
"httpdns_alloc" needs "httpdns_service"



=== TEST 23: config: an unknown dialect
--- config
    location = /bad {
        httpdns_dialect bind;
    }
--- must_die
--- error_log
invalid value "bind"



=== TEST 24: oversized answer without a Content-Length fails cleanly
--- user_files eval
[["big.txt", $main::BIG]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&fault=nolen/big.txt
--- response_body_like chomp
"source":"fallback"
--- error_log eval
[qr/answer too big: \d+ bytes for \d+/,
 "failed: answer bigger than subrequest_output_buffer_size"]
--- no_error_log
[alert]



=== TEST 25: "." and ".." are no stream names, encoded or not
--- request eval
["GET /v1/push?stream=..&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=.&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=%2e%2e&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=%2E.&ip=198.51.100.1&fault=good",
 "GET /v1/push?stream=%2e&ip=198.51.100.1&fault=good"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[($::bad_stream) x 5]



=== TEST 26: $httpdns_stream is the decoded, checked name, in a nested template
--- config
    location = /v1/play {
        httpdns_alloc alloc redirect;
        httpdns_service /_httpdns/good;
        httpdns_dialect dnspod;
        httpdns_client $arg_ip;
        httpdns_domain play.example.com;
        httpdns_url "http://$httpdns_ip/hls/$httpdns_stream/index.m3u8";
        add_header X-Stream $httpdns_stream;
    }
--- request eval
["GET /v1/play?stream=%41b.c&ip=198.51.100.1",
 "GET /v1/play?stream=...&ip=198.51.100.1",
 "GET /v1/play?stream=a..b&ip=198.51.100.1"]
--- error_code eval
[302, 302, 302]
--- response_headers eval
["Location: http://192.0.2.80/hls/Ab.c/index.m3u8\nX-Stream: Ab.c",
 "Location: http://192.0.2.80/hls/.../index.m3u8\nX-Stream: ...",
 "Location: http://192.0.2.80/hls/a..b/index.m3u8\nX-Stream: a..b"]
