# The hash test vectors of README.md ("ngx_http_tier_module", "The hash"),
# made by util/tier-hash.py, checked against the module's answers: vector N
# is group vN at /vN.  The expected bodies are hard-coded on purpose: that
# is what vectors are for.

use Test::Nginx::Socket 'no_plan';

run_tests();

__DATA__

=== TEST 1: the twelve vectors of README.md
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group v1 {
        member mid-a 127.0.0.1:10001 weight=100;
        member mid-b 127.0.0.1:10002 weight=100;
        member mid-c 127.0.0.1:10003 weight=100;
    }
    tier_group v2 {
        member mid-a 127.0.0.1:10004 weight=100;
        member mid-b 127.0.0.1:10005 weight=100;
        member mid-c 127.0.0.1:10006 weight=100;
    }
    tier_group v3 {
        member mid-a 127.0.0.1:10007 weight=100;
        member mid-b 127.0.0.1:10008 weight=200;
        member mid-c 127.0.0.1:10009 weight=50;
    }
    tier_group v4 {
        member x 127.0.0.1:10010 weight=1;
    }
    tier_group v5 {
        member x 127.0.0.1:10011 weight=1;
        member y 127.0.0.1:10012 weight=1;
    }
    tier_group v6 {
        member m1 127.0.0.1:10013 weight=100;
        member m2 127.0.0.1:10014 weight=100;
        member m3 127.0.0.1:10015 weight=100;
        member m4 127.0.0.1:10016 weight=100;
    }
    tier_group v7 {
        member m1 127.0.0.1:10017 weight=100;
        member m2 127.0.0.1:10018 weight=100;
        member m3 127.0.0.1:10019 weight=100;
        member m4 127.0.0.1:10020 weight=100;
    }
    tier_group v8 {
        member edge.1 127.0.0.1:10021 weight=10;
        member edge.2 127.0.0.1:10022 weight=1000;
    }
    tier_group v9 {
        member mid-a 127.0.0.1:10023 weight=100;
        member mid-b 127.0.0.1:10024 weight=100;
    }
    tier_group v10 {
        member A 127.0.0.1:10025 weight=1000000;
        member B 127.0.0.1:10026 weight=1;
        member C 127.0.0.1:10027 weight=500000;
    }
    tier_group v11 {
        member n00 127.0.0.1:10028 weight=100;
        member n01 127.0.0.1:10029 weight=100;
        member n02 127.0.0.1:10030 weight=100;
        member n03 127.0.0.1:10031 weight=100;
        member n04 127.0.0.1:10032 weight=100;
        member n05 127.0.0.1:10033 weight=100;
        member n06 127.0.0.1:10034 weight=100;
        member n07 127.0.0.1:10035 weight=100;
        member n08 127.0.0.1:10036 weight=100;
        member n09 127.0.0.1:10037 weight=100;
        member n10 127.0.0.1:10038 weight=100;
        member n11 127.0.0.1:10039 weight=100;
        member n12 127.0.0.1:10040 weight=100;
        member n13 127.0.0.1:10041 weight=100;
        member n14 127.0.0.1:10042 weight=100;
        member n15 127.0.0.1:10043 weight=100;
    }
    tier_group v12 {
        member mid-b 127.0.0.1:10044 weight=100;
        member mid-a 127.0.0.1:10045 weight=100;
    }
--- config
    location = /v1 { tier_enum v1; }
    location = /v2 { tier_enum v2; }
    location = /v3 { tier_enum v3; }
    location = /v4 { tier_enum v4; }
    location = /v5 { tier_enum v5; }
    location = /v6 { tier_enum v6; }
    location = /v7 { tier_enum v7; }
    location = /v8 { tier_enum v8; }
    location = /v9 { tier_enum v9; }
    location = /v10 { tier_enum v10; }
    location = /v11 { tier_enum v11; }
    location = /v12 { tier_enum v12; }
