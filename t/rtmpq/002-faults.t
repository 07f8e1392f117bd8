# RTMP over QUIC with bad input: garbage datagrams, a packet of a
# connection the server does not know (a stateless reset answers, smaller
# than the packet), a client that offers another ALPN, a handshake that
# never finishes, a backend that is down.  Each gets its log line and
# nothing crashes.  Then the tunnel's fallback to RTMP over TCP.

use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
my %port = map { $_ => free_port() }
           qw(quic dead rtmp play http t1 t2 t3 t4 t5 relay catch);
my ($crt, $key) = make_cert($dir);
my $down = free_port();        # nothing listens there
my $elog = "$dir/server/logs/error.log";

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server', valgrind => 1,
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                       extra => 'rtmpq_handshake_timeout 1s;',
                       servers => <<"EOS"));
    server {
        listen 127.0.0.1:$port{dead} udp;
        rtmpq_pass 127.0.0.1:$down;
        rtmpq_certificate $crt;
        rtmpq_certificate_key $key;
    }
EOS
wait_log($elog, qr/start worker process/, 30)
    or die "the QUIC front did not start\n";

sub publish_once {
    my ($port, $name) = @_;
    my $ffmpeg = $ENV{TEST_NGINX_FFMPEG} || 'ffmpeg';

    return system("timeout 20 $ffmpeg -hide_banner -loglevel quiet "
                  . "-f lavfi -i testsrc=size=160x120:rate=10 -t 2 "
                  . "-c:v libx264 -preset ultrafast -f flv "
                  . "rtmp://127.0.0.1:$port/live/$name") >> 8;
}


# 1. garbage, and a short-header packet of no known connection

{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{quic}, Proto => 'udp')
        or die "udp: $!\n";

    $s->send('');     # an empty datagram: ngtcp2 asserts on it
    $s->send("\xff" x 50);
    $s->send("\xc0\x00\x00\x00\x01" . ("\x07" x 1195));   # Initial, short
    $s->send(join '', map { chr int rand 256 } 1 .. 1 + int rand 100)
        for 1 .. 20;

    # from a socket of its own: the random ones may get resets too
    my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{quic}, Proto => 'udp')
        or die "udp: $!\n";
    my $short = "\x40" . ("\xab" x 18) . ("\x11" x 60);
    $r->send($short);

    my $reset = '';
    my $rin = '';
    vec($rin, fileno($r), 1) = 1;
    $r->recv($reset, 2048) if select($rin, undef, undef, 5);

    ok(length($reset) > 0 && length($reset) < length($short),
       'a stateless reset answers, ' . length($reset) . ' bytes for '
       . length($short));
    is(ord($reset) & 0xc0, 0x40, 'it looks like a short-header packet');

    # RFC 9000 10.3.3: one byte shorter than a small trigger, down to the
    # 21 bytes of the smallest reset; nothing for a 21-byte packet, which
    # may itself be a reset (no loop between two endpoints)

    for my $len (43, 22, 21) {
        my $p = "\x40" . ("\xcd" x 18) . ("\x22" x ($len - 19));
        my $got = '';
        $r->send($p);
        $r->recv($got, 2048) if select(my $rr = $rin, undef, undef,
                                       $len == 21 ? 1 : 5);
        is(length $got, $len == 21 ? 0 : $len - 1,
           "a stateless reset for $len bytes: " . length($got) . ' bytes');
    }

    ok(wait_log($elog, qr/rtmpq: invalid datagram of 50 bytes, dropped/, 10),
       'garbage: logged and dropped');
    my $kinds = qr/rtmpq: (?:invalid datagram|packet for an unknown conn|unsu)/;
    ok(wait_log($elog, qr/rtmpq: invalid datagram of 0 bytes, dropped/, 10),
       'an empty datagram: logged and dropped');
    ok(wait_count($elog, $kinds, 26, 10) >= 26,
       '20 random datagrams: a log line each');
    ok(wait_log($elog, qr/rtmpq: connection closed: invalid Initial packet/,
                10),
       'an Initial that does not decrypt: logged and dropped');
    ok(wait_log($elog, qr/unknown connection, stateless reset sent/, 5),
       'the unknown connection is logged');
}


# 2. a client that offers another protocol

{
    my $tlog = start_tunnel('alpn', port => $port{t1},
                            uri => "rtmpq://127.0.0.1:$port{quic}/live",
                            args => ['--cafile', $crt, '--retries', '1',
                                     '--alpn', 'rtmpq-00']);

    isnt(publish_once($port{t1}, 'alpn'), 0, 'wrong ALPN: no publish');
    ok(wait_log($elog,
                qr/connection closed: client did not offer ALPN "rtmpq-01"/,
                10),
       'wrong ALPN: the server says why');
    like(slurp($tlog), qr/QUIC connection failed/, 'the tunnel gave up');
    stop_helper('alpn');
}


# 3. a handshake that never finishes: only the first datagram gets through

