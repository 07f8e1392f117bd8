# The DoH test server (LiveCdn::DoH) that the httpdns doh-dialect tests
# use: dnsdist (cleartext DoH) in front of PowerDNS with ECS-aware LUA
# records.  No module of ours is involved: this checks the stand-in, so a
# failing httpdns test can be blamed on the module, not on the server.
# Plain Test::More, so it runs the same under our runner and the real one.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use Net::DNS;
use Socket qw(inet_ntop AF_INET AF_INET6);
use Time::HiRes qw(time);

use LiveCdn::Helpers;
use LiveCdn::DoH qw(start_doh_server dns_query_wire doh_get_uri
                    stop_dns_backend start_dns_backend);

my $t0 = time;
# one extra name (only an AAAA record) to check extra_records and the
# "no address" answer the module must treat as a failure
my ($doh, $dns) = start_doh_server(
    extra_records => "v6only IN AAAA 2001:db8::1\n");
my $took = time - $t0;
ok($took < 3, sprintf('started in %.2f s', $took));

my $ua = HTTP::Tiny->new(timeout => 5, keep_alive => 0);

sub doh {
    my ($name, $subnet) = @_;
    my $r = $ua->get("http://127.0.0.1:$doh" . doh_get_uri($name, $subnet));
    die "DoH $name: HTTP $r->{status} $r->{content}\n" unless $r->{status} == 200;
    return (dns_packet(\$r->{content}), $r);
}

# Net::DNS->new(\$data) returns (packet, length) in list context
sub dns_packet { my $p = Net::DNS::Packet->new($_[0]); return $p }

sub addrs { [sort map { $_->address } grep { $_->type eq 'A' } $_[0]->answer] }

# The client-subnet option of an answer as "address/source/scope", decoded
# by hand (RFC 7871) rather than through Net::DNS's version-dependent API.
sub ecs {
    my ($p) = @_;
    my $edns = $p->edns;
    my $raw = $edns ? scalar $edns->option(8) : undef;
    return undef unless defined $raw;
    my ($fam, $src, $scope, $addr) = unpack('nCCa*', $raw);
    my $af = $fam == 1 ? AF_INET : AF_INET6;
    $addr .= "\0" x (($fam == 1 ? 4 : 16) - length $addr);
    return inet_ntop($af, $addr) . "/$src/$scope";
}


# --- answers by client subnet -------------------------------------------

my @cases = (
    # name, subnet, A records, ECS echoed (address/source/scope)
    ['push.example.com', '198.51.100.0/24',     ['192.0.2.10', '192.0.2.11'], '198.51.100.0/24/24'],
    ['play.example.com', '198.51.100.0/24',     ['192.0.2.10', '192.0.2.11'], '198.51.100.0/24/24'],
    ['push.example.com', '198.51.100.200/24',   ['192.0.2.10', '192.0.2.11'], '198.51.100.0/24/24'],
    ['push.example.com', '203.0.113.0/24',      ['192.0.2.20'],               '203.0.113.0/24/24'],
    ['play.example.com', '2001:db8:1:ff00::/56', ['192.0.2.30'],              '2001:db8:1:ff00::/56/56'],
    ['push.example.com', '2001:db8:2::/56',     ['192.0.2.99'],               '2001:db8:2::/56/56'],
    ['push.example.com', '192.0.2.0/24',        ['192.0.2.99'],               '192.0.2.0/24/24'],
    ['push.example.com', undef,                 ['192.0.2.99'],               undef],
);

