# Over 10,000 keys: weights share keys in proportion, removing a member
# moves only its keys (and keeps every other order), down/up at run time
# does the same and undoes it.  The answers come from a helper nginx
# through pipelined requests; the checks compare the module with itself
# across member sets, so they hold for any correct rendezvous hash.

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

# the test nginx, another instance with the same groups, must agree

(undef, undef, our $helper_answer) = http_get($port, '/four?key=live/s1');

my @keys = map { "live/stream$_" } 1 .. 10000;

sub ids {
    my ($path) = @_;
    my @r = pipelined_get($port, [map { "$path?key=$_" } @keys]);
    my $bad = grep { $_->[0] != 200 } @r;
    is($bad, 0, "$path: 10000 answers of 200");
    return map { join ' ', $_->[1] =~ /"id":"([^"]+)"/g } @r;
}

# weights: heavy (200) should hold 2/3 of the keys, light (100) 1/3

my %first;
$first{(split ' ', $_)[0]}++ for ids('/weighted');

my $ratio = $first{heavy} / $first{light};
ok($ratio > 1.9 && $ratio < 2.1,
   "twice the weight, twice the keys: $first{heavy}/$first{light} = "
   . sprintf('%.3f', $ratio));

# removing c: keys of a, b, d stay; c's keys spread over the others

my @four = ids('/four');
my @three = ids('/three');
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

=== TEST 1: two service instances with the same list agree
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config eval
$::groups
--- config eval
$::locations
--- request
GET /four?key=live/s1
--- response_body eval
$::helper_answer
--- no_error_log
[error]
