# ngx_http_httpdns_module: httpdns_zone parameter errors and bounds; a
# domain that is not a host name; a service URI that does not start with
# "/"; a subnet prefix of 0; the 16-address cap and de-duplication of
# both dialects' answers.  The stand-in service logs every query it gets
# (logs/service.log, read back through /service-log).

use Test::Nginx::Socket 'no_plan';

# the same answer as a DNS message: A records for push.example.com
sub dns_answer {
    my (@addrs) = @_;
    my $q = join('', map { pack('C/a*', $_) } qw(push example com))
            . "\0" . pack('nn', 1, 1);
    my $m = pack('n6', 0, 0x8180, 1, scalar @addrs, 0, 0) . $q;
    $m .= pack('nnnNn', 0xc00c, 1, 1, 60, 4) . pack('C4', split /\./)
        for @addrs;
    return $m;
}

# 20 addresses with three repeats: the first 16 distinct ones are kept
our @MANY = map { "192.0.2.$_" } 1 .. 5, 3, 6 .. 10, 1, 11 .. 15, 10, 16 .. 20;
our $FIRST16 = join ',', map { qq{"192.0.2.$_"} } 1 .. 16;
our $DNS_MANY = dns_answer(@MANY);
$ENV{TEST_NGINX_MANY} = join ';', @MANY;

# the allocation location, with what a block changes in it
sub push_location {
    my (%o) = (service => '/_httpdns/good', dialect => 'dnspod',
               domain => 'push.example.com', extra => '', @_);
    return <<"_EOC_";
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service $o{service};
        httpdns_dialect $o{dialect};
        httpdns_client \$arg_ip;
        httpdns_domain $o{domain};
        httpdns_url "rtmp://\$httpdns_ip/live/\$arg_stream";$o{extra}
    }
_EOC_
}

# A zone size of its own per block: under TEST_NGINX_USE_HUP a zone whose
# name and size are unchanged survives the reload, and with it the answers
# of the blocks that ran before.
my $zone_kb = 1024;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config',
        'load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;');

    $block->set_value('http_config',
                      "    httpdns_zone alloc:" . $zone_kb++ . "k;\n")
        unless defined $block->http_config;

    $block->set_value('http_config', $block->http_config
                      . "    log_format httpdns_query '\$uri?\$args';\n");

    $block->set_value('config', ($block->config // main::push_location()) . <<'_EOC_');
    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 "192.0.2.40,60";
    }

    location /fake/dns/ {
        access_log logs/service.log httpdns_query;
        alias html/;
    }

    location = /service-log {
        alias logs/service.log;
    }
_EOC_

    $block->set_value('must_die', 1) unless defined $block->request;
});

run_tests();

__DATA__

=== TEST 1: a zone without a size
--- http_config
    httpdns_zone alloc;
--- error_log
invalid zone "alloc", expected name:size



=== TEST 2: a zone with a bad size
--- http_config
    httpdns_zone alloc:lots;
--- error_log
invalid zone size "alloc:lots"



=== TEST 3: a zone below 8 pages
--- http_config
    httpdns_zone alloc:16k;
--- error_log
zone "alloc:16k" is too small



=== TEST 4: refresh below a second
--- http_config
    httpdns_zone alloc:1m refresh=500ms;
--- error_log
invalid parameter "refresh=500ms"



=== TEST 5: stale that is not a time
--- http_config
    httpdns_zone alloc:1m stale=never;
--- error_log
invalid parameter "stale=never"



=== TEST 6: inactive below a second
--- http_config
    httpdns_zone alloc:1m inactive=999ms;
--- error_log
invalid parameter "inactive=999ms"



=== TEST 7: an unknown parameter
--- http_config
    httpdns_zone alloc:1m hot=1;
--- error_log
invalid parameter "hot=1"



=== TEST 8: the same zone twice
--- http_config
    httpdns_zone alloc:1m;
    httpdns_zone alloc:1m;
--- error_log
duplicate zone "alloc"



=== TEST 9: the lowest values accepted
--- http_config
    httpdns_zone alloc:32k refresh=1s stale=0 inactive=1s;
--- request
GET /v1/push?stream=s1&ip=198.51.100.1
--- response_body_like chomp
"ips":\["192\.0\.2\.40"\],"domain":"push\.example\.com","ttl":60,"source":"httpdns"
--- no_error_log
[error]
[emerg]



=== TEST 10: a domain that is not a host name: 400, no query
--- config eval
main::push_location(service => '/_httpdns/d', domain => '$arg_domain')
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.1&domain=bad..example.com",
 "GET /v1/push?stream=s1&ip=198.51.100.1&domain=bad%20name.example.com",
 "GET /v1/push?stream=s1&ip=198.51.100.1&domain=",
 "GET /service-log"]
--- error_code eval
[400, 400, 400, 200]
--- response_body_like eval
[('\A\{"error":"invalid_domain","detail":"the domain is not a host name"\}\n\z') x 3,
 '\A\z']



=== TEST 11: a service URI that does not start with "/": 500, logged
--- config eval
main::push_location(service => '$arg_svc')
--- request
GET /v1/push?stream=s1&ip=198.51.100.1&svc=_httpdns/d
--- error_code: 500
--- response_body_like chomp
500 Internal Server Error
--- error_log
httpdns: service URI "_httpdns/d" does not start with /



=== TEST 12: subnet prefix 0: no address bits sent, one key per family
--- config eval
main::push_location(service => '/_httpdns/d',
          extra => "\n        httpdns_client_subnet 0 0;")
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.7",
 "GET /v1/push?stream=s1&ip=203.0.113.9",
 "GET /v1/push?stream=s1&ip=2001:db8:1::7",
 "GET /v1/push?stream=s1&ip=2001:db8:ffff::9",
 "GET /service-log"]
--- response_body_like eval
[('"source":"httpdns"') x 4,
 '\A/fake/d\?dn=push\.example\.com&ip=0\.0\.0\.0&ttl=1\n/fake/d\?dn=push\.example\.com&ip=::&ttl=1\n\z']



=== TEST 13: dnspod: at most 16 addresses, duplicates dropped, in order
--- config eval
main::push_location(service => '/_httpdns/many') . <<'_EOC_'
    location = /fake/many {
        return 200 "$TEST_NGINX_MANY,60";
    }
_EOC_
--- request
GET /v1/push?stream=s1&ip=198.51.100.1
--- response_body_like eval
'"ips":\[' . quotemeta($::FIRST16) . '\],'



=== TEST 14: doh: at most 16 addresses, duplicates dropped, in order
--- config eval
main::push_location(service => '/_httpdns/dns/many.bin', dialect => 'doh')
--- user_files eval
[["many.bin", $::DNS_MANY]]
--- request
GET /v1/push?stream=s1&ip=198.51.100.1
--- response_body_like eval
'"ips":\[' . quotemeta($::FIRST16) . '\],'
