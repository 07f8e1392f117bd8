# Every module loads alone and with the others in any order (SPEC 1), and
# works there: each block's main_config names the modules it loads, and
# the preprocessor adds a use of each HTTP one (a tier pick, an httpdns
# input error, a fast-start variable on a master playlist, a standby
# redirect to itself) with its expected answer.  Each .so exports nothing
# but its module symbols: the code they share is linked into each with
# hidden visibility, so no module interposes another.  The stream module
# (RTMP over QUIC) needs Debian's ngx_stream_module.so loaded before it,
# and says so when it is not.

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

# per module: http_config, config, a request, its status, a response
# header and the body
our %use = (
    tier => ["    tier_group g { member a 10.0.0.1:1935; }\n",
             "    location = /tier { tier_enum g; }\n",
             'GET /tier?key=live/s1', 200, 'Content-Type: application/json',
             '{"group":"g","key":"live/s1","version":1,"ttl":30,'
             . '"servers":[{"id":"a","addr":"10.0.0.1:1935"}]}' . "\n"],
    httpdns => ["    httpdns_zone alloc:1m;\n",
                "    location = /push {\n"
                . "        httpdns_alloc alloc;\n"
                . "        httpdns_service /_svc;\n"
                . "        httpdns_domain push.example.com;\n"
                . "        httpdns_url \"rtmp://\$httpdns_ip/live\";\n"
                . "    }\n",
                'GET /push', 400, 'Content-Type: application/json',
                '{"error":"missing_stream",'
                . '"detail":"the stream argument is required"}' . "\n"],
    hls_fast_start => ["    hls_fast_start_zone fs:1m;\n",
                       "    location /pl/ {\n"
                       . "        root html;\n"
                       . "        hls_fast_start fs;\n"
                       . "        add_header X-FS \$hls_fast_start always;\n"
                       . "    }\n",
                       'GET /pl/master%d.m3u8', 200, 'X-FS: first',
                       "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n"],
    # a block loading no HTTP module of ours (rtmpq: t/rtmpq uses it)
    none => ["", "    location = /t { return 200 \"ok\\n\"; }\n",
             'GET /t', 200, 'Content-Type: text/plain', "ok\n"],
    # the server is its own standby: the check says yes, a 302 there
    standby => ["",
                "    location = /check {\n"
                . "        standby_check root=\$TEST_NGINX_SERVER_ROOT"
                . " max_conns=10\n"
                . "            base=http://127.0.0.1:\$TEST_NGINX_SERVER_PORT;\n"
                . "    }\n"
                . "    location /html/ {\n"
                . "        standby_redirect /_standby/check?uri=\$standby_uri;\n"
                . "        root \$TEST_NGINX_SERVER_ROOT;\n"
                . "    }\n"
                . "    location /_standby/ {\n"
                . "        internal;\n"
                . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/;\n"
                . "    }\n",
                'GET /html/index.html', 302,
                'Location: http://127.0.0.1:$ServerPort/html/index.html'
                . '?standby_hop=1',
                qr/302 Found/],
);

add_block_preprocessor(sub {
    my $block = shift;
    my @mods = $block->main_config =~ /ngx_http_(\w+)_module\.so/g;

    return if defined $block->must_die;

    @mods = ('none') unless @mods;

    for ([request => 2], [error_code => 3], [response_headers => 4],
         [response_body => 5])
    {
        my ($sec, $i) = @$_;
        # a playlist of its own per block: under TEST_NGINX_USE_HUP the
        # zone remembers the terminals of earlier blocks
        my @v = map { $use{$_}[$i] } @mods;
        s/%d/$block->seq_num/e for @v;
        $block->set_value($sec, \@v);
    }

    $block->set_value('http_config', join '', map { $use{$_}[0] } @mods);
    $block->set_value('config', join '', map { $use{$_}[1] } @mods);
    $block->set_value('user_files', [[
        'pl/master' . $block->seq_num . '.m3u8',
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n"]]);
    $block->set_value('no_error_log', "[alert]\n[emerg]\n");
});

run_tests();

__DATA__
=== TEST 1: alone: tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;



=== TEST 2: alone: hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;



=== TEST 3: alone: httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;



=== TEST 4: order: tier, hls_fast_start, httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;



=== TEST 5: order: tier, httpdns, hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;



=== TEST 6: order: hls_fast_start, tier, httpdns
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;



=== TEST 7: order: hls_fast_start, httpdns, tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;



=== TEST 8: order: httpdns, tier, hls_fast_start
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;



=== TEST 9: order: httpdns, hls_fast_start, tier
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;



=== TEST 10: alone: standby
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;



=== TEST 11: order: standby first, then the others
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;



=== TEST 12: order: the others, then standby
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;



=== TEST 13: alone: rtmpq, after Debian's stream module
--- main_config
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;



=== TEST 14: order: rtmpq between the HTTP modules
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;



=== TEST 15: order: HTTP modules, nginx-rtmp, then stream and rtmpq
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_httpdns_module.so;
    load_module $TEST_NGINX_RTMP_MODULE;
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module $TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;



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
