# The three tiers end to end, every role a real nginx on its own 127.0.0.x
# address: an origin (nginx-rtmp) where ffmpeg publishes; mid-tier servers
# mid-a..mid-c (nginx-rtmp cutting HLS; their HTTP, with HLS fast start,
# a separate nginx each so that it can be stopped alone); an edge (RTMP
# on_play and an HTTP tier_select upstream of the mids' HTTP ports); the
# enumeration service.  mid-d runs from the start but joins the group
# only with a reload of the service.
#
#   RTMP: the origin's push lands on the member util/tier-hash.py names,
#         and only there; a player at the edge decodes frames pulled from
#         that member (its rtmp access log shows the pull).
#   HTTP: playlists through the edge come from that member, the first one
#         held by fast start (the edge passes the terminal on) near live.
#   Continuity: a fourth member that would rank first for the live stream
#         leaves it where it is; a stream published after goes to it.
#   Failover: the first member's HTTP stopped, the next one is asked; the
#         service stopped, cached answers serve until the stale limit,
#         then the backup server.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

my $rtmp = $ENV{TEST_NGINX_RTMP_MODULE};
my $mods = $ENV{TEST_NGINX_MODULE_DIR};
my $dir = helper_dir();
my @mids = qw(mid-a mid-b mid-c mid-d);
my %ip = (origin => '127.0.0.2', edge => '127.0.0.3',
          'mid-a' => '127.0.0.11', 'mid-b' => '127.0.0.12',
          'mid-c' => '127.0.0.13', 'mid-d' => '127.0.0.14');
my %port = map { $_ => free_port() } qw(rtmp http stat svc edge backup);

sub up {
    my ($host, $port, $secs) = @_;
    my $deadline = time + ($secs // 10);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                      Proto => 'tcp');
        return 1 if $s;
        sleep 0.05;
    }
    return 0;
}

# GET, HTTP/1.0: [status, {headers}, body]
sub get {
    my ($host, $port, $uri, $ua) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 15)
        or return [0, {}, ''];
    print $s "GET $uri HTTP/1.0\r\nHost: x\r\nUser-Agent: "
             . ($ua // 'test') . "\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () }
            split /\r\n/, $head // '';
    my ($st) = ($head // '') =~ m{^HTTP/\S+ (\d+)};
    return [$st // 0, \%h, $body // ''];
}


sub order {
    my ($key, @ids) = @_;
    return split ' ', `python3 util/tier-hash.py $key @ids`;
}

# the stream names: s1's best of mid-a..c is X, of mid-a..d is mid-d (so
# only its record keeps it on X); s2's best of mid-a..d is mid-d
my ($s1, $s2);
for my $i (1 .. 500) {
    my $n = "e2e$$" . "x$i";
    if (!$s1 && (order("live/$n", @mids))[0] eq 'mid-d') {
        $s1 = $n;
    } elsif ($s1 && !$s2 && (order("live/$n", @mids))[0] eq 'mid-d') {
        $s2 = $n;
    }
    last if $s2;
}
my @o1 = order("live/$s1", @mids[0 .. 2]);
my $best = $o1[0];
my $next = $o1[1];
diag("s1 $s1: $best then $next (mid-d once it joins); s2 $s2");

# --- the service ---------------------------------------------------------

sub svc_conf {
    my ($four) = @_;
    my $members = join '', map {
        "        member $_ $ip{$_}:%d;\n"
    } $four ? @mids : @mids[0 .. 2];

    return <<"EOC";
load_module $mods/ngx_http_tier_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    client_body_temp_path client_body;
    tier_group mid {
${\ ($members =~ s/%d/$port{rtmp}/gr)}        records 1m expire=30s;
    }
    tier_group mid_http {
${\ ($members =~ s/%d/$port{http}/gr)}        records group=mid;
    }
    server {
        listen 127.0.0.1:$port{svc};
        location = /tier/pick { tier_enum mid; }
        location = /tier/http { tier_enum mid_http; tier_enum_ttl 1s; }
        location = /tier/admin { tier_admin mid; }
        location = /ver { return 200 "$four"; }
    }
}
EOC
}

my $svc_pid = start_nginx_helper('svc', wait_port => $port{svc},
                                 conf => svc_conf(0));

# --- the mid tier: RTMP + HLS, and HTTP with fast start -----------------

for my $m (@mids) {
    mkdir "$dir/hls-$m";

    start_nginx_helper("$m-rtmp", conf => <<"EOC");
load_module $rtmp;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen $ip{$m}:$port{stat};
        location /stat { rtmp_stat all; }
    }
}
rtmp {
    server {
        listen $ip{$m}:$port{rtmp};
        application live {
            live on;
            hls on;
            hls_path $dir/hls-$m;
            hls_fragment 1s;
            hls_playlist_length 6s;
        }
    }
}
EOC

    start_nginx_helper("$m-http", conf => <<"EOC");
