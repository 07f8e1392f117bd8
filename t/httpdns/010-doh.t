# ngx_http_httpdns_module, doh dialect, against the real DoH server
# (dnsdist in front of PowerDNS with ECS-aware records, LiveCdn::DoH).
# Terminals from different subnets (stock realip + X-Forwarded-For) get
# different edge IPs; the query bytes on the wire are checked.

use Test::Nginx::Socket 'no_plan';
use MIME::Base64 qw(encode_base64url);
use LiveCdn::Helpers;
use LiveCdn::DoH qw(start_doh_server dns_query_wire);

$ENV{TEST_NGINX_DOH_PORT} = start_doh_server();

# the query the module must send, built independently by LiveCdn::DoH
sub doh_args {
    return 'dns=' . encode_base64url(dns_query_wire(@_));
}

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
                      "    httpdns_zone alloc:" . $zone_kb++ . "k;\n")
        unless defined $block->http_config;

    $block->set_value('config', <<'_EOC_')
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;

    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/dns-query;
        httpdns_dialect doh;
        httpdns_domain $arg_domain;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream?vhost=$httpdns_domain";
    }

    location = /v1/play {
        httpdns_alloc alloc redirect;
        httpdns_service /_httpdns/dns-query;
        httpdns_domain play.example.com;
        httpdns_url "http://$httpdns_ip/live/$arg_stream.flv?vhost=$httpdns_domain";
    }

    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_DOH_PORT/;
    }
_EOC_
        unless defined $block->config;

    $block->set_value('no_error_log', "[alert]\n[crit]\n[emerg]")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a terminal in 198.51.100.0/24 gets that subnet's two edges
--- more_headers
X-Forwarded-For: 198.51.100.7
--- request
GET /v1/push?stream=s1&domain=push.example.com
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body_like chomp
^\{"url":"rtmp://192\.0\.2\.1[01]/live/s1\?vhost=push\.example\.com","urls":\["rtmp://192\.0\.2\.1[01]/live/s1\?vhost=push\.example\.com","rtmp://192\.0\.2\.1[01]/live/s1\?vhost=push\.example\.com"\],"ips":\["192\.0\.2\.1[01]","192\.0\.2\.1[01]"\],"domain":"push\.example\.com","ttl":(60|59|58),"source":"httpdns"\}$



=== TEST 2: a terminal in 203.0.113.0/24 gets another edge
--- more_headers
X-Forwarded-For: 203.0.113.9
--- request
GET /v1/push?stream=s2&domain=push.example.com
--- response_body_like chomp
^\{"url":"rtmp://192\.0\.2\.20/live/s2\?vhost=push\.example\.com","urls":\["rtmp://192\.0\.2\.20/live/s2\?vhost=push\.example\.com"\],"ips":\["192\.0\.2\.20"\],"domain":"push\.example\.com","ttl":\d+,"source":"httpdns"\}$



=== TEST 3: an IPv6 terminal in 2001:db8:1::/48 gets its edge
--- more_headers
X-Forwarded-For: 2001:db8:1:2::5
--- request
GET /v1/push?stream=s3&domain=push.example.com
--- response_body_like chomp
"ips":\["192\.0\.2\.30"\],.*"source":"httpdns"



=== TEST 4: a terminal of no known subnet gets the default edge
--- more_headers
X-Forwarded-For: 10.1.2.3
--- request
GET /v1/push?stream=s4&domain=push.example.com
--- response_body_like chomp
"ips":\["192\.0\.2\.99"\]



=== TEST 5: ECS bytes on the wire, IPv4 /24: address cut to 3 bytes
--- more_headers
X-Forwarded-For: 198.51.100.77
--- request
GET /v1/push?stream=s5&domain=push.example.com
--- error_log eval
'waited fetch "/_httpdns/dns-query?' . main::doh_args('push.example.com', '198.51.100.0/24') . '"'



