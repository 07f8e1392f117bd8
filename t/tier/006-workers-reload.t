# Run-time state is shared by all workers and kept over "nginx -s reload":
# a helper nginx with a master and four workers (reuseport spreads the
# connections), an admin change, then answers from many workers, then
# reloads with and without changes to the group.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use Time::HiRes qw(sleep time);

my $port = free_port();

sub conf {
    my ($ver, $extra) = @_;

    return <<"EOC";
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
worker_processes 4;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body;
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
$extra
    }
    server {
        listen 127.0.0.1:$port reuseport;
        add_header X-Pid \$pid always;
        location = /tier/pick { tier_enum mid; }
        location = /tier/admin { tier_admin mid; }
        location = /ver { return 200 "$ver"; }
    }
}
EOC
}

my $pid = start_nginx_helper('tier', wait_port => $port, conf => conf('v1', ''));
my $confpath = helper_dir() . '/tier/conf/nginx.conf';

# answers of many workers: [pids seen, answers with mid-b, versions seen]
sub survey {
    my (%pids, %versions, $with_b, $n);

    for (1 .. 200) {
        my ($st, $h, $body) = http_get($port, '/tier/pick?key=live/s1');
        next unless $st == 200;
        $n++;
        $pids{$h->{'x-pid'}}++;
        $with_b++ if $body =~ /"mid-b"/;
        $versions{$1}++ if $body =~ /"version":(\d+)/;
    }

    return ($n, scalar keys %pids, $with_b // 0, join ',', sort keys %versions);
}

sub reload {
    my ($ver, $extra) = @_;

    open my $fh, '>', $confpath or die "$confpath: $!\n";
    print $fh conf($ver, $extra);
    close $fh;

    kill 'HUP', $pid;

    my $deadline = time + 20;

    while (time < $deadline) {
        my $new = 0;
        for (1 .. 20) {
            my (undef, undef, $body) = http_get($port, '/ver');
            $new++ if $body eq $ver;
        }
        return 1 if $new == 20;
        sleep 0.1;
    }

    return 0;
}

my ($st, undef, $body) = http_request('POST', $port,
                                      '/tier/admin?id=mid-b&state=down');
is($st, 200, 'mid-b set down through one worker');
like($body, qr/"version":2,/, 'version 2');

my ($n, $workers, $with_b, $versions) = survey();
is($n, 200, '200 answers');
ok($workers >= 2, "answers came from $workers workers");
is($with_b, 0, 'no worker lists mid-b');
is($versions, '2', 'every worker answers version 2');

ok(reload('v2', ''), 'reloaded: new workers answer');

($n, $workers, $with_b, $versions) = survey();
is($n, 200, '200 answers after the reload');
ok($workers >= 2, "answers came from $workers new workers");
is($with_b, 0, 'mid-b still down after the reload');
is($versions, '2', 'version kept: the group did not change');

ok(reload('v3', '        member mid-d 10.0.0.6:1935;'),
   'reloaded with a new member');

(undef, undef, $body) = http_get($port, '/tier/admin');
like($body, qr/"version":3,/, 'a changed group bumps the version');
like($body, qr/"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"down"/,
     'mid-b still down');
like($body, qr/"id":"mid-d","addr":"10.0.0.6:1935","weight":100,"state":"up"/,
     'the new member takes its configured state');

($st, undef, $body) = http_request('POST', $port,
                                   '/tier/admin?id=mid-b&state=up');
like($body, qr/"version":4,.*"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"up"/,
     'mid-b up again, version 4');

($n, $workers, $with_b, $versions) = survey();
is($with_b, 200, 'every worker lists mid-b again');
is($versions, '4', 'every worker answers version 4');

my $alerts = `grep -c -E '\\[(alert|emerg|crit)\\]' ${\ helper_dir()}/tier/logs/error.log`;
chomp $alerts;
is($alerts, '0', 'no alerts in the helper error.log');

run_tests();

__DATA__

=== TEST 1: a single worker starts at version 1 whatever other nginx did
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
    }
--- config
    location = /tier/admin { tier_admin mid; }
--- request
GET /tier/admin
--- response_body
{"group":"mid","version":1,"members":[{"id":"mid-a","addr":"10.0.0.3:1935","weight":100,"state":"up","records":0},{"id":"mid-b","addr":"10.0.0.4:1935","weight":100,"state":"up","records":0},{"id":"mid-c","addr":"10.0.0.5:1935","weight":100,"state":"up","records":0}]}
--- no_error_log
[error]
