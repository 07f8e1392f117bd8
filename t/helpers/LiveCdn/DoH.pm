package LiveCdn::DoH;

# A real RFC 8484 DoH server for the httpdns tests: Debian's PowerDNS
# authoritative server (bind backend, ECS-aware LUA records) behind
# Debian's dnsdist with a cleartext DoH listener on loopback.
#
#   my $doh = start_doh_server();                 # DoH port
#   my ($doh, $dns) = start_doh_server();         # + PowerDNS UDP/TCP port
#   # GET http://127.0.0.1:$doh/dns-query?dns=<base64url>  (HTTP/1.0 or 1.1)
#   start_doh_server(extra_records => "v6only IN AAAA 2001:db8::1\n");
#
# On request: dns_query_wire($name, "addr/prefix") and doh_get_uri(...) build
# the exact query the httpdns doh dialect sends; stop_dns_backend() and
# start_dns_backend() take PowerDNS down (DoH then answers SERVFAIL) and
# back, for failure and stale tests.  Helper names: doh-pdns, doh-dnsdist.
#
# Why this pair: dnsdist 1.7 is the Debian DoH server that speaks plain
# HTTP/1.x (what nginx's proxy_pass talks) and passes the query's own
# client-subnet option through untouched; PowerDNS answers by that subnet.
# Configs, logs and state live in helper_dir(); both run in the foreground
# under LiveCdn::Helpers, which kills them when the test file ends.
#
# The zone (fixed; the httpdns tests rely on it), TTL 60 everywhere:
#   push/play.example.com A, chosen by the ECS subnet of the query:
#     198.51.100.0/24 -> 192.0.2.10 192.0.2.11
#     203.0.113.0/24  -> 192.0.2.20
#     2001:db8:1::/48 -> 192.0.2.30
#     anything else, or no ECS -> 192.0.2.99
#   alias.example.com CNAME push.example.com (same subnet logic)
#   any other name: NXDOMAIN

use strict;
use warnings;

use HTTP::Tiny;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64url);
use Socket qw(inet_pton AF_INET AF_INET6);
use Time::HiRes qw(sleep time);

use LiveCdn::Helpers;

use Exporter 'import';
our @EXPORT = qw(start_doh_server);
our @EXPORT_OK = qw(dns_query_wire doh_get_uri stop_dns_backend
                    start_dns_backend);

our $PDNS    = $ENV{TEST_DOH_PDNS}    || '/usr/sbin/pdns_server';
our $DNSDIST = $ENV{TEST_DOH_DNSDIST} || '/usr/bin/dnsdist';

# One Lua script for push and play.  The leading ';' makes PowerDNS run it
# as a script rather than as one expression; netmask() matches
# the ECS address when the query has one and edns-subnet-processing is on,
# else the source address (dnsdist, 127.0.0.1), which falls to .99.
my $LUA = q{;if netmask({'198.51.100.0/24'}) then return {'192.0.2.10','192.0.2.11'} }
        . q{elseif netmask({'203.0.113.0/24'}) then return '192.0.2.20' }
        . q{elseif netmask({'2001:db8:1::/48'}) then return '192.0.2.30' }
        . q{end return '192.0.2.99'};

my $state;      # {dir, dns, doh, timeout} once started


