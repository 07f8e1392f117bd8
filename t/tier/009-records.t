# Live streams stay where they are: an origin's on_publish that gets 302
# records key -> member, every answer for the key puts that member first
# while it is up, publish_done removes the record, update_publish keeps
# it alive, and it expires without them.  Rendezvous orders from
# util/tier-hash.py: live/s1 mid-c mid-b mid-a; live/s2 mid-b mid-a mid-c.
# Each block has its own group (its own zone), so HUP mode carries
# nothing over.

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    my $g = $block->group || 'mid';
    my $records = $block->records || '';

    $block->set_value('http_config', <<"EOC") unless defined $block->http_config;
    tier_group $g {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
        $records
    }
EOC

    $block->set_value('config', <<"EOC") unless defined $block->config;
    location = /tier/pick { tier_enum $g; }
    location = /tier/admin { tier_admin $g; }
EOC

    $block->set_value('no_error_log', "[error]\n[alert]\n")
        unless $block->no_error_log;
});

our $form = 'app=live&flashver=FMLE%2F3.0&addr=127.0.0.1&clientid=7';

sub servers {
    my ($g, $key, @ids) = @_;
    my %addr = ('mid-a' => '10.0.0.3:1935', 'mid-b' => '10.0.0.4:1935',
                'mid-c' => '10.0.0.5:1935');
    return qq({"group":"$g","key":"$key","version":%d,"ttl":30,"servers":[)
        . join(',', map { qq({"id":"$_","addr":"$addr{$_}"}) } @ids)
        . "]}\n";
}

# the expected /tier/pick answers below
our %pick = (
    r1_bca  => sprintf(servers('r1', 'live/s1', qw(mid-b mid-c mid-a)), 3),
    r1_b    => sprintf(servers('r1', 'live/s1', qw(mid-b)), 3),
    r1_bc   => sprintf(servers('r1', 'live/s1', qw(mid-b mid-c)), 3),
    r1_s2   => sprintf(servers('r1', 'live/s2', qw(mid-b mid-a mid-c)), 3),
    r3_c    => sprintf(servers('r3', 'live/s1', qw(mid-c)), 3),
    r4_ba   => sprintf(servers('r4', 'live/s1', qw(mid-b mid-a)), 2),
    r4_bca  => sprintf(servers('r4', 'live/s1', qw(mid-b mid-c mid-a)), 3),
);

run_tests();

__DATA__

=== TEST 1: the member an on_publish was sent to stays first while up
--- group: r1
--- request eval
["POST /tier/admin?id=mid-c&state=down",
 "POST /tier/pick\n$::form&call=publish&name=s1&type=live",
 "POST /tier/admin?id=mid-c&state=up",
 "GET /tier/pick?key=live/s1",
 "GET /tier/pick?key=live/s1&n=1",
 "GET /tier/pick?key=live/s1&n=2",
 "POST /tier/pick\n$::form&call=play&name=s1",
 "GET /tier/pick?call=play&app=live&name=s1",
 "GET /tier/pick?key=live/s2"]
--- error_code eval
[200, 302, 200, 200, 200, 200, 302, 302, 200]
--- response_headers eval
["", "Location: rtmp://10.0.0.4:1935/live/s1", "", "", "", "",
 "Location: rtmp://10.0.0.4:1935/live/s1",
 "Location: rtmp://10.0.0.4:1935/live/s1", ""]
--- response_body_like eval
[qr/"version":2/, qr/^$|302 Found/, qr/"version":3/,
 qr/^\Q$::pick{r1_bca}\E\z/,
 qr/^\Q$::pick{r1_b}\E\z/,
 qr/^\Q$::pick{r1_bc}\E\z/,
 qr/^$|302 Found/, qr/^$|302 Found/,
 qr/^\Q$::pick{r1_s2}\E\z/]



=== TEST 2: admin lists the records per member, keys with ?keys=1
--- group: r2
--- request eval
["POST /tier/pick\n$::form&call=publish&name=s1&type=live",
 "POST /tier/pick\n$::form&call=publish&name=s2&type=live",
 "GET /tier/pick?call=publish&app=live&name=s3&type=live",
 "POST /tier/pick\n$::form&call=publish&name=s4&type=live",
 "POST /tier/pick\n$::form&call=play&name=s5",
 "GET /tier/admin",
 "GET /tier/admin?keys=1",
 "GET /tier/admin?keys=0"]
--- error_code eval
[302, 302, 302, 302, 302, 200, 200, 200]
--- response_body_like eval
[(qr/^$|302 Found/) x 5,
 qr/^\Q{"group":"r2","version":1,"members":[{"id":"mid-a","addr":"10.0.0.3:1935","weight":100,"state":"up","records":1},{"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"up","records":1},{"id":"mid-c","addr":"10.0.0.5:1935","weight":100,"state":"up","records":2}]}\E\n\z/,
 qr/^\Q{"group":"r2","version":1,"members":[{"id":"mid-a","addr":"10.0.0.3:1935","weight":100,"state":"up","records":1,"keys":["live\/s3"]},{"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"up","records":1,"keys":["live\/s2"]},{"id":"mid-c","addr":"10.0.0.5:1935","weight":100,"state":"up","records":2,"keys":["live\/s1","live\/s4"]}]}\E\n\z/,
 qr/^\Q{"group":"r2","version":1,"members":[{"id":"mid-a","addr":"10.0.0.3:1935","weight":100,"state":"up","records":1},{"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"up","records":1},{"id":"mid-c","addr":"10.0.0.5:1935","weight":100,"state":"up","records":2}]}\E\n\z/]



=== TEST 3: publish_done forgets; updates, other calls and relays keep
--- group: r3
--- request eval
["POST /tier/admin?id=mid-c&state=down",
 "POST /tier/pick\n$::form&call=publish&name=s1&type=live",
 "POST /tier/admin?id=mid-c&state=up",
 "POST /tier/pick\n$::form&call=update_publish&time=30&timestamp=30000&name=s1",
 "POST /tier/pick\n$::form&call=update_play&time=30&timestamp=30000&name=s1",
 "POST /tier/pick\n$::form&call=play_done&name=s1",
 "POST /tier/pick\n$::form&call=done&name=s1",
 "POST /tier/pick\napp=live&flashver=ngx-local-relay&call=publish_done&name=s1",
 "GET /tier/admin?keys=1",
 "POST /tier/pick\n$::form&call=publish_done&name=s1",
 "GET /tier/admin?keys=1",
 "GET /tier/pick?key=live/s1&n=1",
 "POST /tier/pick\n$::form&call=publish_done&name=s1"]
--- error_code eval
[200, 302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "Location: rtmp://10.0.0.4:1935/live/s1", "", "!Location", "!Location",
 "!Location", "!Location", "!Location", "", "!Location", "", "", "!Location"]
--- response_body_like eval
[qr/"version":2/, qr/^$|302 Found/, qr/"version":3/, qr/^$|302 Found/, qr/^$|302 Found/, qr/^$|302 Found/, qr/^$|302 Found/,
 qr/^$|302 Found/,
 qr/"id":"mid-b",[^}]*"records":1,"keys":\["live\/s1"\]/,
 qr/^$|302 Found/,
 qr/^(?!.*"records":[1-9]).*"id":"mid-b",[^}]*"records":0,"keys":\[\]/,
 qr/^\Q$::pick{r3_c}\E\z/,
 qr/^$|302 Found/]



=== TEST 4: a recorded member down is skipped; a republish moves the record
--- group: r4
--- request eval
["POST /tier/pick\n$::form&call=publish&name=s1&type=live",
 "POST /tier/admin?id=mid-c&state=down",
 "GET /tier/pick?key=live/s1",
 "POST /tier/pick\n$::form&call=play&name=s1",
 "POST /tier/pick\n$::form&call=publish&name=s1&type=live",
 "POST /tier/admin?id=mid-c&state=up",
 "GET /tier/pick?key=live/s1",
 "GET /tier/admin?keys=1"]
--- error_code eval
[302, 200, 200, 302, 302, 200, 200, 200]
--- response_headers eval
["Location: rtmp://10.0.0.5:1935/live/s1", "", "",
 "Location: rtmp://10.0.0.4:1935/live/s1",
 "Location: rtmp://10.0.0.4:1935/live/s1", "", "", ""]
--- response_body_like eval
[qr/^$|302 Found/, qr/"version":2/,
 qr/^\Q$::pick{r4_ba}\E\z/,
 qr/^$|302 Found/, qr/^$|302 Found/, qr/"version":3/,
 qr/^\Q$::pick{r4_bca}\E\z/,
 qr/"id":"mid-b",[^}]*"records":1,"keys":\["live\/s1"\].*"id":"mid-c",[^}]*"records":0/]



=== TEST 5: a group per protocol shares the records of the RTMP one by id
--- http_config
    tier_group r5rtmp {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
    }
    tier_group r5http {
        member mid-c 10.0.0.5:8080;
        member mid-b 10.0.0.4:8080;
        member mid-a 10.0.0.3:8080;
        records group=r5rtmp;
    }
--- config
    location = /rtmp { tier_enum r5rtmp; }
    location = /http { tier_enum r5http; }
    location = /admin { tier_admin r5rtmp; }
    location = /admin/http { tier_admin r5http; }
--- request eval
["POST /admin?id=mid-c&state=down",
 "POST /rtmp\n$::form&call=publish&name=s1&type=live",
 "POST /admin?id=mid-c&state=up",
 "GET /http?key=live/s1",
 "GET /admin/http?keys=1"]
--- error_code eval
[200, 302, 200, 200, 200]
--- response_body_like eval
[qr/"version":2/, qr/^$|302 Found/, qr/"version":3/,
 qr/"servers":\[\{"id":"mid-b","addr":"10.0.0.4:8080"\},\{"id":"mid-c","addr":"10.0.0.5:8080"\},\{"id":"mid-a",/,
 qr/"id":"mid-b",[^}]*"records":1,"keys":\["live\/s1"\]/]



=== TEST 6: records group= must name another group that has its own
--- http_config
    tier_group a {
        member mid-a 10.0.0.3:1935;
        records group=b;
    }
    tier_group b {
        member mid-a 10.0.0.3:1935;
        records group=c;
    }
    tier_group c {
        member mid-a 10.0.0.3:1935;
    }
--- config
--- must_die
--- error_log
tier_group "a" takes the records of "b", which takes another group's
