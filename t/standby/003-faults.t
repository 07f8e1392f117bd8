# When the standby says no or misbehaves, the primary serves the media
# itself: garbage, URLs on another host, port or scheme, bytes that would
# break a header, error pages, an overloaded standby (held connections
# over max_conns), a stopped one, one that never answers.  A failing
# standby is not asked again for standby_redirect_retry (counted in its
# access log).  Real nginx processes on loopback.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my $fp = free_port();      # a fake standby: crafted answers
my $sp = free_port();      # a real standby
my $bp = free_port();      # a socket that never answers
my $pp = free_port();      # the primary
my $rp = free_port();      # the primary, asking the real standby

# the fake standby answers by the uri asked about
my %answer = (
    g1  => [200, 'garbage'],
    g2  => [200, '{"url":"http://evil.example.com/media/g2.bin",'
                 . '"host":"evil.example.com","port":80,'
                 . '"path":"/media/g2.bin"}'],
    g3  => [200, '{"url":"http://127.0.0.1:1/media/g3.bin",'
                 . '"host":"127.0.0.1","port":1,"path":"/media/g3.bin"}'],
    g4  => [200, "{\"url\":\"ftp://127.0.0.1:$fp/media/g4.bin\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,"
                 . '"path":"/media/g4.bin"}'],
    g5  => [200, "{\"url\":\"http://127.0.0.1:$fp/a\\r\\nSet-Cookie: x=1\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,"
                 . '"path":"/a\r\nSet-Cookie: x=1"}'],
    g6  => [200, "{\"url\":\"http://127.0.0.1:$fp/a\\u0000b\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,"
                 . '"path":"/a\u0000b"}'],
    g7  => [200, "{\"url\":\"http://127.0.0.1:$fp/a b\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,\"path\":\"/a b\"}"],
    g8  => [200, "{\"url\":\"http://127.0.0.1:$fp\@evil.example.com/x\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,\"path\":\"/x\"}"],
    g9  => [200, "{\"url\":\"http://127.0.0.1:$fp/media/g9.bin\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp"],
    g10 => [404, '<html>404 Not Found</html>'],
    g11 => [500, '{"error":"internal"}'],
    g12 => [200, "{\"url\":\"http://127.0.0.1:$fp/media/g12.bin\","
                 . "\"host\":\"127.0.0.2\",\"port\":$fp,"
                 . '"path":"/media/g12.bin"}'],
    g13 => [200, "{\"url\":\"http://127.0.0.1:$fp/media/g13.bin?x=1\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,"
                 . '"path":"/media/g13.bin?x=1"}'],
    ok  => [200, "{\"url\":\"http://127.0.0.1:$fp/media/ok.bin\","
                 . "\"host\":\"127.0.0.1\",\"port\":$fp,"
                 . '"path":"/media/ok.bin"}'],
);

my $ifs = join '', map {
    my ($st, $body) = @{ $answer{$_} };
    $body =~ s/\\/\\\\/g;
    $body =~ s/'/\\'/g;
    "            if (\$arg_uri = /media/$_.bin) { return $st '$body'; }\n"
} sort keys %answer;

write_file("$dir/$_/media/$_.bin", "$_ primary\n") for ('primary');
for my $k (keys %answer) {
    write_file("$dir/primary/media/$k.bin", "$k here\n");
}

start_nginx_helper('fake', wait_port => $fp, conf => standby_conf(
    port => $fp, no_check => 1, server => <<"_EOC_"));
        location = /standby/check {
$ifs
            return 200 'garbage';
        }
_EOC_

start_nginx_helper('standby', wait_port => $sp, conf => standby_conf(
    port => $sp, check => 'max_conns=3'));

my $blackhole = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $bp, Listen => 64,
                                      ReuseAddr => 1)
    or die "listen: $!\n";