load_module $mods/ngx_http_hls_fast_start_module.so;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log logs/access.log;
    hls_fast_start_zone fs:1m;
    server {
        listen $ip{$m}:$port{http};
        location /hls/ {
            alias $dir/hls-$m/;
            hls_fast_start fs;
            hls_fast_start_fragments 2;
            hls_fast_start_wait 3s;
            # the terminal, as the edge passes it on
            hls_fast_start_key \$http_x_forwarded_for\$http_user_agent;
            add_header X-Fast-Start \$hls_fast_start always;
            add_header X-Mid $m always;
        }
    }
}
EOC

    ok(up($ip{$m}, $port{rtmp}) && up($ip{$m}, $port{http}), "$m is up");
}

# --- the origin and the edge ---------------------------------------------

start_nginx_helper('origin', conf => <<"EOC");
load_module $rtmp;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
rtmp {
    server {
        listen $ip{origin}:$port{rtmp};
        notify_update_timeout 2s;
        application live {
            live on;
            on_publish http://127.0.0.1:$port{svc}/tier/pick;
            on_publish_done http://127.0.0.1:$port{svc}/tier/pick;
            on_update http://127.0.0.1:$port{svc}/tier/pick;
        }
    }
}
EOC

start_nginx_helper('edge', conf => <<"EOC");
load_module $mods/ngx_http_tier_module.so;
load_module $rtmp;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    upstream mid_http {
        tier_select max_fails=1 fail_timeout=30s;
        server $ip{edge}:$port{backup} backup;
        keepalive 8;
    }
    server {
        listen $ip{edge}:$port{edge};
        location ~ "^/hls/(?<stream>[A-Za-z0-9_]+)(-[0-9]+\\.ts|\\.m3u8)\$" {
            tier_lookup mid_http zone=tier:1m key=live/\$stream
                        uri=/_tier/pick stale=4s;
            proxy_pass http://mid_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_next_upstream error timeout;
            add_header X-Tier-Peer \$tier_peer always;
            add_header X-Tier-Source \$tier_source always;
            add_header X-Upstream \$upstream_addr always;
        }
        location = /_tier/pick {
            internal;
            proxy_pass http://127.0.0.1:$port{svc}/tier/http;
        }
    }
    server {
        listen $ip{edge}:$port{backup};
        location / { return 200 "backup\\n"; }
    }
}
rtmp {
    server {
        listen $ip{edge}:$port{rtmp};
        application live {
            live on;
            on_play http://127.0.0.1:$port{svc}/tier/pick;
            on_publish http://127.0.0.1:$port{svc}/tier/pick;
        }
    }
}
EOC

ok(up($ip{origin}, $port{rtmp}) && up($ip{edge}, $port{edge})
   && up($ip{edge}, $port{rtmp}), 'origin and edge are up');

# --- RTMP: the push goes to the named member, the edge pulls from it ----

start_publisher('publisher', url => "rtmp://$ip{origin}:$port{rtmp}/live/$s1");

ok(wait_for(sub { -s "$dir/hls-$best/$s1.m3u8" }, 30),
   "the origin pushed $s1 to $best, which cuts HLS");

my $admin = get('127.0.0.1', $port{svc}, '/tier/admin?keys=1')->[2];
like($admin, qr/"id":"$best",[^}]*"keys":\["live\/$s1"\]/,
     "the service recorded live/$s1 at $best");

