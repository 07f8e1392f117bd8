# Run-time state is shared by all workers and kept over "nginx -s reload":
# a helper nginx with a master and four workers (reuseport spreads the
# connections), an admin change, then answers from many workers, then
# reloads: a no-op reload keeps the version; adding, removing,
# re-addressing and re-weighting a member bump it; a changed configured
# state wins over the run-time one, an unchanged one does not; slots of
# removed ids are reused once the table is full.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use Time::HiRes qw(sleep time);

my $port = free_port();

sub conf {
    my ($ver, $extra, $members) = @_;

    $members //= <<"EOM";
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
EOM

    return <<"EOC";
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
worker_processes 4;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body;
    tier_group mid {
$members$extra
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
    my ($ver, $extra, $members) = @_;

    open my $fh, '>', $confpath or die "$confpath: $!\n";
    print $fh conf($ver, $extra, $members);
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


# the admin listing: (version, {id => "addr weight state"})
sub listing {
    my (undef, undef, $body) = http_get($port, '/tier/admin');
    my ($v) = $body =~ /"version":(\d+),/;
    my %m;
    $m{$1} = "$2 $3 $4"
        while $body =~ /\{"id":"([^"]+)","addr":"([^"]+)","weight":(\d+),"state":"(\w+)"[,}]/g;
    return ($v // 0, \%m);
}

my $abc = "        member mid-a 10.0.0.3:1935;\n"
        . "        member mid-b 10.0.0.4:1935;\n";

# removal: mid-d goes
ok(reload('v4', '', $abc . "        member mid-c 10.0.0.5:1935;\n"),
   'reloaded without mid-d');
my ($v, $m) = listing();
is($v, 5, 'removing a member bumps the version');
ok(!exists $m->{'mid-d'}, 'mid-d is gone');

# a no-op reload
ok(reload('v5', '', $abc . "        member mid-c 10.0.0.5:1935;\n"),
   'reloaded with the same group');
($v) = listing();
is($v, 5, 'a no-op reload keeps the version');

# re-address
ok(reload('v6', '', $abc . "        member mid-c 10.0.0.7:1935;\n"),
   'reloaded with mid-c re-addressed');
($v, $m) = listing();
is($v, 6, 're-addressing a member bumps the version');
is($m->{'mid-c'}, '10.0.0.7:1935 100 up', 'mid-c at its new address');

# re-weight
ok(reload('v7', '', $abc . "        member mid-c 10.0.0.7:1935 weight=300;\n"),
   'reloaded with mid-c re-weighted');
($v, $m) = listing();
is($v, 7, 're-weighting a member bumps the version');
is($m->{'mid-c'}, '10.0.0.7:1935 300 up', 'mid-c with its new weight');

# a changed configured state wins: mid-c up at run time, now configured
# down
ok(reload('v8', '', $abc . "        member mid-c 10.0.0.7:1935 weight=300 down;\n"),
   'reloaded with mid-c configured down');
($v, $m) = listing();
is($v, 8, 'a changed configured state bumps the version');
is($m->{'mid-c'}, '10.0.0.7:1935 300 down',
   'the changed configured state wins');

# an unchanged configured state does not: mid-c set up at run time, then
# a reload with the same config keeps it up
(undef, undef, $body) = http_request('POST', $port,
                                     '/tier/admin?id=mid-c&state=up');
like($body, qr/"version":9,/, 'mid-c up at run time: version 9');
ok(reload('v9', '', $abc . "        member mid-c 10.0.0.7:1935 weight=300 down;\n"),
   'reloaded with the same config');
($v, $m) = listing();
is($v, 9, 'version kept');
is($m->{'mid-c'}, '10.0.0.7:1935 300 up',
   'the run-time state stays when the configured one did not change');

# slot reuse: 256 new ids, then 256 others: 3 + 1 + 512 ids in all, more
# than the 512 slots; the slots of ids gone from the configuration are
# reused, one per member
for my $set (qw(x y)) {
    my $members = join '', map { "        member $set$_ 10.1.0.1:$_;\n" }
                           1 .. 256;
    ok(reload("v-$set", '', $members), "reloaded with 256 members $set*");
}

($v, $m) = listing();
is(scalar(grep { /^y\d+$/ } keys %$m), 256, '256 members y1 .. y256');

for my $id (qw(y1 y128 y256)) {
    ($st) = http_request('POST', $port, "/tier/admin?id=$id&state=down");
    is($st, 200, "$id set down");
}

($v, $m) = listing();
is(join(' ', sort grep { $m->{$_} =~ /down$/ } keys %$m), 'y1 y128 y256',
   'exactly those three are down: a slot of its own each');
my $before = $v;

# and each id keeps its slot, so its run-time state, over a reload
ok(reload('v-y2', '', join '', map { "        member y$_ 10.1.0.1:$_;\n" }
                              1 .. 256),
   'reloaded with the same 256 members');
($v, $m) = listing();
is(join(' ', sort grep { $m->{$_} =~ /down$/ } keys %$m), 'y1 y128 y256',
   'the same three are down after the reload');
is($v, $before, 'version kept');

my $alerts = `grep -c -E '\\[(alert|emerg|crit)\\]' ${\ helper_dir()}/tier/logs/error.log`;
chomp $alerts;
is($alerts, '0', 'no alerts in the helper error.log');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helper
stop_helpers();

done_testing();
