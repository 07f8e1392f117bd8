# ngx_http_httpdns_module: the doh-json, dnspod and alicloud dialects
# against nginx locations standing in for the vendors' services.  The
# stand-ins log the query they got; a later request reads that log back,
# so the tests check what was sent as well as what was answered.

use Test::Nginx::Socket 'no_plan';

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

    $block->set_value('config', $block->config . <<'_EOC_');
    location /_httpdns/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    location = /service-log {
        alias logs/service.log;
    }
_EOC_

    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: doh-json: query arguments and a CNAME-then-A answer
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/resolve;
        httpdns_dialect doh-json;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream?vhost=$httpdns_domain";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 '{"Status":0,"TC":false,"Question":[{"name":"push.example.com.","type":1}],"Answer":[{"name":"push.example.com.","type":5,"TTL":30,"data":"edge.example.net."},{"name":"edge.example.net.","type":1,"TTL":45,"data":"192.0.2.50"},{"name":"edge.example.net.","type":1,"TTL":40,"data":"192.0.2.51"}],"Comment":"x\\"y"}';
    }
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.9", "GET /service-log"]
--- response_body eval
[qq'{"url":"rtmp://192.0.2.50/live/s1?vhost=push.example.com","urls":["rtmp://192.0.2.50/live/s1?vhost=push.example.com","rtmp://192.0.2.51/live/s1?vhost=push.example.com"],"ips":["192.0.2.50","192.0.2.51"],"domain":"push.example.com","ttl":30,"source":"httpdns"}\n',
 "/fake/resolve?name=push.example.com&type=A&edns_client_subnet=198.51.100.0/24\n"]



=== TEST 2: doh-json with an IPv6 terminal sends its /56
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/resolve;
        httpdns_dialect doh-json;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 '{"Status":0,"Answer":[{"name":"push.example.com.","type":1,"TTL":60,"data":"192.0.2.52"}]}';
    }
--- request eval
["GET /v1/push?stream=s1&ip=2001:db8:1:2ff::5", "GET /service-log"]
--- response_body eval
[qq'{"url":"rtmp://192.0.2.52/live/s1","urls":["rtmp://192.0.2.52/live/s1"],"ips":["192.0.2.52"],"domain":"push.example.com","ttl":60,"source":"httpdns"}\n',
 "/fake/resolve?name=push.example.com&type=A&edns_client_subnet=2001:db8:1:200::/56\n"]



=== TEST 3: dnspod: "ip;ip,ttl|clientip" and the query it needs
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/d;
        httpdns_dialect dnspod;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 "192.0.2.40;192.0.2.41,75|$arg_ip\n";
    }
--- request eval
["GET /v1/push?stream=s1&ip=203.0.113.77", "GET /service-log"]
--- response_body eval
[qq'{"url":"rtmp://192.0.2.40/live/s1","urls":["rtmp://192.0.2.40/live/s1","rtmp://192.0.2.41/live/s1"],"ips":["192.0.2.40","192.0.2.41"],"domain":"push.example.com","ttl":75,"source":"httpdns"}\n',
 "/fake/d?dn=push.example.com&ip=203.0.113.0&ttl=1\n"]



=== TEST 4: dnspod without a TTL: ttl 0, service arguments kept
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/d?id=42;
        httpdns_dialect dnspod;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 "192.0.2.42";
    }
--- request eval
["GET /v1/push?stream=s1&ip=203.0.113.77", "GET /service-log"]
--- response_body eval
[qq'{"url":"rtmp://192.0.2.42/live/s1","urls":["rtmp://192.0.2.42/live/s1"],"ips":["192.0.2.42"],"domain":"push.example.com","ttl":0,"source":"httpdns"}\n',
 "/fake/d?id=42&dn=push.example.com&ip=203.0.113.0&ttl=1\n"]



=== TEST 5: alicloud: origin_ttl wins, the query carries host and ip
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/100000/d;
        httpdns_dialect alicloud;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 '{"host":"push.example.com","ips":["192.0.2.60","192.0.2.61"],"ipsv6":["2001:db8::1"],"ttl":57,"origin_ttl":120}';
    }