{
    start_udp_relay('relay', port => $port{relay}, to => $port{quic},
                    mode => 'first');
    wait_log("$dir/relay.log", qr/listening/, 10) or die "no relay\n";

    start_tunnel('stall', port => $port{t2},
                 uri => "rtmpq://127.0.0.1:$port{relay}/live",
                 args => ['--cafile', $crt, '--retries', '1']);

    my $pid = fork();
    if ($pid == 0) {
        publish_once($port{t2}, 'stall');
        POSIX::_exit(0);
    }

    ok(wait_log($elog, qr/connection closed: handshake timed out/, 15),
       'a handshake that never finishes ends on rtmpq_handshake_timeout');
    waitpid($pid, 0);
    stop_helper('stall');
    stop_helper('relay');
}


# 4. the backend is down

{
    my $tlog = start_tunnel('dead', port => $port{t3},
                            uri => "rtmpq://127.0.0.1:$port{dead}/live",
                            args => ['--cafile', $crt]);

    isnt(publish_once($port{t3}, 'dead'), 0, 'backend down: no publish');
    ok(wait_log($elog, qr/rtmpq: backend 127\.0\.0\.1:$down is unreachable/,
                10),
       'backend down: the server says so');
    like(slurp($tlog), qr/the server reset the stream/,
         'the tunnel sees the stream reset');
    stop_helper('dead');
}


# 5. no QUIC server at all: the tunnel falls back to RTMP over TCP

{
    my $tlog = start_tunnel('fallback', port => $port{t4},
                            uri => "rtmp://127.0.0.1:$port{play}/live"
                                   . "?transport=quic",
                            args => ['--cafile', $crt, '--retries', '2',
                                     '--fallback']);

    start_publisher('pub', url => "rtmp://127.0.0.1:$port{t4}/live/fb$$");

    my $frames = count_frames("rtmp://127.0.0.1:$port{play}/live/fb$$",
                              seconds => 1, timeout => 30);
    ok($frames > 0, "published over the TCP fallback: $frames frames");
    like(slurp($tlog), qr/attempt 2\b.*falling back to RTMP over TCP/s,
         'two QUIC attempts, then TCP');
    stop_helper('pub');
    stop_helper('fallback');
}


# 6. amplification: a client Initial from an address that never answers
# gets at most 3 times its size back (RFC 9000 8.1), retransmissions
# included.  The Initial is the tunnel's own, caught on the way.

{
    my $catch = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port{catch},
                                      Proto => 'udp')
        or die "udp: $!\n";
    start_tunnel('amp', port => $port{t5},
                 uri => "rtmpq://127.0.0.1:$port{catch}/live",
                 args => ['--insecure', '--retries', '1']);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{t5}, Proto => 'tcp')
        or die "tunnel: $!\n";

    my ($initial, $rin) = ('', '');
    vec($rin, fileno($catch), 1) = 1;
    $catch->recv($initial, 65536) if select(my $r = $rin, undef, undef, 10);
    close $c;
    stop_helper('amp');

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{quic}, Proto => 'udp')
        or die "udp: $!\n";
    $s->send($initial);

    my ($got, $n) = (0, 0);
    vec($rin = '', fileno($s), 1) = 1;
    while (select(my $r = $rin, undef, undef, 3)) {
        my $buf;
        $s->recv($buf, 65536);
        $got += length $buf;
        $n++;
    }

    ok(length($initial) >= 1200, 'a client Initial of ' . length($initial)
                                 . ' bytes');
    ok($got > 0 && $got <= 3 * length($initial),
       "$got bytes in $n datagrams came back: within 3x");
}


# 7. another QUIC version: a Version Negotiation packet (RFC 9000 6.1,
# 17.2.1) listing version 1, with the client's connection IDs swapped;
# none for a datagram under 1200 bytes (5.2.2)

{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{quic}, Proto => 'udp')
        or die "udp: $!\n";
    my ($dcid, $scid) = ("\x0d" x 8, "\x5c" x 5);
    my $hd = "\xc0\x1a\x2a\x3a\x4a" . "\x08" . $dcid . "\x05" . $scid;

    $s->send($hd . ("\0" x (200 - length $hd)));
    $s->send($hd . ("\0" x (1200 - length $hd)));

    my ($vn, $rin) = ('', '');
    vec($rin, fileno($s), 1) = 1;
    $s->recv($vn, 2048) if select(my $r = $rin, undef, undef, 5);

    ok(length($vn) >= 7 && (ord($vn) & 0x80)
       && substr($vn, 1, 4) eq "\0\0\0\0",
       'another version: a Version Negotiation packet answers');
    is(unpack('H*', substr($vn, 5, 1 + 5 + 1 + 8)),
       unpack('H*', "\x05" . $scid . "\x08" . $dcid),
       'its connection IDs are the client\'s, swapped');
    my @v = unpack('N*', substr($vn, 5 + 1 + 5 + 1 + 8));
    ok((grep { $_ == 1 } @v), 'it lists QUIC version 1: ' . join ',', @v);
    ok(!select(my $r2 = $rin, undef, undef, 1),
       'nothing answers the short datagram of another version');
    ok(wait_log($elog, qr/unsupported QUIC version, version negotiation sent/,
                5),
       'another version: logged');
}


unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts, no crash in the server log');

stop_helper('server', signal => 'QUIT', wait => 10);
is(valgrind_reports('server'), '', 'no memcheck reports');

run_tests();

__DATA__