# %opt: extra_records => "zone file lines" appended to the zone (for tests
# that need more names, e.g. a name with no A record); timeout => seconds.
sub start_doh_server {
    my (%opt) = @_;

    die "start_doh_server: already started in this test file\n" if $state;

    my $dir = helper_dir() . '/doh';
    my $dns_port = free_port();
    my $doh_port = free_port();
    my $timeout = $opt{timeout} || 10;

    mkdir $dir or die "$dir: $!\n" unless -d $dir;

    _write("$dir/example.com.zone", <<"EOT" . ($opt{extra_records} // ''));
\$TTL 60
@     IN SOA   ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60
@     IN NS    ns1.example.com.
ns1   IN A     127.0.0.1
push  IN LUA   A "$LUA"
play  IN LUA   A "$LUA"
alias IN CNAME push.example.com.
EOT

    _write("$dir/named.conf", <<"EOT");
zone "example.com" { type master; file "$dir/example.com.zone"; };
EOT

    # pdns reads only <config-dir>/pdns.conf: nothing from /etc/powerdns.
    # Caches off so every answer comes from the Lua record for that query's
    # subnet; security polling off (no network here).
    _write("$dir/pdns.conf", <<"EOT");
launch=bind
bind-config=$dir/named.conf
local-address=127.0.0.1:$dns_port
socket-dir=$dir
edns-subnet-processing=yes
enable-lua-records=yes
security-poll-suffix=
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
disable-syslog=yes
webserver=no
api=no
receiver-threads=1
distributor-threads=1
EOT

    # useClientSubnet=false and setECSOverride(false) are dnsdist's
    # defaults, spelled out because the tests depend on them: dnsdist must
    # forward the query's own ECS option, and add none of its own.
    # ServFail instead of a silent drop when pdns is down, so a test that
    # stops pdns sees a DNS failure at once rather than an HTTP timeout.
    # No certificate: cleartext DoH (HTTP/1.x), as the log line
    # "running in DNS over HTTP mode" confirms.
    _write("$dir/dnsdist.conf", <<"EOT");
setSecurityPollSuffix('')
setECSOverride(false)
setServFailWhenNoServer(true)
setUDPTimeout(1)
newServer({address='127.0.0.1:$dns_port', name='pdns', useClientSubnet=false, checkInterval=1})
addDOHLocal('127.0.0.1:$doh_port', nil, nil, '/dns-query')
EOT

    $state = { dir => $dir, dns => $dns_port, doh => $doh_port,
               timeout => $timeout };
    my $t0 = time;
    _start_pdns($t0);
    my $dnsdist = start_helper('doh-dnsdist', cmd => [$DNSDIST, '--supervised',
                                '--disable-syslog', '-C', "$dir/dnsdist.conf"]);
    _wait_until($t0 + $timeout, 'doh-dnsdist', $dnsdist,
                sub { _doh_rcode($doh_port, 1) == 0 });

    return wantarray ? ($doh_port, $dns_port) : $doh_port;
}


# For failure tests: stop PowerDNS and return once dnsdist's health check
# has marked it down, so from then on every DoH query gets, at once, HTTP
# 200 with RCODE SERVFAIL.  (Right after the stop, before the check, a query
# waits for dnsdist's UDP timeout and gets HTTP 502 after ~3 s instead.)
sub stop_dns_backend {
    die "stop_dns_backend: no DoH server\n" unless $state;
    stop_helper('doh-pdns');
    my $deadline = time + $state->{timeout};
    while (time < $deadline) {
        return if _doh_rcode($state->{doh}, 0.5) == 2;
        sleep 0.1;
    }
    die "stop_dns_backend: dnsdist did not start answering SERVFAIL\n";
}


# Start PowerDNS again (same port, same zone) and return once DoH answers
# from it again: for "service recovers" tests.
sub start_dns_backend {
    die "start_dns_backend: no DoH server\n" unless $state;
    my $t0 = time;
    _start_pdns($t0);
    _wait_until($t0 + $state->{timeout}, 'doh-dnsdist', undef,
                sub { _doh_rcode($state->{doh}, 1) == 0 });
}


sub _start_pdns {
    my ($t0) = @_;
    # pdns binds its ports before the bind backend has loaded the zone, so
    # readiness is a real answer, not an open port.
    my $pid = start_helper('doh-pdns', cmd => [$PDNS, "--config-dir=$state->{dir}",
                                               '--daemon=no', '--guardian=no']);
    _wait_until($t0 + $state->{timeout}, 'doh-pdns', $pid,
                sub { _udp_answers($state->{dns}) });
}


# The DNS query the httpdns doh dialect sends (SPEC §2): id 0, RD, one
# question (QTYPE A unless given), an OPT RR (payload 1232) carrying an
# RFC 7871 client-subnet option when $subnet ("addr/prefix") is given:
# family, source prefix, scope 0, address cut to ceil(prefix/8) bytes with
# the bits past the prefix zeroed.
sub dns_query_wire {
    my ($name, $subnet, $qtype) = @_;

    my $msg = pack('n6', 0, 0x0100, 1, 0, 0, 1);
    $msg .= pack('C/a*', $_) for split /\./, $name;
    $msg .= pack('Cnn', 0, $qtype // 1, 1);

    my $opts = '';
    if (defined $subnet) {
        my ($addr, $bits) = split m{/}, $subnet;
        my $v6 = $addr =~ /:/;
        my $raw = inet_pton($v6 ? AF_INET6 : AF_INET, $addr)
            // die "dns_query_wire: bad address \"$addr\"\n";
        my $len = int(($bits + 7) / 8);
        my $cut = substr($raw, 0, $len);
        if ($bits % 8) {
            substr($cut, -1, 1) = chr(ord(substr($cut, -1, 1))
                                      & (0xff << (8 - $bits % 8)) & 0xff);
        }
        my $data = pack('nCC', $v6 ? 2 : 1, $bits, 0) . $cut;
        $opts = pack('nn', 8, length $data) . $data;
    }

    $msg .= pack('CnnNn', 0, 41, 1232, 0, length $opts) . $opts;
    return $msg;
}


sub doh_get_uri {
    my ($name, $subnet, $qtype) = @_;
    return '/dns-query?dns=' . encode_base64url(dns_query_wire($name, $subnet, $qtype));
}


sub _write {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!\n";
    print $fh $text;
    close $fh or die "$file: $!\n";
}


# A good answer: NOERROR with at least one answer record.
sub _good_answer {
    my ($msg) = @_;
    return 0 unless defined $msg && length $msg >= 12;
    my ($flags, $an) = unpack('x2 n x2 n', $msg);
    return ($flags & 0x8000) && ($flags & 0x000f) == 0 && $an > 0;
}


sub _udp_answers {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'udp') or return 0;
    $s->send(dns_query_wire('push.example.com', '198.51.100.0/24'));

    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    return 0 unless select(my $rout = $rin, undef, undef, 0.2);

    my $msg;
    $s->recv($msg, 4096);
    return _good_answer($msg);
}


# RCODE of a DoH answer for push.example.com with ECS 198.51.100.0/24;
# -1 when there is no good DoH answer (HTTP error, timeout, no A record).
sub _doh_rcode {
    my ($port, $timeout) = @_;
    my $r = HTTP::Tiny->new(timeout => $timeout)->get("http://127.0.0.1:$port"
                . doh_get_uri('push.example.com', '198.51.100.0/24'));
    return -1 unless $r->{status} == 200 && length $r->{content} >= 12;
    my $rcode = unpack('x3 C', $r->{content}) & 0x0f;
    return 0 if _good_answer($r->{content});
    return $rcode ? $rcode : -1;
}


sub _alive {
    my ($pid) = @_;
    # the helper is our child: a dead one stays a zombie until reaped, so
    # kill(0) cannot tell; /proc can (and we leave the reaping to Helpers)
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my ($state) = (<$fh> // '') =~ /\)\s+(\S)/;
    return defined $state && $state ne 'Z';
}


sub _wait_until {
    my ($deadline, $name, $pid, $ready) = @_;

    while (time < $deadline) {
        return if $ready->();
        last if defined $pid && !_alive($pid);
        sleep 0.05;
    }

    my $log = helper_dir() . "/$name.log";
    my $cmd = $name eq 'doh-pdns' ? $PDNS : $DNSDIST;
    my $why = !defined $pid || _alive($pid) ? 'did not answer in time' : 'exited';
    die "start_doh_server: $name ($cmd) $why; last lines of $log:\n"
        . _log_tail($log);
}


# The last distinct lines of a log: a failing pdns repeats one line per
# query, which would push the real cause (e.g. a zone parse error) out of
# a plain tail.
sub _log_tail {
    my ($log) = @_;
    open my $fh, '<', $log or return "($log: $!)\n";
    my (%seen, @lines);
    while (my $l = <$fh>) {
        (my $key = $l) =~ s/^\w{3} \d+ [\d:]+ //;   # pdns's timestamp
        push @lines, $l unless $seen{$key}++;
    }
    return join '', @lines > 15 ? @lines[-15 .. -1] : @lines;
}


1;