--- request eval
[
    "GET /v1?key=live/s1",
    "GET /v2?key=live/s2",
    "GET /v3?key=live/s1",
    "GET /v4?key=a",
    "GET /v5?key=a",
    "GET /v6?key=live/stream0000001",
    "GET /v7?key=live/stream0000002",
    "GET /v8?key=app/name%25~%21%24%27%28%29%2A%2B%2C%3B%3D%3A%40",
    "GET /v9?key=live/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "GET /v10?key=live/s1",
    "GET /v11?key=vod/movie.mp4",
    "GET /v12?key=live/~",
]
--- response_body eval
[
    '{"group":"v1","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-c","addr":"127.0.0.1:10003"},{"id":"mid-b","addr":"127.0.0.1:10002"},{"id":"mid-a","addr":"127.0.0.1:10001"}]}' . "\n",
    '{"group":"v2","key":"live/s2","version":1,"ttl":30,"servers":[{"id":"mid-b","addr":"127.0.0.1:10005"},{"id":"mid-a","addr":"127.0.0.1:10004"},{"id":"mid-c","addr":"127.0.0.1:10006"}]}' . "\n",
    '{"group":"v3","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"mid-b","addr":"127.0.0.1:10008"},{"id":"mid-c","addr":"127.0.0.1:10009"},{"id":"mid-a","addr":"127.0.0.1:10007"}]}' . "\n",
    '{"group":"v4","key":"a","version":1,"ttl":30,"servers":[{"id":"x","addr":"127.0.0.1:10010"}]}' . "\n",
    '{"group":"v5","key":"a","version":1,"ttl":30,"servers":[{"id":"y","addr":"127.0.0.1:10012"},{"id":"x","addr":"127.0.0.1:10011"}]}' . "\n",
    '{"group":"v6","key":"live/stream0000001","version":1,"ttl":30,"servers":[{"id":"m4","addr":"127.0.0.1:10016"},{"id":"m2","addr":"127.0.0.1:10014"},{"id":"m3","addr":"127.0.0.1:10015"},{"id":"m1","addr":"127.0.0.1:10013"}]}' . "\n",
    '{"group":"v7","key":"live/stream0000002","version":1,"ttl":30,"servers":[{"id":"m3","addr":"127.0.0.1:10019"},{"id":"m2","addr":"127.0.0.1:10018"},{"id":"m1","addr":"127.0.0.1:10017"},{"id":"m4","addr":"127.0.0.1:10020"}]}' . "\n",
    '{"group":"v8","key":"app/name%~!$\'()*+,;=:@","version":1,"ttl":30,"servers":[{"id":"edge.2","addr":"127.0.0.1:10022"},{"id":"edge.1","addr":"127.0.0.1:10021"}]}' . "\n",
    '{"group":"v9","key":"live/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk","version":1,"ttl":30,"servers":[{"id":"mid-b","addr":"127.0.0.1:10024"},{"id":"mid-a","addr":"127.0.0.1:10023"}]}' . "\n",
    '{"group":"v10","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"A","addr":"127.0.0.1:10025"},{"id":"C","addr":"127.0.0.1:10027"},{"id":"B","addr":"127.0.0.1:10026"}]}' . "\n",
    '{"group":"v11","key":"vod/movie.mp4","version":1,"ttl":30,"servers":[{"id":"n09","addr":"127.0.0.1:10037"},{"id":"n10","addr":"127.0.0.1:10038"},{"id":"n07","addr":"127.0.0.1:10035"},{"id":"n08","addr":"127.0.0.1:10036"},{"id":"n05","addr":"127.0.0.1:10033"},{"id":"n13","addr":"127.0.0.1:10041"},{"id":"n00","addr":"127.0.0.1:10028"},{"id":"n03","addr":"127.0.0.1:10031"},{"id":"n04","addr":"127.0.0.1:10032"},{"id":"n02","addr":"127.0.0.1:10030"},{"id":"n12","addr":"127.0.0.1:10040"},{"id":"n06","addr":"127.0.0.1:10034"},{"id":"n01","addr":"127.0.0.1:10029"},{"id":"n11","addr":"127.0.0.1:10039"},{"id":"n15","addr":"127.0.0.1:10043"},{"id":"n14","addr":"127.0.0.1:10042"}]}' . "\n",
    '{"group":"v12","key":"live/~","version":1,"ttl":30,"servers":[{"id":"mid-a","addr":"127.0.0.1:10045"},{"id":"mid-b","addr":"127.0.0.1:10044"}]}' . "\n",
]
--- no_error_log
[error]
