# rtmpq_retry on: a client Initial without a token gets a Retry (RFC 9000
# 8.1.2) and no connection state; the tunnel (ngtcp2) follows it with the
# token, which the server checks against the client's address, and the
# publish goes through as usual.

use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
my %port = map { $_ => free_port() }
           qw(quic rtmp play http tunnel relay t2);
my ($crt, $key) = make_cert($dir);
my $elog = "$dir/server/logs/error.log";

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server', valgrind => 1,
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                                            workers => 2,
                                            extra => 'rtmpq_retry on;'));
wait_log($elog, qr/start worker process/, 30)
    or die "the QUIC front did not start\n";

start_tunnel('tunnel', port => $port{tunnel},
             uri => "rtmpq://127.0.0.1:$port{quic}/live",
             args => ['--cafile', $crt]);
start_publisher('pub', url => "rtmp://127.0.0.1:$port{tunnel}/live/r$$");

my $frames = count_frames("rtmp://127.0.0.1:$port{play}/live/r$$",
                          seconds => 1, timeout => 30);
ok($frames > 0, "published over QUIC after a Retry: $frames frames");

my $log = slurp($elog);
like($log, qr/rtmpq: Retry sent/, 'the first Initial got a Retry');
unlike($log, qr/invalid Retry token|connection refused/,
       'the token was accepted');
like(slurp("$dir/rtmp/logs/notify.log"), qr/call=publish/,
     'nginx-rtmp saw the publish');

stop_helper('pub');
stop_helper('tunnel');

# a Retry token altered on the way: the server closes with INVALID_TOKEN
# at once (8.1.2), so the tunnel does not wait for its handshake timeout

{
    start_udp_relay('relay', port => $port{relay}, to => $port{quic},
                    mode => 'token');
    wait_log("$dir/relay.log", qr/listening/, 10) or die "no relay\n";

    my $tlog = start_tunnel('spoiled', port => $port{t2},
                            uri => "rtmpq://127.0.0.1:$port{relay}/live",
                            args => ['--cafile', $crt, '--retries', '1']);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port{t2}, Proto => 'tcp')
        or die "tunnel: $!\n";

    ok(wait_log("$dir/relay.log", qr/spoiled a token/, 10),
       'the relay altered the token of the second Initial');
    ok(wait_log($elog, qr/connection refused: invalid Retry token/, 10),
       'the server refuses it');
    like(wait_log($tlog, qr/QUIC connection failed: .*/, 10) // '',
         qr/QUIC connection failed: closed by peer/,
         'the tunnel learns of it from the server, not from a timeout');
    close $c;
    stop_helper('spoiled');
    stop_helper('relay');
}
unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts in the server log');
stop_helper('server', signal => 'QUIT', wait => 10);
is(valgrind_reports('server'), '', 'no memcheck reports');

run_tests();

__DATA__
