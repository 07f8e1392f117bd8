# The directives of standby_redirect: defaults, inheritance, "off", and
# clear errors for bad values.

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->main_config) {
        $block->set_value('main_config', "load_module "
            . "$ENV{TEST_NGINX_MODULE_DIR}/ngx_http_standby_module.so;");
    }

    if (!defined $block->request) {
        $block->set_value('request', 'GET /t');
    }
});

run_tests();

__DATA__

=== TEST 1: standby_redirect off in an inner location: no check at all
--- config
    standby_redirect /_standby/check?uri=$standby_uri;
    location /t {
        standby_redirect off;
        return 200 "[$standby_action]\n";
    }
--- response_body
[]



=== TEST 2: a check location that fails: local, "failed", once logged
--- config
    location /t {
        standby_redirect /_standby/check?uri=$standby_uri;
        add_header X-Standby "$standby_action $standby_reason" always;
        root html;
        try_files /index.html =404;
    }
    location /_standby/ {
        internal;
        return 500;
    }
--- response_headers
X-Standby: local failed
--- error_log eval
qr{live lookup: "/_standby/check\?uri=/t [^"]*:\d+" failed: no answer \(status 0\)}



=== TEST 3: a check that is not a proxied answer is refused
--- config
    location /t {
        standby_redirect /_standby/check?uri=$standby_uri;
        add_header X-Standby "$standby_action $standby_reason" always;
        root html;
        try_files /index.html =404;
    }
    location /_standby/ {
        internal;
        return 200 '{"url":"http://127.0.0.1:1/t","host":"127.0.0.1","port":1,"path":"/t"}';
    }
--- response_headers
X-Standby: local failed
--- error_log
standby: answer of "/_standby/check" refused: url is not on the standby that was asked



=== TEST 4: $standby_uri escapes what an argument cannot carry
--- config
    location /t {
        return 200 "$standby_uri\n";
    }
--- request
GET /t/a%20b%26c%2Bd%3Fe%23f
--- response_body
/t/a%20b%26c%2Bd%3Fe%23f



=== TEST 5: bad check uri
--- config
    location /t { standby_redirect _standby/check; }
--- must_die
--- error_log
invalid check uri "_standby/check", must start with "/"



=== TEST 6: duplicate standby_redirect
--- config
    location /t { standby_redirect /a; standby_redirect /b; }
--- must_die
--- error_log
"standby_redirect" directive is duplicate



=== TEST 7: bad secret lifetime
--- config
    location /t { standby_redirect /a; standby_redirect_secret s 0; }
--- must_die
--- error_log
invalid lifetime "0"



=== TEST 8: empty secret
--- config
    location /t { standby_redirect /a; standby_redirect_secret ""; }
--- must_die
--- error_log
empty secret



=== TEST 9: bad zone
--- http_config
    standby_redirect_zone answers;
--- config
    location /t { standby_redirect /a; }
--- must_die
--- error_log
invalid zone "answers", expected name:size



=== TEST 10: a zone too small
--- http_config
    standby_redirect_zone answers:4k;
--- config
    location /t { standby_redirect /a; }
--- must_die
--- error_log
zone "answers:4k" is too small



=== TEST 11: standby_redirect_cache under a second
--- config
    location /t { standby_redirect /a; standby_redirect_cache 0; }
--- must_die
--- error_log
value must be between 1 and 86400



=== TEST 12: bad standby_redirect_retry
--- config
    location /t { standby_redirect /a; standby_redirect_retry soon; }
--- must_die
--- error_log
"standby_redirect_retry" directive invalid value



=== TEST 13: a check built from the decoded $uri is warned about
--- config
    location /t {
        standby_redirect /_standby/check?uri=${uri}&d=$document_uri;
        return 200 "[$standby_action]\n";
    }
    location /u {
        standby_redirect /_standby/check?uri=$standby_uri&q=$request_uri$arg_uri;
        return 200 "[$standby_action]\n";
    }
--- response_body
[]
--- error_log
"/_standby/check?uri=${uri}&d=$document_uri" uses a decoded $uri, which the standby decodes again; use $standby_uri
--- no_error_log
"/_standby/check?uri=$standby_uri&q=$request_uri$arg_uri" uses