# the stream's clients at a member: the origin's push, the edges' pulls
sub clients {
    my ($m, $name) = @_;
    my $xml = get($ip{$m}, $port{stat}, '/stat')->[2];
    return $xml =~ m{<stream>\s*<name>\Q$name\E</name>.*?<nclients>(\d+)<}s
           ? $1 : 0;
}

is(clients($best, $s1), 1, "$best has one client for $s1: the origin");

my $frames = count_frames("rtmp://$ip{edge}:$port{rtmp}/live/$s1",
                          seconds => 2, timeout => 30);
ok($frames > 0, "a player at the edge decoded $frames frames");

# a player that stays, so that the edge's pull stays too
start_helper('player', cmd => [$ENV{TEST_NGINX_FFMPEG} || 'ffmpeg',
    '-loglevel', 'error', '-i', "rtmp://$ip{edge}:$port{rtmp}/live/$s1",
    '-t', '60', '-f', 'null', '-']);

ok(wait_for(sub { clients($best, $s1) == 2 }, 20),
   "$best serves the edge's pull: two clients");

for my $m (grep { $_ ne $best } @mids) {
    ok(!-e "$dir/hls-$m/$s1.m3u8" && clients($m, $s1) == 0,
       "$m never saw $s1");
}

stop_helper('player');

# --- HTTP through the edge: the named member, fast start ----------------

my $r = get($ip{edge}, $port{edge}, "/hls/$s1.m3u8", 'player-1');
is($r->[0], 200, 'the first playlist through the edge: 200');
is($r->[1]{'x-mid'}, $best, "served by $best");
is($r->[1]{'x-tier-peer'}, "$ip{$best}:$port{http}", '$tier_peer says so');
is($r->[1]{'x-tier-source'}, 'fetched', 'the list was fetched');
is($r->[1]{'x-fast-start'}, 'held', 'held by fast start at the mid tier');

