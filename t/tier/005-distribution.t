# Over 10,000 keys: every order the module gives is the one the
# independent reference (util/tier-hash.py) computes for the same members;
# weights share keys in proportion, removing a member moves only its keys
# (and keeps every other order), down/up at run time does the same and
# undoes it.  The answers come from a helper nginx through pipelined
# requests.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Pipeline;

our $groups = <<'EOC';
    tier_group four {
        member a 127.0.0.1:1001;
        member b 127.0.0.1:1002;
        member c 127.0.0.1:1003;
        member d 127.0.0.1:1004;
    }
    tier_group three {
        member a 127.0.0.1:1001;
        member b 127.0.0.1:1002;
        member d 127.0.0.1:1004;
    }
    tier_group weighted {
        member heavy 127.0.0.1:1001 weight=200;
        member light 127.0.0.1:1002 weight=100;
    }
EOC

our $locations = <<'EOC';
        location = /four { tier_enum four; }
        location = /three { tier_enum three; }
        location = /weighted { tier_enum weighted; }
        location = /admin { tier_admin four; }
EOC

my $port = free_port();

start_nginx_helper('tier', wait_port => $port, conf => <<"EOC");
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path client_body;
$groups
    server {
        listen 127.0.0.1:$port;
$locations
    }
}
EOC

my @keys = map { "live/stream$_" } 1 .. 10000;

# the orders util/tier-hash.py gives for @keys: one python3 process, the
# keys on its stdin, one order per line
sub reference {
    my (@members) = @_;
    my $py = <<'EOP';
import importlib.util, sys
spec = importlib.util.spec_from_file_location("th", "util/tier-hash.py")
th = importlib.util.module_from_spec(spec)
spec.loader.exec_module(th)
members = []
for a in sys.argv[1:]:
    i, _, w = a.partition(":")
    members.append((i.encode(), int(w) if w else 100))
for key in sys.stdin.read().split():
    print(" ".join(i.decode() for i in th.order(key.encode(), members)))
EOP
    my $in = helper_dir() . '/keys.txt';
    open my $fh, '>', $in or die "$in: $!\n";
    print $fh map { "$_\n" } @keys;
    close $fh;

    my @out = `python3 -c '$py' @members < $in`;
    chomp @out;
    return @out;
}

# the first key whose order differs from the reference's, or 'none'
sub first_difference {
    my ($got, $want) = @_;
    for my $i (0 .. $#keys) {
        return "$keys[$i]: \"$got->[$i]\" vs \"$want->[$i]\""
            if ($got->[$i] // '') ne ($want->[$i] // '');
    }
    return 'none';
}

our %ref = (four => [reference(qw(a b c d))],
            three => [reference(qw(a b d))],
            weighted => [reference(qw(heavy:200 light:100))]);

is(scalar @{ $ref{four} }, 10000, 'the reference gave 10000 orders');

# the test nginx must give the reference's answer too
my %addr = (a => 1001, b => 1002, c => 1003, d => 1004);
our $want_s1 = join ',',
    map { sprintf '{"id":"%s","addr":"127.0.0.1:%d"}', $_, $addr{$_} }
    split ' ', `python3 util/tier-hash.py live/s1 a b c d`;

sub ids {
    my ($path) = @_;
    my @r = pipelined_get($port, [map { "$path?key=$_" } @keys]);
    my $bad = grep { $_->[0] != 200 } @r;
    is($bad, 0, "$path: 10000 answers of 200");
    return map { join ' ', $_->[1] =~ /"id":"([^"]+)"/g } @r;
}

# weights: heavy (200) should hold 2/3 of the keys, light (100) 1/3

my @weighted = ids('/weighted');
is(first_difference(\@weighted, $ref{weighted}), 'none',
   'weighted: every order is the reference\'s');

my %first;
$first{(split ' ', $_)[0]}++ for @weighted;

my $ratio = $first{heavy} / $first{light};
ok($ratio > 1.9 && $ratio < 2.1,
   "twice the weight, twice the keys: $first{heavy}/$first{light} = "
   . sprintf('%.3f', $ratio));

# removing c: keys of a, b, d stay; c's keys spread over the others

my @four = ids('/four');
my @three = ids('/three');

is(first_difference(\@four, $ref{four}), 'none',
   'four: every order is the reference\'s');
is(first_difference(\@three, $ref{three}), 'none',
   'three: every order is the reference\'s');
my ($kept, $moved, $wrong, %to) = (0, 0, 0);

for my $i (0 .. $#keys) {
    my @o = grep { $_ ne 'c' } split ' ', $four[$i];
    $wrong++ if join(' ', @o) ne $three[$i];

    if ((split ' ', $four[$i])[0] eq 'c') {
        $moved++;
        $to{(split ' ', $three[$i])[0]}++;

    } else {
        $kept++ if (split ' ', $four[$i])[0] eq (split ' ', $three[$i])[0];
    }
}

is($wrong, 0, 'without c, every order is the old one minus c');
is($kept + $moved, 10000, "only c's keys moved ($moved of 10000)");
ok($moved > 2250 && $moved < 2750, "c held about a quarter ($moved)");
ok(($to{$_} // 0) > $moved / 3 * 0.8, "c's keys spread to $_ ($to{$_})")
    for qw(a b d);

# c down at run time: the same as the configuration without c; up again:
# the same as before

my ($st, undef, $body) = http_request('POST', $port,
                                      '/admin?id=c&state=down');
is($st, 200, 'c set down');

my @down = ids('/four');
is_deeply(\@down, \@three, 'c down answers like the group without c');

($st) = http_request('POST', $port, '/admin?id=c&state=up');
is($st, 200, 'c set up');

my @up = ids('/four');
is_deeply(\@up, \@four, 'c up again: every answer as before');

run_tests();

__DATA__

=== TEST 1: the test nginx gives the reference's order too
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config eval
$::groups
--- config eval
$::locations
--- request
GET /four?key=live/s1
--- response_body eval
'{"group":"four","key":"live/s1","version":1,"ttl":30,"servers":['
. $::want_s1 . "]}\n"
--- no_error_log
[error]
