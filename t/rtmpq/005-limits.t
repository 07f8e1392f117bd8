# Connections that stop: a publisher whose tunnel is killed (no
# CONNECTION_CLOSE) is freed by rtmpq_idle_timeout, nginx-rtmp's session
# with it; handshakes beyond rtmpq_max_handshakes are dropped with a
# warning while one never finishes; the client's retransmitted Initial
# gets in once that one timed out.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time);

my $dir = helper_dir();
my %port = map { $_ => free_port() }
           qw(quic rtmp play http t1 t2 t3 relay);
my ($crt, $key) = make_cert($dir);
my $elog = "$dir/server/logs/error.log";
my $rlog = "$dir/rtmp/logs/error.log";

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server', valgrind => 1,
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                       extra => 'rtmpq_idle_timeout 2s; '
                                . 'rtmpq_handshake_timeout 4s; '
                                . 'rtmpq_max_handshakes 1;'));
wait_log($elog, qr/start worker process/, 30)
    or die "the QUIC front did not start\n";


# 1. the tunnel dies with the publisher: the idle timeout frees it all

{
    start_tunnel('gone', port => $port{t1},
                 uri => "rtmpq://127.0.0.1:$port{quic}/live",
                 args => ['--cafile', $crt]);
    start_publisher('pub', url => "rtmp://127.0.0.1:$port{t1}/live/gone$$");

    ok(count_frames("rtmp://127.0.0.1:$port{play}/live/gone$$",
                    seconds => 1, timeout => 30) > 0,
       'publishing over QUIC');

    stop_helper('gone', signal => 'KILL');
    my $start = time;

    ok(wait_log($elog, qr/rtmpq: connection closed: idle timeout/, 20),
       'the server frees the connection on rtmpq_idle_timeout');
    my $took = time - $start;
    ok($took > 1 && $took < 15,
       sprintf('%.1f s after the tunnel died', $took));
    ok(wait_log($rlog, qr/disconnect, client: 127\.0\.0\.1, server: 127\.0\.0\.1:$port{rtmp}/,
                10),
       "nginx-rtmp's session ends with it");
    stop_helper('pub');
}


# 2. one handshake that never finishes holds the only slot

{
    start_udp_relay('relay', port => $port{relay}, to => $port{quic},
                    mode => 'first');
    wait_log("$dir/relay.log", qr/listening/, 10) or die "no relay\n";
    start_tunnel('stall', port => $port{t2},
                 uri => "rtmpq://127.0.0.1:$port{relay}/live",
                 args => ['--cafile', $crt, '--retries', '1']);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{t2}, Proto => 'tcp')
        or die "tunnel: $!\n";
    wait_log("$dir/relay.log", qr/passed a datagram/, 10)
        or die "nothing relayed\n";

    my $tlog = start_tunnel('second', port => $port{t3},
                            uri => "rtmpq://127.0.0.1:$port{quic}/live",
                            args => ['--cafile', $crt, '--retries', '1']);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{t3}, Proto => 'tcp')
        or die "tunnel: $!\n";

    ok(wait_log($elog, qr/\[warn\].*rtmpq: 1 handshakes in progress, new connection dropped/,
                10),
       'a handshake beyond rtmpq_max_handshakes is dropped with a warning');
    ok(wait_log($elog, qr/connection closed: handshake timed out/, 15),
       'the stalled handshake times out (here on the idle timeout, 2 s)');
    ok(wait_log($tlog, qr/#1: QUIC connected/, 20),
       "then the dropped client's retransmitted Initial gets in");
    close $s;
    close $c;
    stop_helper('stall');
    stop_helper('relay');

    start_publisher('pub2', url => "rtmp://127.0.0.1:$port{t3}/live/again$$");
    ok(count_frames("rtmp://127.0.0.1:$port{play}/live/again$$",
                    seconds => 1, timeout => 30) > 0,
       'then a new connection is accepted');
    stop_helper('pub2');
    stop_helper('second');
}

# 3. the encoder's connection is reset: RESET_STREAM, and the server
# closes its TCP connection to nginx-rtmp

{
    my $before = () = (slurp($rlog) // '') =~ /client connected/g;
    start_tunnel('rst', port => $port{t1},
                 uri => "rtmpq://127.0.0.1:$port{quic}/live",
                 args => ['--cafile', $crt]);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{t1}, Proto => 'tcp')
        or die "tunnel: $!\n";
    syswrite($c, "\x03" . ("\0" x 1536));      # an RTMP C0 + C1
    ok(wait_log("$dir/rst.log", qr/QUIC connected/, 10), 'connected');
    is(wait_count($rlog, qr/client connected/, $before + 1, 10), $before + 1,
       'nginx-rtmp got the connection');

    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $c;                                   # a TCP RST

    ok(wait_log($elog, qr/rtmpq: stream 0 reset by client \(code 1\)/, 10),
       'the server sees RESET_STREAM');
    stop_helper('rst');
}

unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts in the server log');
stop_helper('server', signal => 'QUIT', wait => 10);
is(valgrind_reports('server'), '', 'no memcheck reports');

run_tests();

__DATA__