for my $c (@cases) {
    my ($name, $subnet, $want, $want_ecs) = @$c;
    my $what = "$name " . ($subnet // 'no ECS');
    my ($p, $r) = doh($name, $subnet);

    is($p->header->rcode, 'NOERROR', "$what: NOERROR");
    # raw bytes: Net::DNS's id() makes up a random id for 0
    is(unpack('n', $r->{content}), 0, "$what: id 0 kept");
    is_deeply(addrs($p), $want, "$what: @$want");
    is_deeply([map { $_->ttl } $p->answer], [map { 60 } @$want], "$what: TTL 60");
    # no ECS in, no ECS out: dnsdist adds none of its own (useClientSubnet
    # off); with ECS in, pdns echoes it with the scope it used
    is(ecs($p), $want_ecs, "$what: ECS " . ($want_ecs // 'absent'));
    is($r->{headers}{'content-type'}, 'application/dns-message', "$what: content type");
}

my ($p) = doh('alias.example.com', '203.0.113.0/24');
is_deeply([map { $_->type . ' ' . $_->rdstring } $p->answer],
          ['CNAME push.example.com.', 'A 192.0.2.20'], 'alias: CNAME then A, by subnet');
is_deeply([map { $_->name } $p->answer], ['alias.example.com', 'push.example.com'],
          'alias: owner names');
($p) = doh('alias.example.com', '198.51.100.0/24');
is_deeply(addrs($p), ['192.0.2.10', '192.0.2.11'], 'alias: other subnet, other A');

for my $name ('nosuch.example.com', 'x.push.example.com') {
    my ($p) = doh($name, '198.51.100.0/24');
    is($p->header->rcode, 'NXDOMAIN', "$name: NXDOMAIN");
    is(scalar $p->answer, 0, "$name: no answer");
}

($p) = doh('v6only.example.com', '198.51.100.0/24');
is($p->header->rcode, 'NOERROR', 'v6only (extra_records): NOERROR');
is(scalar $p->answer, 0, 'v6only: no A record');

# PowerDNS directly, over UDP, for checks that bypass dnsdist
{
    my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $dns,
                                      recurse => 0, udp_timeout => 2, retry => 1);
    my $q = $res->send('play.example.com', 'A');
    is_deeply($q ? addrs($q) : undef, ['192.0.2.99'], 'PowerDNS port, no ECS');
}

my (undef, $r) = doh('push.example.com', '198.51.100.0/24');
is($r->{headers}{'cache-control'}, 'max-age=60', 'cache-control from the TTL');


# --- the HTTP side nginx's proxy_pass sees ------------------------------

my $uri = doh_get_uri('push.example.com', '203.0.113.0/24');

# HTTP/1.0 is proxy_pass's default
my ($st, $h, $body) = http_request('GET', $doh, $uri);
is($st, 200, 'HTTP/1.0 GET');
is_deeply(addrs(dns_packet(\$body)), ['192.0.2.20'], 'HTTP/1.0 answer');

# HTTP/1.1, two requests on one connection (proxy_http_version 1.1 +
# upstream keepalive)
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $doh,
                                  Proto => 'tcp', Timeout => 5) or die $!;
    for my $n (1, 2) {
        print $s "GET $uri HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my $head = '';
        $head .= $_ while defined($_ = <$s>) && $_ ne "\r\n";
        my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
        read($s, my $b, $len // 0);
        like($head, qr{^HTTP/1\.1 200}, "HTTP/1.1 keep-alive request $n");
        is_deeply(addrs(dns_packet(\$b)), ['192.0.2.20'],
                  "HTTP/1.1 keep-alive answer $n");
    }
}

$r = $ua->post("http://127.0.0.1:$doh/dns-query",
               { content => dns_query_wire('push.example.com', '198.51.100.0/24'),
                 headers => { 'content-type' => 'application/dns-message' } });
is($r->{status}, 200, 'POST');
is_deeply(addrs(dns_packet(\$r->{content})), ['192.0.2.10', '192.0.2.11'],
          'POST answer');

is($ua->get("http://127.0.0.1:$doh/dns-query?dns=!!!")->{status}, 400, 'bad base64: 400');
is($ua->get("http://127.0.0.1:$doh/other$uri")->{status}, 404, 'wrong path: 404');


# --- through stock nginx, wired as in SPEC §2 ---------------------------

SKIP: {
    my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    skip "no nginx at $nginx", 4 unless -x $nginx;

    my $port = free_port();
    start_nginx_helper('doh-nginx', wait_port => $port, conf => <<"EOT");
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path body_tmp; proxy_temp_path proxy_tmp;
    fastcgi_temp_path fcgi_tmp; uwsgi_temp_path uwsgi_tmp; scgi_temp_path scgi_tmp;
    upstream doh_ka { server 127.0.0.1:$doh; keepalive 4; }
    server {
        listen 127.0.0.1:$port;
        location /_httpdns/ { proxy_pass http://127.0.0.1:$doh/; }
        location /_httpdns11/ {
            proxy_pass http://doh_ka/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOT
    for my $loc ('/_httpdns', '/_httpdns11', '/_httpdns11') {
        my ($st, $h, $body) = http_get($port, "$loc$uri");
        is($st, 200, "nginx proxy_pass $loc: 200");
        is_deeply(addrs(dns_packet(\$body)), ['192.0.2.20'],
                  "nginx proxy_pass $loc: ECS answer") if $st == 200;
    }
    stop_helper('doh-nginx');
}


# --- service down and back: what the failure/stale tests rely on ------

stop_dns_backend();
{
    my $t = time;
    my ($p, $r) = doh('push.example.com', '198.51.100.0/24');
    is($p->header->rcode, 'SERVFAIL', 'pdns down: HTTP 200, SERVFAIL');
    ok(time - $t < 0.5, 'pdns down: answered at once');
}
start_dns_backend();
is_deeply(addrs((doh('push.example.com', '198.51.100.0/24'))[0]),
          ['192.0.2.10', '192.0.2.11'], 'pdns back: answers again');


# --- nothing left running once stopped ----------------------------------

my @pids = grep { defined } map { pid_of($_) } 'doh-pdns', 'doh-dnsdist';
is(scalar @pids, 2, 'both helpers found in /proc');
stop_helper($_) for 'doh-pdns', 'doh-dnsdist';
is(join(' ', grep { -e "/proc/$_" } @pids), '', 'no helper process left');

# pid of the running process whose command line names this file's
# helper_dir() and the helper's binary (pdns_server, dnsdist)
sub pid_of {
    my ($name) = @_;
    my $bin = $name eq 'doh-pdns' ? 'pdns_server' : 'dnsdist';
    my $dir = helper_dir();
    for my $cmdline (glob '/proc/[0-9]*/cmdline') {
        open my $fh, '<', $cmdline or next;
        my $cmd = do { local $/; <$fh> } // '';
        next unless index($cmd, $dir) >= 0 && $cmd =~ /\Q$bin\E/;
        my ($pid) = $cmdline =~ m{/proc/(\d+)/};
        return $pid;
    }
    return undef;
}

done_testing();