my @segs = $r->[2] =~ /^($s1-\d+\.ts)$/mg;
is(scalar @segs, 2, 'two fragments: the start is near live');
my @disk = (slurp("$dir/hls-$best/$s1.m3u8") // '') =~ /^($s1-\d+\.ts)$/mg;
my ($held) = $segs[-1] =~ /-(\d+)\.ts$/;
my ($live) = $disk[-1] =~ /-(\d+)\.ts$/;
ok($live - $held <= 1, "the newest fragment ($held) is live ($live)");

$r = get($ip{edge}, $port{edge}, "/hls/$s1.m3u8", 'player-1');
is($r->[1]{'x-fast-start'}, 'pass', "the same terminal's reload: stock");
is($r->[1]{'x-tier-source'}, 'cache', 'the list came from the cache');

$r = get($ip{edge}, $port{edge}, "/hls/$segs[-1]", 'player-1');
is($r->[0], 200, 'a fragment through the edge');
ok(length $r->[2] > 1000, 'with media in it');

# --- continuity: a fourth member joins with a reload of the service -----

{
    my $path = "$dir/svc/conf/nginx.conf";
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh svc_conf(1);
    close $fh;
    kill 'HUP', $svc_pid;
}

ok(wait_for(sub { get('127.0.0.1', $port{svc}, '/ver')->[2] eq '1' }, 20),
   'the service reloaded with mid-d');

# old workers may answer a little longer: until mid-d is in the answers
my $pick = '';
ok(wait_for(sub {
       $pick = get('127.0.0.1', $port{svc}, "/tier/pick?key=live/$s1")->[2];
       $pick =~ /"id":"mid-d"/ }, 20),
   'the answers list mid-d');
like($pick, qr/"servers":\[\{"id":"$best",.*"id":"mid-d"/,
     "live/$s1 stays at $best though mid-d now ranks first");

my $http = '';
ok(wait_for(sub {
       $http = get('127.0.0.1', $port{svc}, "/tier/http?key=live/$s1")->[2];
       $http =~ /"id":"mid-d"/ }, 20),
   'the HTTP answers list mid-d');
like($http, qr/"servers":\[\{"id":"$best",/,
     "so does the HTTP group, through the RTMP group's records");

# the edge's cached answer expires (ttl 1s): wait for its refresh to reach
# the reloaded service, then the edge must still send s1 to $best
my $mark = length(slurp("$dir/svc/logs/access.log") // '');
ok(wait_for(sub {
       get($ip{edge}, $port{edge}, "/hls/$s1.m3u8", 'player-2');
       substr(slurp("$dir/svc/logs/access.log") // '', $mark)
           =~ m{GET /tier/http\?key=live/$s1&n=16 } }, 10),
   'the edge refreshed its answer from the reloaded service');
$r = get($ip{edge}, $port{edge}, "/hls/$s1.m3u8", 'player-2');
is($r->[1]{'x-mid'}, $best, "edges keep reaching $best over HTTP");

$frames = count_frames("rtmp://$ip{edge}:$port{rtmp}/live/$s1",
                       seconds => 1, timeout => 30);
ok($frames > 0, "and over RTMP ($frames frames)");

start_publisher('publisher2',
                url => "rtmp://$ip{origin}:$port{rtmp}/live/$s2");
ok(wait_for(sub { -s "$dir/hls-mid-d/$s2.m3u8" }, 30),
   "a stream published after the change ($s2) goes to mid-d");

# --- failover: the first member's HTTP stops ----------------------------

stop_helper("$best-http");
ok(wait_for(sub { !up($ip{$best}, $port{http}, 0.2) }, 10),
   "${best}'s HTTP is down");

$r = get($ip{edge}, $port{edge}, "/hls/$s1.m3u8", 'player-3');
my $second = (grep { $_ ne $best } order("live/$s1", @mids))[0];
is($r->[1]{'x-tier-peer'}, "$ip{$second}:$port{http}",
   "the next in the enumerated order, $second, is asked");
like($r->[1]{'x-upstream'},
     qr/^\Q$ip{$best}:$port{http}\E, \Q$ip{$second}:$port{http}\E$/,
     "after $best failed");

# --- the service stops: stale answers, then the backup -----------------

# s2 (at mid-d, whose HTTP is up) from here on; a fresh answer first,
# so that the stale limit (4s) counts from now
$mark = length(slurp("$dir/svc/logs/access.log") // '');
ok(wait_for(sub {
       get($ip{edge}, $port{edge}, "/hls/$s2.m3u8", 'p3');
       substr(slurp("$dir/svc/logs/access.log") // '', $mark)
           =~ m{GET /tier/http\?key=live/$s2&n=16 [^"]*" 200 } }, 10),
   'the edge has a fresh answer for s2');

stop_helper('svc');

my @seen;
ok(wait_for(sub {
       my $x = get($ip{edge}, $port{edge}, "/hls/$s2.m3u8", 'p3');
       push @seen, $x->[1]{'x-tier-source'};
       $x->[1]{'x-tier-source'} eq 'stale' && $x->[1]{'x-mid'} eq 'mid-d' },
     10),
   'the service down: the last good list, stale')
    or diag("sources seen: @seen");

ok(wait_for(sub {
       my $x = get($ip{edge}, $port{edge}, "/hls/$s2.m3u8", 'p3');
       $x->[1]{'x-tier-source'} eq 'backup' && $x->[2] eq "backup\n" }, 15),
   'past the stale limit: the backup server');

like(slurp("$dir/edge/logs/error.log"),
     qr/live lookup: "live\/$s2 0" failed/,
     'the edge logged the failed lookups');
unlike(slurp("$dir/edge/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alerts at the edge');

stop_helper('publisher');
stop_helper('publisher2');

run_tests();

__DATA__

=== TEST 1: an HTTP group of the mid tier with the RTMP group's records
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid { member mid-a 127.0.0.11:1935; }
    tier_group mid_http {
        member mid-a 127.0.0.11:8080;
        records group=mid;
    }
--- config
    location = /tier/http { tier_enum mid_http; }
--- request
GET /tier/http?key=live/s1
--- response_body_like eval
qr/"servers":\[\{"id":"mid-a","addr":"127.0.0.11:8080"\}\]/
