# Configuration errors are caught at load time.

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('config', "    location = /t { tier_enum mid; }\n")
        unless $block->config;

    $block->set_value('must_die', 1) unless $block->request;
});

# groups of 256 and 257 members
our %big = map {
    my $n = $_;
    ($n => "    tier_group mid {\n"
           . join('', map { "        member m$_ 10.0.1.1:$_;\n" } 1 .. $n)
           . "    }\n")
} 256, 257;

run_tests();

__DATA__

=== TEST 1: a host name is refused: nginx-rtmp follows IP literals only
--- http_config
    tier_group mid { member mid-a localhost:1935; }
--- error_log
invalid member address "localhost:1935", an IP address and a port are required



=== TEST 2: the port is required
--- http_config
    tier_group mid { member mid-a 10.0.0.3; }
--- error_log
invalid member address "10.0.0.3"



=== TEST 3: duplicate member id
--- http_config
    tier_group mid { member mid-a 10.0.0.3:1935; member mid-a 10.0.0.4:1935; }
--- error_log
duplicate member id "mid-a"



=== TEST 4: bad weight
--- http_config
    tier_group mid { member mid-a 10.0.0.3:1935 weight=0; }
--- error_log
invalid weight "weight=0"



=== TEST 5: unknown parameter
--- http_config
    tier_group mid { member mid-a 10.0.0.3:1935 backup; }
--- error_log
invalid parameter "backup"



=== TEST 6: a group without members
--- http_config
    tier_group mid { }
--- error_log
no members in tier_group "mid"



=== TEST 7: a group that is not defined
--- http_config
    tier_group other { member mid-a 10.0.0.3:1935; }
--- error_log
unknown tier_group "mid" in



=== TEST 8: a bad id
--- http_config
    tier_group mid { member "mid a" 10.0.0.3:1935; }
--- error_log
invalid member id "mid a"



=== TEST 9: a group defined twice
--- http_config
    tier_group mid { member mid-a 10.0.0.3:1935; }
    tier_group mid { member mid-b 10.0.0.4:1935; }
--- error_log
duplicate tier_group "mid"



=== TEST 10: other directives inside tier_group
--- http_config
    tier_group mid { server 10.0.0.3:1935; }
--- error_log
unknown directive "server" in tier_group



=== TEST 11: IPv6 members, extreme weights, a down member
--- http_config
    tier_group mid {
        member mid-a [::1]:1935 weight=1000000;
        member mid-b 10.0.0.4:1935 weight=1 down;
    }
--- config
    location = /t { tier_enum mid; }
--- request
GET /t?key=live/s1
--- response_body
{"group":"mid","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-a","addr":"[::1]:1935"}]}



=== TEST 12: 256 members are fine
--- http_config eval: $::big{256}
--- config
    location = /t { tier_admin mid; }
--- request
GET /t
--- response_body_like: ^\{"group":"mid","version":1,"members":\[(?:\{"id":"m\d+","addr":"10\.0\.1\.1:\d+","weight":100,"state":"up","records":0\},?){256}\]\}$
--- no_error_log
[error]



=== TEST 13: 257 members are too many
--- http_config eval: $::big{257}
--- error_log
too many members in tier_group, at most 256



=== TEST 14: a weight above the maximum
--- http_config
    tier_group mid { member mid-a 10.0.0.3:1935 weight=1000001; }
--- error_log
invalid weight "weight=1000001", use 1 to 1000000