=== TEST 6: ECS bytes on the wire, IPv6 /56: 7 bytes, rest zeroed
--- more_headers
X-Forwarded-For: 2001:db8:1:2ff::5
--- request
GET /v1/push?stream=s6&domain=push.example.com
--- error_log eval
'waited fetch "/_httpdns/dns-query?' . main::doh_args('push.example.com', '2001:db8:1:200::/56') . '"'



=== TEST 7: ECS prefixes that are not whole bytes (20 and 44)
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/dns-query;
        httpdns_client_subnet 20 44;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_DOH_PORT/;
    }
--- more_headers
X-Forwarded-For: 198.51.111.7
--- request
GET /v1/push?stream=s7
--- error_log eval
'waited fetch "/_httpdns/dns-query?' . main::doh_args('push.example.com', '198.51.96.0/20') . '"'
--- response_body_like chomp
"ips":\["192\.0\.2\.99"\]



=== TEST 8: two subnets on one nginx: different answers, two cache keys
--- http_config
    httpdns_zone keys8:1m;
    log_format doh_query '$args';
--- config
    location = /v1/push {
        httpdns_alloc keys8;
        httpdns_service /_httpdns/dns-query;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /_httpdns/ {
        internal;
        # one line per query sent: the cache keys are counted below
        log_subrequest on;
        access_log logs/service.log doh_query;
        proxy_pass http://127.0.0.1:$TEST_NGINX_DOH_PORT/;
    }
    location = /service-log { alias logs/service.log; }
--- request eval
["GET /v1/push?stream=a&ip=203.0.113.5",
 "GET /v1/push?stream=a&ip=198.51.100.5",
 "GET /v1/push?stream=a&ip=203.0.113.200",
 "GET /service-log"]
--- response_body_like eval
['"url":"rtmp://192\.0\.2\.20/live/a"',
 '"url":"rtmp://192\.0\.2\.1[01]/live/a"',
 '"url":"rtmp://192\.0\.2\.20/live/a".*"source":"httpdns"',
 '\A' . quotemeta(main::doh_args('push.example.com', '203.0.113.0/24')
                   . "\n" . main::doh_args('push.example.com',
                                           '198.51.100.0/24') . "\n") . '\z']



=== TEST 9: a CNAME chain inside the answer is followed
--- more_headers
X-Forwarded-For: 203.0.113.9
--- request
GET /v1/push?stream=s9&domain=alias.example.com
--- response_body_like chomp
^\{"url":"rtmp://192\.0\.2\.20/live/s9\?vhost=alias\.example\.com",.*"ips":\["192\.0\.2\.20"\],"domain":"alias\.example\.com","ttl":\d+,"source":"httpdns"\}$



=== TEST 10: NXDOMAIN is a failure: the template gets the domain
--- more_headers
X-Forwarded-For: 203.0.113.9
--- request
GET /v1/push?stream=s10&domain=nothere.example.com
--- response_body
{"url":"rtmp://nothere.example.com/live/s10?vhost=nothere.example.com","urls":["rtmp://nothere.example.com/live/s10?vhost=nothere.example.com"],"ips":[],"domain":"nothere.example.com","ttl":0,"source":"fallback"}
--- error_log
DNS answer NXDOMAIN



=== TEST 11: redirect mode answers 302 with the URL
--- more_headers
X-Forwarded-For: 203.0.113.9
--- request
GET /v1/play?stream=p1
--- error_code: 302
--- response_headers
Location: http://192.0.2.20/live/p1.flv?vhost=play.example.com
Cache-Control: no-store



=== TEST 12: variables for access_log and headers
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/dns-query;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
        add_header X-Info "$httpdns_source $httpdns_ips $httpdns_domain $httpdns_ip";
    }
    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_DOH_PORT/;
    }
--- request
GET /v1/push?stream=a&ip=203.0.113.5
--- response_headers
X-Info: httpdns 192.0.2.20 push.example.com 192.0.2.20
