# GET /tier/pick: answers, ordering, n, ttl, and bad input.
#
# Orders below come from util/tier-hash.py, e.g.
#   util/tier-hash.py live/s1 mid-a mid-b mid-c   ->  mid-c mid-b mid-a

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config', <<'EOC') unless $block->main_config;
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('http_config', <<'EOC') unless $block->http_config;
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
    }
    tier_group half {
        member mid-a 10.0.0.3:1935 weight=100;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935 down;
    }
    tier_group none {
        member mid-a 10.0.0.3:1935 down;
    }
EOC

    $block->set_value('config', <<'EOC') unless $block->config;
    location = /tier/pick { tier_enum mid; }
    location = /half { tier_enum half; tier_enum_ttl 1m; }
    location = /none { tier_enum none; }
EOC

    $block->set_value('no_error_log', "[error]\n[alert]\n")
        unless $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: all members, best first, with the SPEC's answer shape
--- request
GET /tier/pick?key=live/s1
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}



=== TEST 2: another key, another order
--- request
GET /tier/pick?key=live/s2
--- response_body
{"group":"mid","key":"live/s2","version":1,"ttl":30,"servers":[{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"},{"id":"mid-c","addr":"10.0.0.5:1935"}]}



=== TEST 3: n caps the list to the best n
--- request eval
["GET /tier/pick?key=live/s1&n=1",
 "GET /tier/pick?n=2&key=live/s1",
 "GET /tier/pick?key=live/s1&n=3"]
--- response_body eval
['{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"}]}' . "\n",
 '{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"}]}' . "\n",
 '{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n"]



=== TEST 4: a down member is skipped, the others keep their order; ttl
--- request
GET /half?key=live/s1
--- response_body
{"group":"half","key":"live/s1","version":1,"ttl":60,"servers":[{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}



=== TEST 5: n larger than the members up but not than the group
--- request
GET /half?key=live/s1&n=3
--- response_body
{"group":"half","key":"live/s1","version":1,"ttl":60,"servers":[{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}



=== TEST 6: percent-encoded key, "+" is a space and so refused
--- request eval
["GET /tier/pick?key=live%2Fs1&n=1",
 "GET /tier/pick?key=live/a+b",
 "GET /tier/pick?key=live/a%2Bb&n=1"]
--- error_code eval
[200, 400, 200]
--- response_body eval
['{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"}]}' . "\n",
 '{"error":"invalid_key","detail":"the key must be 1 to 256 bytes of printable ASCII without space, quote or backslash"}' . "\n",
 '{"group":"mid","key":"live/a+b","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"}]}' . "\n"]



=== TEST 7: HEAD gets the headers only
--- request
HEAD /tier/pick?key=live/s1
--- response_headers
Content-Type: application/json
--- response_body



=== TEST 8: no member up is 503
--- request
GET /none?key=live/s1
--- error_code: 503
--- response_body
{"error":"no_member_up","detail":"no member of the group is up"}



=== TEST 9: missing or empty key
--- request eval
["GET /tier/pick",
 "GET /tier/pick?n=1",
 "GET /tier/pick?key=",
 "GET /tier/pick?key",
 "GET /tier/pick?keys=live/s1"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body_like eval
[qr/"error":"invalid_key"/, qr/"error":"invalid_key"/,
 qr/"error":"invalid_key"/, qr/"error":"invalid_key"/,
 qr/"error":"invalid_key"/]



=== TEST 10: key of 256 bytes is fine, 257 is too long
--- request eval
["GET /tier/pick?n=1&key=" . ("k" x 256),
 "GET /tier/pick?n=1&key=" . ("k" x 257),
 "GET /tier/pick?n=1&key=" . ("%6b" x 257)]
--- error_code eval
[200, 400, 400]
--- response_body_like eval
[qr/^\{"group":"mid","key":"k{256}",/,
 qr/^\{"error":"key_too_long",/,
 qr/^\{"error":"key_too_long",/]



=== TEST 11: bad bytes and bad escapes in the key
--- request eval
["GET /tier/pick?key=live/x%00",
 "GET /tier/pick?key=live/x%0a",
 "GET /tier/pick?key=live/%22q%22",
 "GET /tier/pick?key=live/back%5cslash",
 "GET /tier/pick?key=live/%ff",
 "GET /tier/pick?key=live/%7f",
 "GET /tier/pick?key=live/%zz",
 "GET /tier/pick?key=live/%4",
 "GET /tier/pick?key=live/%20"]
--- error_code eval
[(400) x 9]
--- response_body_like eval
[(qr/^\{"error":"invalid_key","detail":"[^"]+"\}\n\z/) x 9]



=== TEST 12: bad n
--- request eval
["GET /tier/pick?key=live/s1&n=0",
 "GET /tier/pick?key=live/s1&n=-1",
 "GET /tier/pick?key=live/s1&n=abc",
 "GET /tier/pick?key=live/s1&n=",
 "GET /tier/pick?key=live/s1&n=00",
 "GET /tier/pick?key=live/s1&n=1x",
 "GET /tier/pick?key=live/s1&n=+1",
 "GET /tier/pick?key=live/s1&n=99999999999999999999999"]
--- error_code eval
[(400) x 8]
--- response_body eval
[('{"error":"invalid_n","detail":"\"n\" must be 1 to 9 decimal digits, not 0"}' . "\n") x 8]



=== TEST 13: n is a cap: above the group's size (or the members up) lists all up
--- request eval
["GET /tier/pick?key=live/s1&n=4",
 "GET /tier/pick?key=live/s1&n=999999999",
 "GET /half?key=live/s1&n=3"]
--- response_body eval
['{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n",
 '{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n",
 '{"group":"half","key":"live/s1","version":1,"ttl":60,"servers":[{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n"]



=== TEST 14: the first key wins, as with $arg_key
--- request
GET /tier/pick?key=live/s1&key=live/s2&n=1
--- response_body
{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"}]}



=== TEST 15: other methods are 405 with Allow
--- request eval
["PUT /tier/pick?key=live/s1", "DELETE /tier/pick?key=live/s1"]
--- error_code eval
[405, 405]
--- response_headers eval
["Allow: GET, HEAD, POST", "Allow: GET, HEAD, POST"]
--- response_body eval
[('{"error":"method_not_allowed","detail":"use GET, HEAD or POST"}' . "\n") x 2]
