# RTMP over QUIC end to end, with stock parts: ffmpeg publishes to
# rtmpq-tunnel, which carries the RTMP connection over QUIC to
# ngx_stream_rtmpq_module (two workers, reuseport), which pipes it to
# nginx-rtmp (another nginx, one worker) with a PROXY header.  A plain RTMP player decodes frames;
# nginx-rtmp's on_publish sees the tunnel's UDP address (127.0.0.2), not
# the loopback address the module connects from.  A player over QUIC
# decodes frames too, and several publishers run at once.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
my %port = map { $_ => free_port() } qw(quic rtmp play http tunnel);
my ($crt, $key) = make_cert($dir);
my @streams = map { "q$$-$_" } 1 .. 3;

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server', valgrind => 1,
                   conf => rtmpq_front_conf(%port, crt => $crt,
                                            key => $key, workers => 2));
wait_log("$dir/server/logs/error.log", qr/start worker process/, 30)
    or die "the QUIC front did not start\n";

my $tlog = start_tunnel('tunnel', port => $port{tunnel},
                        uri => "rtmpq://127.0.0.1:$port{quic}/live",
                        args => ['--cafile', $crt, '--bind', '127.0.0.2']);

start_publisher("pub-$_", url => "rtmp://127.0.0.1:$port{tunnel}/live/$_")
    for @streams;

for my $s (@streams) {
    my $frames = count_frames("rtmp://127.0.0.1:$port{play}/live/$s",
                              seconds => 2, timeout => 30);
    ok($frames > 0, "published over QUIC, $s: a plain player got $frames "
                    . "frames");
}

my $notify = wait_log("$dir/rtmp/logs/notify.log", qr/call=publish/, 5)
             // '';
my @pub = $notify =~ /^(.*call=publish.*)$/mg;

is(scalar(@pub), 3, 'on_publish for the three publishers');
is(scalar(grep { /(?:^|&)addr=127\.0\.0\.2(?:&|$)/ } @pub), 3,
   "on_publish sees the terminal's address 127.0.0.2");

my $frames = count_frames("rtmp://127.0.0.1:$port{tunnel}/live/$streams[0]",
                          seconds => 2, timeout => 30);
ok($frames > 0, "a player over QUIC got $frames frames");

like(slurp($tlog), qr/QUIC connected, stream 0/, 'the tunnel used QUIC');

my $log = slurp("$dir/server/logs/error.log");
my %pids = map { $_ => 1 } $log =~ /\[info\] (\d+)#\d+: \*\d+ udp client/g;
ok(keys %pids >= 1, 'QUIC served by ' . (keys %pids) . ' worker(s)');
unlike($log, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts in the server log');

# a tunnel stops on SIGTERM; every QUIC session of the server ends

for my $s (@streams) {
    stop_helper("pub-$s");
}

stop_helper('tunnel');
like(slurp($tlog), qr/exiting on signal/, 'the tunnel exits on SIGTERM');

is(wait_count("$dir/server/logs/error.log", qr/rtmpq: connection closed/,
              4, 20),
   4, 'the server closed the four QUIC connections');

stop_helper('server', signal => 'QUIT', wait => 10);
is(valgrind_reports('server'), '', 'no memcheck reports');

run_tests();

__DATA__
