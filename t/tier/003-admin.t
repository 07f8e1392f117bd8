# tier_admin: listing, state changes seen by tier_enum, version, errors
# that change nothing.

use Test::Nginx::Socket 'no_plan';

# Under TEST_NGINX_USE_HUP the zone of a group (tier_<name>), and so its
# states and version, outlives the reload between blocks: each block gets
# a group of its own, "mid<block number>", so that it starts at version 1
# with the configured states in any order.  The expected answers below
# say "mid"; the group's name in them is rewritten to the block's.
add_block_preprocessor(sub {
    my $block = shift;
    my $g = 'mid' . $block->seq_num;

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('http_config', <<"EOC");
    tier_group $g {
        member mid-a 10.0.0.3:1935 weight=200;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935 down;
    }
EOC

    $block->set_value('config', <<"EOC");
    location = /tier/pick { tier_enum $g; }
    location = /tier/admin { tier_admin $g; }
EOC

    for my $sec (qw(response_body error_log)) {
        my $v = $block->$sec // next;
        s/"group":"mid"/"group":"$g"/g, s/group "mid"/group "$g"/g
            for ref $v ? @$v : $v;
        $block->set_value($sec, $v);
    }

    $block->set_value('no_error_log', "[error]\n[alert]\n");
});

our $list = '{"group":"mid","version":%d,"members":['
    . '{"id":"mid-a","addr":"10.0.0.3:1935","weight":200,"state":"%s","records":0},'
    . '{"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"%s","records":0},'
    . '{"id":"mid-c","addr":"10.0.0.5:1935","weight":100,"state":"%s","records":0}]}'
    . "\n";

run_tests();

__DATA__

=== TEST 1: GET lists members in config order with state and weight
--- request
GET /tier/admin
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body eval
sprintf $::list, 1, "up", "up", "down"



=== TEST 2: down, up: the list changes, the version goes up once each
--- request eval
["GET /tier/pick?key=live/s1",
 "POST /tier/admin?id=mid-b&state=down",
 "GET /tier/pick?key=live/s1",
 "POST /tier/admin?id=mid-c&state=up",
 "GET /tier/pick?key=live/s1",
 "POST /tier/admin?id=mid-b&state=up",
 "GET /tier/pick?key=live/s1"]
--- response_body eval
['{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n",
 sprintf($::list, 2, "up", "down", "down"),
 '{"group":"mid","key":"live/s1","version":2,"ttl":30,"servers":[{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n",
 sprintf($::list, 3, "up", "down", "up"),
 '{"group":"mid","key":"live/s1","version":3,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n",
 sprintf($::list, 4, "up", "up", "up"),
 '{"group":"mid","key":"live/s1","version":4,"ttl":30,"servers":[{"id":"mid-c","addr":"10.0.0.5:1935"},{"id":"mid-b","addr":"10.0.0.4:1935"},{"id":"mid-a","addr":"10.0.0.3:1935"}]}' . "\n"]



=== TEST 3: setting the state a member already has is no change
--- request eval
["POST /tier/admin?id=mid-a&state=up",
 "POST /tier/admin?state=down&id=mid-c"]
--- response_body eval
[sprintf($::list, 1, "up", "up", "down"),
 sprintf($::list, 1, "up", "up", "down")]



=== TEST 4: bad admin requests are 400 and change nothing
--- request eval
["POST /tier/admin",
 "POST /tier/admin?state=down",
 "POST /tier/admin?id=mid-x&state=down",
 "POST /tier/admin?id=&state=down",
 "POST /tier/admin?id=mid-a",
 "POST /tier/admin?id=mid-a&state=",
 "POST /tier/admin?id=mid-a&state=DOWN",
 "POST /tier/admin?id=mid-a&state=downx",
 "POST /tier/admin?id=mid-a%zz&state=down",
 "POST /tier/admin?id=" . ("a" x 300) . "&state=down",
 "POST /tier/admin?id=mid-a&state=down%01",
 "GET /tier/admin"]
--- error_code eval
[(400) x 11, 200]
--- response_body eval
['{"error":"invalid_id","detail":"the \"id\" argument is required"}' . "\n",
 '{"error":"invalid_id","detail":"the \"id\" argument is required"}' . "\n",
 ('{"error":"unknown_id","detail":"no member of the group has this id"}' . "\n") x 2,
 ('{"error":"invalid_state","detail":"\"state\" must be \"up\" or \"down\""}' . "\n") x 4,
 ('{"error":"unknown_id","detail":"no member of the group has this id"}' . "\n") x 2,
 '{"error":"invalid_state","detail":"\"state\" must be \"up\" or \"down\""}' . "\n",
 sprintf($::list, 1, "up", "up", "down")]



=== TEST 5: a POST body is ignored, percent-encoded ids work
--- request
POST /tier/admin?id=mid%2Da&state=down
id=mid-b&state=up
--- response_body eval
sprintf $::list, 2, "down", "up", "down"
--- error_log
tier group "mid": member "mid-a" set down



=== TEST 6: other methods are 405
--- request eval
["PUT /tier/admin?id=mid-a&state=down", "GET /tier/admin"]
--- error_code eval
[405, 200]
--- response_headers eval
["Allow: GET, HEAD, POST", "Content-Type: application/json"]
--- response_body eval
['{"error":"method_not_allowed","detail":"use GET, HEAD or POST"}' . "\n",
 sprintf($::list, 1, "up", "up", "down")]