--- request eval
["GET /v1/push?stream=s1&ip=198.51.100.200", "GET /service-log"]
--- response_body eval
[qq'{"url":"rtmp://192.0.2.60/live/s1","urls":["rtmp://192.0.2.60/live/s1","rtmp://192.0.2.61/live/s1"],"ips":["192.0.2.60","192.0.2.61"],"domain":"push.example.com","ttl":120,"source":"httpdns"}\n',
 "/fake/100000/d?host=push.example.com&ip=198.51.100.0\n"]



=== TEST 6: alicloud without origin_ttl uses ttl
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/d;
        httpdns_dialect alicloud;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        return 200 '{"host":"push.example.com","ips":["192.0.2.62"],"ttl":57}';
    }
--- request
GET /v1/push?stream=s1&ip=198.51.100.200
--- response_body_like chomp
"ips":\["192\.0\.2\.62"\],"domain":"push\.example\.com","ttl":57,"source":"httpdns"



=== TEST 7: a cached answer costs no second query; the key has the subnet
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/d;
        httpdns_dialect dnspod;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 "192.0.2.43,60";
    }
--- request eval
["GET /v1/push?stream=a&ip=203.0.113.1",
 "GET /v1/push?stream=b&ip=203.0.113.2",
 "GET /v1/push?stream=c&ip=203.0.113.3",
 "GET /v1/push?stream=d&ip=198.51.100.3",
 "GET /service-log"]
--- response_body_like eval
['"url":"rtmp://192.0.2.43/live/a".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.43/live/b".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.43/live/c".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.43/live/d".*"source":"httpdns"',
 "^/fake/d\\?dn=push.example.com&ip=203.0.113.0&ttl=1\n/fake/d\\?dn=push.example.com&ip=198.51.100.0&ttl=1\n\$"]



=== TEST 8: $httpdns_ttl and $httpdns_source in a header, HEAD works
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/d;
        httpdns_dialect dnspod;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$arg_stream";
        add_header X-Alloc "$httpdns_source $httpdns_ttl $httpdns_ips";
    }
    location /fake/ {
        return 200 "192.0.2.44;192.0.2.45,33";
    }
--- request
HEAD /v1/push?stream=a&ip=203.0.113.1
--- response_headers
X-Alloc: httpdns 33 192.0.2.44,192.0.2.45
Content-Type: application/json
--- response_body



=== TEST 9: an IPv4-mapped terminal is the IPv4 terminal it carries
--- config
    location = /v1/push {
        httpdns_alloc alloc;
        httpdns_service /_httpdns/resolve;
        httpdns_dialect doh-json;
        httpdns_client $arg_ip;
        httpdns_domain push.example.com;
        httpdns_url "rtmp://$httpdns_ip/live/$httpdns_stream";
    }
    location /fake/ {
        access_log logs/service.log httpdns_query;
        return 200 '{"Status":0,"Answer":[{"name":"push.example.com.","type":1,"TTL":60,"data":"192.0.2.53"}]}';
    }
--- request eval
["GET /v1/push?stream=a&ip=::ffff:198.51.100.8",
 "GET /v1/push?stream=b&ip=198.51.100.9",
 "GET /v1/push?stream=c&ip=::ffff:c633:640a",
 "GET /v1/push?stream=d&ip=::ffff:203.0.113.8",
 "GET /v1/push?stream=e&ip=::fffe:203.0.113.8",
 "GET /service-log"]
--- response_body_like eval
['"url":"rtmp://192.0.2.53/live/a".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.53/live/b".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.53/live/c".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.53/live/d".*"source":"httpdns"',
 '"url":"rtmp://192.0.2.53/live/e".*"source":"httpdns"',
 "^/fake/resolve\\?name=push.example.com&type=A&edns_client_subnet=198.51.100.0/24\n"
 . "/fake/resolve\\?name=push.example.com&type=A&edns_client_subnet=203.0.113.0/24\n"
 . "/fake/resolve\\?name=push.example.com&type=A&edns_client_subnet=::/56\n\$"]
