# Large groups: the module's best n (n=3 and n=all) over 256 members of
# mixed weights and 64 of equal weight agrees with util/tier-hash.py for
# 50 keys each.  Guards the shortcut that skips the log() of members
# which cannot enter the n best: it must never change an answer.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Pipeline;

my $port = free_port();

my @big = map { [sprintf('m%03d', $_), 1 + ($_ * 37) % 300] } 0 .. 255;
my @even = map { [sprintf('e%02d', $_), 100] } 0 .. 63;

sub group {
    my ($name, $members) = @_;
    my $i = 0;
    return "    tier_group $name {\n"
        . join('', map { sprintf "        member %s 10.1.%d.%d:1935 weight=%d;\n",
                         $_->[0], $i / 200, $i++ % 200 + 1, $_->[1] }
                   @$members)
        . "    }\n";
}

start_nginx_helper('tier', wait_port => $port, conf => <<"EOC");
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_http_tier_module.so;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
${\ group('big', \@big)}${\ group('even', \@even)}
    server {
        listen 127.0.0.1:$port;
        location = /big { tier_enum big; }
        location = /even { tier_enum even; }
    }
}
EOC

for my $case (['big', \@big], ['even', \@even]) {
    my ($name, $members) = @$case;
    my @keys = map { "live/k$_" } 1 .. 50;
    my @ids = map { "$_->[0]:$_->[1]" } @$members;

    my @res = pipelined_get($port, [(map { "/$name?key=$_&n=3" } @keys),
                                    (map { "/$name?key=$_" } @keys[0 .. 9])]);
    my ($agree, $all) = (0, 0);

    for my $i (0 .. $#keys) {
        my @ref = split ' ', `python3 util/tier-hash.py $keys[$i] @ids`;
        my @got = $res[$i][1] =~ /"id":"([^"]+)"/g;
        $agree++ if "@got" eq "@ref[0 .. 2]";

        if ($i < 10) {
            my @full = $res[50 + $i][1] =~ /"id":"([^"]+)"/g;
            $all++ if "@full" eq "@ref";
        }
    }

    is($agree, 50, "$name: n=3 agrees with util/tier-hash.py for 50 keys");
    is($all, 10, "$name: the whole order agrees for 10 keys");
}

run_tests();

__DATA__

=== TEST 1: n=3 of a group of one is that one
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
--- http_config
    tier_group one {
        member solo 10.0.0.3:1935;
    }
--- config
    location = /one { tier_enum one; }
--- request
GET /one?key=live/s1&n=3
--- response_body
{"group":"one","key":"live/s1","version":1,"ttl":30,"servers":[{"id":"solo","addr":"10.0.0.3:1935"}]}
--- no_error_log
[error]