start_nginx_helper('primary', wait_port => $pp, valgrind => 1,
                   conf => primary_conf(port => $pp, standby => $fp,
    media => 'standby_redirect_retry 0;', server => <<"_EOC_"));
        location /win/ {
            standby_redirect /_win/check?uri=\$standby_uri;
            standby_redirect_retry 2s;
            alias $dir/primary/media/;
        }
        location /_win/ {
            internal;
            proxy_pass http://127.0.0.1:$fp/standby/;
        }
        location /hole/ {
            standby_redirect /_hole/check?uri=\$standby_uri;
            alias $dir/primary/media/;
        }
        location /_hole/ {
            internal;
            proxy_pass http://127.0.0.1:$bp/standby/;
            proxy_read_timeout 300ms;
        }
    }
    # on its own port: /media/ there asks the real standby
    server {
        listen 127.0.0.1:$rp;
        access_log logs/access.log primary;
        location /media/ {
            standby_redirect /_real/check?uri=\$standby_uri;
            standby_redirect_retry 0;
            root $dir/primary;
        }
        location /_real/ {
            internal;
            proxy_pass http://127.0.0.1:$sp/standby/;
        }
_EOC_

sub local_ok {
    my ($uri, $reason, $name, $port) = @_;
    my ($st, $h, $body) = http_get($port // $pp, $uri);

    is($st, 200, "$name: served locally");
    ok(!defined $h->{location}, "$name: no Location");
    my @l = wait_log('primary', qr/^\Q$uri\E /);
    ok((grep { $_ eq "$uri 200 local $reason" } @l), "$name: local $reason")
        or diag(join "\n", grep { /^\Q$uri\E / } @l);
}

my ($st, $h) = http_get($pp, '/media/ok.bin');
is($st, 302, 'a good answer of the fake standby is followed');
is($h->{location}, "http://127.0.0.1:$fp/media/ok.bin?standby_hop=1",
   'to its url');

local_ok('/media/g1.bin', 'failed', 'garbage');
local_ok('/media/g2.bin', 'failed', 'another host');
local_ok('/media/g3.bin', 'failed', 'another port');
local_ok('/media/g4.bin', 'failed', 'not http');
local_ok('/media/g5.bin', 'failed', 'CR LF in the url');
local_ok('/media/g6.bin', 'failed', 'NUL in the url');
local_ok('/media/g7.bin', 'failed', 'space in the url');
local_ok('/media/g8.bin', 'failed', 'userinfo in the url');
local_ok('/media/g9.bin', 'failed', 'truncated JSON');
local_ok('/media/g10.bin', 'failed', 'an HTML 404');
local_ok('/media/g11.bin', 'failed', 'a 500');
local_ok('/media/g12.bin', 'failed', 'host member disagrees');
local_ok('/media/g13.bin', 'failed', 'a query in the url');

my $log = slurp("$dir/primary/logs/error.log");
for (["answer is not a JSON object", 'garbage'],
     ["url is not on the standby that was asked", 'off-host'],
     ["url is not http or https", 'scheme'],
     ["url has a byte a header must not carry", 'CR LF, NUL, space'],
     ["url has no valid host", 'userinfo'],
     ["truncated JSON", 'truncated'],
     ["host, port or path disagree with the url", 'disagreement'],
     ["url has a query or fragment", 'query'])
{
    like($log, qr/\[error\].*standby: answer of "127\.0\.0\.1:$fp" refused: \Q$_->[0]\E/,
         "refused and logged: $_->[1]");
}
like($log, qr/live lookup: "\/_standby\/check\?uri=\/media\/g11\.bin [^"]*" failed: service answered non-2xx \(status 500\)/,
     'a 500 is logged as a failure');

# overloaded: three idle connections and the check itself are over 3
my @held;
for (1 .. 3) {
    push @held, IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $sp, Proto => 'tcp')
        or die "connect: $!\n";
}

my $active = 0;
for (1 .. 100) {
    my (undef, undef, $b) = http_get($sp, '/status');
    ($active) = ($b // '') =~ /Active connections: (\d+)/;
    last if ($active // 0) >= 4;
    sleep 0.05;
}
is($active, 4, 'the standby has three held connections (and ours)');

local_ok('/media/f1.bin', 'overloaded', 'over max_conns', $rp);

close $_ for @held;

for (1 .. 100) {
    my (undef, undef, $b) = http_get($sp, '/status');
    ($active) = ($b // '') =~ /Active connections: (\d+)/;
    last if ($active // 0) == 1;
    sleep 0.05;
}

($st, $h) = http_get($rp, '/media/f2.bin');
is($st, 302, 'with the connections gone, it takes requests again');

# the retry window: one failed check, then none while it lasts
local_ok('/win/f1.bin', 'failed', 'a failing standby');
local_ok("/win/f$_.bin", 'retry', "in the window ($_)") for 2 .. 4;

my @s = marker('fake', $fp);
is(scalar(grep { m{^/standby/check\?uri=/win/} } @s), 1,
   'the standby was asked once in the window');

sleep 2.1;   # the window is 2 s long

local_ok('/win/f5.bin', 'failed', 'after the window');
@s = marker('fake', $fp);
is(scalar(grep { m{^/standby/check\?uri=/win/} } @s), 2,
   'and asked again after it');

# a standby that never answers: proxy_read_timeout
local_ok('/hole/f1.bin', 'failed', 'no answer');
like(slurp("$dir/primary/logs/error.log"),
     qr/upstream timed out .* subrequest: "\/_hole\/check"/,
     'the timeout is in the log');

# a stopped standby
stop_helper('standby');
local_ok('/media/f3.bin', 'failed', 'a stopped standby', $rp);
like(slurp("$dir/primary/logs/error.log"),
     qr/connect\(\) failed \(111: Connection refused\) .*"\/_real\/check"/,
     'connection refused is in the log');

unlike(slurp("$dir/primary/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert, crit or emerg on the primary');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
