# tier_select with four workers (reuseport spreads the connections): an
# address that failed in one worker is skipped by every worker for
# fail_timeout; and a reload while a proxied request is in flight lets it
# finish, the new workers go on selecting.  live/s1 ranks mid-c, mid-b,
# mid-a (util/tier-hash.py); mid-c is a port nothing listens on.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use Time::HiRes qw(sleep time);

my %p = map { $_ => free_port() } qw(front a b dead backup svc);

sub conf {
    my ($ver) = @_;

    return <<"EOC";
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
worker_processes 4;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    tier_group mid {
        member mid-a 127.0.0.1:$p{a};
        member mid-b 127.0.0.1:$p{b};
        member mid-c 127.0.0.1:$p{dead};
    }
    upstream mid_http {
        tier_select max_fails=1 fail_timeout=60s;
        server 127.0.0.1:$p{backup} backup;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$p{front} reuseport;
        location ~ ^/live/(?<s>[^/.]+) {
            add_header X-Pid \$pid always;
            tier_lookup mid_http zone=tier:1m key=live/\$s
                        uri=/_tier/pick;
            proxy_pass http://mid_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            add_header X-Addr \$upstream_addr always;
            add_header X-Source \$tier_source always;
        }
        location = /_tier/pick {
            internal;
            proxy_pass http://127.0.0.1:$p{svc}/tier/pick;
        }
        location = /ver { return 200 "$ver"; }
    }

    # the mid tier: mid-b sends a large body slowly, for the reload
    server {
        listen 127.0.0.1:$p{a};
        location / { return 200 "mid-a\\n"; }
    }
    server {
        listen 127.0.0.1:$p{b};
        location = /live/s1/slow {
            alias ${\ helper_dir()}/sel/html/big;
            limit_rate 100k;
        }
        location / { return 200 "mid-b\\n"; }
    }
    # the enumeration service, with the log of the queries it gets
    server {
        listen 127.0.0.1:$p{svc};
        access_log logs/svc.log;
        location = /tier/pick { tier_enum mid; }
    }
    server {
        listen 127.0.0.1:$p{backup};
        location / { return 200 "backup\\n"; }
    }
}
EOC
}

my $pid = start_nginx_helper('sel', wait_port => $p{front},
                             conf => conf('v1'));
my $root = helper_dir() . '/sel';

{
    open my $fh, '>', "$root/html/big" or die "$root/html/big: $!\n";
    print $fh 'x' x 400_000;
    close $fh;
}

my ($st, $h, $body) = http_get($p{front}, '/live/s1.m3u8');
is($body, "mid-b\n", 'mid-c (dead) failed, mid-b answered');
is($h->{'x-addr'}, "127.0.0.1:$p{dead}, 127.0.0.1:$p{b}",
   'after trying mid-c');

my (%pids, $tried_dead, $n);
for (1 .. 80) {
    ($st, $h, $body) = http_get($p{front}, '/live/s1.m3u8');
    next unless $st == 200;
    $n++;
    $pids{$h->{'x-pid'}}++;
    $tried_dead++ if $h->{'x-addr'} =~ /:$p{dead}\b/;
}
is($n, 80, '80 answers');
ok(keys %pids >= 2, 'from ' . scalar(keys %pids) . ' workers');
is($tried_dead // 0, 0, 'no worker tried mid-c again within fail_timeout');

my @queries = (slurp("$root/logs/svc.log") // '') =~ /key=live\/s1&n=16 /g;
is(scalar @queries, 1,
   'the service saw one query for 81 requests over 4 workers (ttl 30s)');

# a reload with a request in flight: 400k at 100k/s from mid-b
my $s = http_start($p{front}, '/live/s1/slow');

{
    my $path = "$root/conf/nginx.conf";
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh conf('v2');
    close $fh;
    kill 'HUP', $pid;
}

my $deadline = time + 20;
my $ver = '';
while (time < $deadline) {
    $ver = (http_get($p{front}, '/ver'))[2];
    last if $ver eq 'v2';
    sleep 0.1;
}
is($ver, 'v2', 'new workers answer');

my $r = http_finish($s, 30);
is($r->{status}, 200, 'the request in flight over the reload finished');
is(length $r->{body}, 400_000, 'with its whole body');

($st, $h, $body) = http_get($p{front}, '/live/s2.m3u8');
is($st, 200, 'the new workers select');
like($h->{'x-source'}, qr/^(cache|fetched)$/, "source: $h->{'x-source'}");

unlike(slurp("$root/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alerts');

run_tests();

__DATA__

=== TEST 1: tier_lookup needs an upstream block with tier_select
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid { member mid-a 127.0.0.1:1935; }
    upstream plain { server 127.0.0.1:1; }
--- config
    location /x {
        tier_lookup plain zone=t:1m key=live/x uri=/_tier/pick;
        proxy_pass http://plain;
    }
--- must_die
--- error_log
tier_lookup: upstream "plain" in



=== TEST 2: servers of a tier_select upstream must be backup
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    upstream u {
        tier_select;
        server 127.0.0.1:1;
    }
--- config
--- must_die
--- error_log
must be "backup": the enumeration answer gives the others



=== TEST 3: tier_lookup needs zone=, key= and uri=
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    upstream u {
        tier_select;
        server 127.0.0.1:1 backup;
    }
--- config
    location /x {
        tier_lookup u zone=t:1m key=live/x;
        proxy_pass http://u;
    }
--- must_die
--- error_log
"tier_lookup" needs zone=, key= and uri=



=== TEST 4: bad parameters
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    upstream u {
        tier_select max_fails=x;
        server 127.0.0.1:1 backup;
    }
--- config
--- must_die
--- error_log
invalid parameter "max_fails=x"
