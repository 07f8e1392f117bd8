# Every module loads alone and with the others in any order (SPEC 1), and
# exports nothing but its module symbols: the code they share is linked
# into each .so with hidden visibility, so no module interposes another.
# The stream module (RTMP over QUIC) needs Debian's ngx_stream_module.so
# loaded before it, and says so when it is not.

use Test::Nginx::Socket 'no_plan';

my @so = ((map { "$ENV{TEST_NGINX_MODULE_DIR}/ngx_http_${_}_module.so" }
           qw(tier hls_fast_start httpdns standby)),
          "$ENV{TEST_NGINX_MODULE_DIR}/ngx_stream_rtmpq_module.so");

for my $so (@so) {
    my ($name) = $so =~ m{/(ngx_\w+_module)\.so$};
    my @syms = sort map { (split)[2] } grep { /^\S+ [A-Z] / }
               `nm -D --defined-only $so`;
    is("@syms", join(' ', sort $name, qw(ngx_module_names ngx_module_order
                                          ngx_modules)),
       "$name exports its module symbols only");
}

run_tests();

__DATA__
=== TEST 1: alone: tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 2: alone: hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 3: alone: httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 4: order: tier, hls_fast_start, httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 5: order: tier, httpdns, hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 6: order: hls_fast_start, tier, httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 7: order: hls_fast_start, httpdns, tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 8: order: httpdns, tier, hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 9: order: httpdns, hls_fast_start, tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 10: alone: standby
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 11: order: standby first, then the others
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 12: order: the others, then standby, each used
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
--- http_config
    hls_fast_start_zone fs:1m;
--- config
    location = /check {
        standby_check root=$TEST_NGINX_SERVER_ROOT max_conns=10
                      base=http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location /html/ {
        hls_fast_start fs;
        standby_redirect /_standby/check?uri=$standby_uri;
        root $TEST_NGINX_SERVER_ROOT;
    }
    location /_standby/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
--- request
GET /html/index.html
--- error_code: 302
--- response_headers
Location: http://127.0.0.1:$ServerPort/html/index.html?standby_hop=1
--- no_error_log
[alert]
[emerg]
[error]



=== TEST 13: alone: rtmpq, after Debian's stream module
--- main_config
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 14: order: rtmpq between the HTTP modules
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 15: order: HTTP modules, nginx-rtmp, then stream and rtmpq
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_RTMP_MODULE;
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[alert]
[emerg]



=== TEST 16: rtmpq without the stream module is refused by name
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
--- config
    location = /t { return 200 "ok\n"; }
--- must_die
--- suppress_stderr
--- error_log
ngx_stream_rtmpq_module.so
undefined symbol: ngx_stream_
