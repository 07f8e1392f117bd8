# The nginx-rtmp notify protocol on the same endpoint: forms from on_play /
# on_publish get 302 rtmp://<best member>/<app>/<name>, relays get 200,
# bad forms 400.  Orders from util/tier-hash.py (live/s1: mid-c first).

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('http_config', <<'EOC');
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
    }
    tier_group none {
        member mid-a 10.0.0.3:1935 down;
    }
EOC

    $block->set_value('config', <<'EOC') unless $block->config;
    client_body_buffer_size 1k;
    location = /tier/pick { tier_enum mid; }
    location = /none { tier_enum none; }
    location = /tier/admin { tier_admin mid; }
EOC

    $block->set_value('no_error_log', "[error]\n[alert]\n");
});

# what nginx-rtmp 1.2.2 sends for a play (ngx_rtmp_netcall/notify)
our $play = 'app=live&flashver=LNX%2011,1,102,55&swfurl=&'
    . 'tcurl=rtmp%3A%2F%2F127.0.0.1%3A1935%2Flive&pageurl=&'
    . 'addr=127.0.0.1&clientid=1&call=play&name=s1&start=-2000&'
    . 'duration=0&reset=0';

run_tests();

__DATA__

=== TEST 1: on_play form: 302 to the best member
--- request eval
"POST /tier/pick\n$::play"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 302
--- response_headers
Location: rtmp://10.0.0.5:1935/live/s1



=== TEST 2: on_publish form, and the client's raw args cannot override
--- request
POST /tier/pick
app=live&flashver=FMLE%2F3.0&addr=127.0.0.1&clientid=7&call=publish&name=s1&type=live&name=evil&flashver=ngx-local-relay
--- error_code: 302
--- response_headers
Location: rtmp://10.0.0.5:1935/live/s1



=== TEST 3: relay sessions get 200 and no redirect
--- request eval
"POST /tier/pick\n"
. "app=live&flashver=ngx-local-relay&swfurl=&tcurl=&pageurl=&"
. "addr=rtmp%3A%2F%2F10.0.0.5%3A1935%2Flive%2Fs1&clientid=3&call=publish&"
. "name=s1&type=live"
--- error_code: 200
--- response_headers
!Location
--- response_body



=== TEST 4: notify_method get: the form in the query string
--- request eval
"GET /tier/pick?$::play"
--- error_code: 302
--- response_headers
Location: rtmp://10.0.0.5:1935/live/s1



=== TEST 5: a form without name or app, an empty or garbage body: 400
--- request eval
["POST /tier/pick\napp=live&call=play&flashver=LNX",
 "POST /tier/pick\ncall=play&name=s1",
 "POST /tier/pick",
 "POST /tier/pick\n\x00\xff\x01&&&===%%%",
 "POST /tier/pick\n{\"app\":\"live\",\"name\":\"s1\"}",
 "POST /tier/pick?app=live&name=s1\nx=1"]
--- error_code eval
[(400) x 6]
--- response_body eval
[('{"error":"invalid_form","detail":"a notify form needs \"app\" and \"name\""}' . "\n") x 6]



=== TEST 6: bad app or name: 400
--- request eval
["POST /tier/pick\napp=live&name=",
 "POST /tier/pick\napp=&name=s1",
 "POST /tier/pick\napp=live&name=%zz",
 "POST /tier/pick\napp=live&name=a%20b",
 "POST /tier/pick\napp=live&name=a%22b",
 "POST /tier/pick\napp=live%00&name=s1"]
--- error_code eval
[(400) x 6]
--- response_body_like eval
[(qr/^\{"error":"invalid_key","detail":"[^"]+"\}\n\z/) x 6]



=== TEST 7: Location up to 254 bytes, longer is 400 (nginx-rtmp limit)
--- request eval
["POST /tier/pick\napp=live&name=" . ("n" x 228),
 "POST /tier/pick\napp=live&name=" . ("n" x 229),
 "POST /tier/pick\napp=live&name=" . ("n" x 300)]
--- error_code eval
[302, 400, 400]
--- response_headers eval
["Location: rtmp://10.0.0.5:1935/live/" . ("n" x 228), "!Location",
 "!Location"]
--- response_body_like eval
[qr/302/, qr/^\{"error":"key_too_long",/, qr/^\{"error":"key_too_long",/]



=== TEST 8: no member up: 503, which makes nginx-rtmp refuse the session
--- request eval
"POST /none\n$::play"
--- error_code: 503
--- response_body
{"error":"no_member_up","detail":"no member of the group is up"}



=== TEST 9: a form beyond client_body_buffer_size is 400
--- request eval
"POST /tier/pick\napp=live&name=s1&pad=" . ("x" x 100000)
--- error_code: 400
--- response_body
{"error":"body_too_large","detail":"the form exceeds client_body_buffer_size"}



=== TEST 10: garbage notify calls change no state
--- request eval
["POST /tier/pick\n\x00\xff",
 "POST /tier/pick?id=mid-a&state=down\napp=live",
 "GET /tier/admin"]
--- error_code eval
[400, 400, 200]
--- response_body_like eval
[qr/invalid_form/, qr/invalid_form/,
 qr/^\{"group":"mid","version":1,"members":\[\{"id":"mid-a","addr":"10.0.0.3:1935","weight":100,"state":"up","records":0\},/]
