# Records across workers, reloads and service instances: two instances
# (helper nginx, two workers each) share records through stock "mirror"
# of the notify calls to each other's non-mirroring location; update_
# publish keeps a record past its expiry, silence lets it expire; a
# reload keeps records; a full zone drops the least recently refreshed
# with a warning.  live/s1 ranks mid-c, mid-b, mid-a (util/tier-hash.py),
# so a record at mid-b is visible as mid-b first.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Pipeline;
use Time::HiRes qw(sleep time);

my %port = (a => free_port(), b => free_port());
my %peer = (a => 'b', b => 'a');

sub conf {
    my ($me, $ver) = @_;

    return <<"EOC";
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body;
    keepalive_requests 10000;
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
        records 64k expire=2s;
    }
    tier_group tiny {
        member mid-a 10.0.0.3:1935;
        records 32k;
    }
    server {
        listen 127.0.0.1:$port{$me} reuseport;

        # nginx-rtmp calls this one; every call goes to the peer too
        location = /tier/pick {
            tier_enum mid;
            mirror /_peer;
        }
        location = /_peer {
            internal;
            proxy_pass http://127.0.0.1:$port{$peer{$me}}/tier/sync;
        }
        # what the peer mirrors to: answers, never mirrors back
        location = /tier/sync { tier_enum mid; }

        location = /tier/admin { tier_admin mid; }
        location = /tiny { tier_enum tiny; }
        location = /tiny/admin { tier_admin tiny; }
        location = /ver { return 200 "$ver"; }
    }
}
EOC
}

my %pid;
for my $me (qw(a b)) {
    $pid{$me} = start_nginx_helper($me, wait_port => $port{$me},
                                   conf => conf($me, 'v1'));
}

sub admin { return (http_get($port{$_[0]}, "/tier/admin?keys=1"))[2] }

sub first {
    my ($me, $key) = @_;
    my (undef, undef, $body) = http_get($port{$me}, "/tier/pick?key=$key");
    return $body =~ /"servers":\[\{"id":"([^"]+)"/ ? $1 : '';
}

sub notify {
    my ($me, $form) = @_;
    return http_request('POST', $port{$me}, '/tier/pick',
                        "app=live&flashver=FMLE%2F3.0&addr=127.0.0.1&$form",
                        { 'Content-Type' =>
                              'application/x-www-form-urlencoded' });
}

sub state {
    my ($me, $id, $state) = @_;
    http_request('POST', $port{$me}, "/tier/admin?id=$id&state=$state");
}


# 1. a publish at a is recorded at b too

state($_, 'mid-c', 'down') for qw(a b);
my ($st, $h) = notify('a', 'call=publish&name=s1&type=live');
is($st, 302, 'publish at a: 302');
is($h->{location}, 'rtmp://10.0.0.4:1935/live/s1', 'to mid-b, mid-c down');
state($_, 'mid-c', 'up') for qw(a b);

ok(wait_for(sub { admin('b') =~ /"id":"mid-b",[^}]*"keys":\["live\/s1"\]/ }),
   'the mirrored publish reached b');
is(first('b', 'live/s1'), 'mid-b', 'b puts the recorded member first');
is(first('a', 'live/s1'), 'mid-b', 'so does a');
($st, $h) = notify('b', 'call=play&name=s1');
is($h->{location}, 'rtmp://10.0.0.4:1935/live/s1',
   'an edge asking b is sent to mid-b');

# 2. publish_done at b is forgotten at a too

($st) = notify('b', 'call=publish_done&name=s1');
is($st, 200, 'publish_done at b: 200');
ok(wait_for(sub { first('a', 'live/s1') eq 'mid-c' }),
   'the mirrored publish_done reached a: back to the rendezvous order');
is(first('b', 'live/s1'), 'mid-c', 'b forgot it too');

# 3. updates keep a record past its expiry (2s); silence ends it

state('a', 'mid-c', 'down');
notify('a', 'call=publish&name=s1&type=live');
state('a', 'mid-c', 'up');
is(first('a', 'live/s1'), 'mid-b', 'recorded at mid-b again');

my $until = time + 3;
while (time < $until) {
    notify('a', 'call=update_publish&time=1&timestamp=1000&name=s1');
    sleep 0.25;
}
is(first('a', 'live/s1'), 'mid-b', 'updates kept it for 3s > expire=2s');

ok(wait_for(sub { first('a', 'live/s1') eq 'mid-c' }, 15),
   'without updates it expired');
unlike(admin('a'), qr/live\/s1/, 'and the admin list dropped it');

# 4. a reload keeps the records

state('a', 'mid-c', 'down');
notify('a', 'call=publish&name=s4&type=live');
state('a', 'mid-c', 'up');
like(admin('a'), qr/"id":"mid-b",[^}]*"keys":\["live\/s4"\]/,
     's4 recorded at mid-b (mid-c was down)');

{
    my $path = helper_dir() . '/a/conf/nginx.conf';
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh conf('a', 'v2');
    close $fh;
    kill 'HUP', $pid{a};
}

ok(wait_for(sub { (http_get($port{a}, '/ver'))[2] eq 'v2' }, 20),
   'a reloaded');
like(admin('a'), qr/"id":"mid-b",[^}]*"keys":\["live\/s4"\]/,
     'the record survived the reload');

# 5. a full zone: 1500 publishes into 32k of records

my @uris = map { "/tiny?call=publish&app=live&name=stream$_" } 1 .. 1500;
my @res = pipelined_get($port{a}, \@uris);
is(scalar(grep { $_->[0] == 302 } @res), 1500, '1500 publishes: 302');

my $list = (http_get($port{a}, '/tiny/admin?keys=1'))[2];
like($list, qr/"live\/stream1500"/, 'the newest is kept');
unlike($list, qr/"live\/stream1"/, 'the oldest went');
my ($count) = $list =~ /"records":(\d+)/;
ok($count > 50 && $count < 1500, "$count records fit");
like(slurp(helper_dir() . '/a/logs/error.log'),
     qr/\[warn\].*tier group "tiny": records full, 1 live stream record dropped/,
     'a warning says so');

for my $me (qw(a b)) {
    unlike(slurp(helper_dir() . "/$me/logs/error.log"),
           qr/\[(alert|crit|emerg|error)\]/, "no errors in ${me}'s log");
}

run_tests();

__DATA__

=== TEST 1: records size and expire are checked
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        records 16k;
    }
--- config
--- must_die
--- error_log
invalid records size "16k", at least 32768 bytes



=== TEST 2: a bad expire
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        records 1m expire=0;
    }
--- config
--- must_die
--- error_log
invalid records expire "expire=0", at least 1s



=== TEST 3: records twice
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        records 1m;
        records 2m;
    }
--- config
--- must_die
--- error_log
"records" is duplicate
