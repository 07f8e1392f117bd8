# A reload ends the QUIC connections of the old workers: the client's next
# packets reach a new worker, which answers with a stateless reset (the
# host key is the same after the reload), the tunnel drops the connection
# and resets the encoder's, the encoder reconnects and publishes again
# over a new QUIC connection.  The old worker closes its connections and
# exits at once, with no socket left open.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
my %port = map { $_ => free_port() } qw(quic rtmp play http tunnel);
my ($crt, $key) = make_cert($dir);
my $elog = "$dir/server/logs/error.log";
my $stream = "reload$$";

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server',
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                       extra => 'rtmpq_idle_timeout 60s;'));
wait_log($elog, qr/start worker process (\d+)/, 30)
    or die "the QUIC front did not start\n";
my ($old) = slurp($elog) =~ /start worker process (\d+)/;

my $tlog = start_tunnel('tunnel', port => $port{tunnel},
                        uri => "rtmpq://127.0.0.1:$port{quic}/live",
                        args => ['--cafile', $crt]);

start_publisher('pub', url => "rtmp://127.0.0.1:$port{tunnel}/live/$stream");

ok(count_frames("rtmp://127.0.0.1:$port{play}/live/$stream",
                seconds => 1, timeout => 30) > 0,
   'published over QUIC before the reload');

kill 'HUP', slurp("$dir/server/logs/nginx.pid") =~ /(\d+)/;

ok(wait_log($tlog, qr/QUIC connection lost: stateless reset by the peer/,
            20),
   'the tunnel learns of the reload from a stateless reset');
ok(wait_log($tlog, qr/#2: QUIC connected/, 20),
   'the encoder reconnected over a new QUIC connection');
is(wait_count("$dir/rtmp/logs/notify.log", qr/call=publish/, 2, 20), 2,
   'and published again');
ok(count_frames("rtmp://127.0.0.1:$port{play}/live/$stream",
                seconds => 1, timeout => 30) > 0,
   'published over QUIC after the reload');

ok(wait_log($elog, qr/\b$old#\d+: exit\b/, 20),
   'the old worker exited, long before rtmpq_idle_timeout');
like(slurp($elog),
     qr/\b$old#\d+: \*\d+ rtmpq: connection closed: worker shutting down/,
     'it closed its QUIC connection');
unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts in the server log');

run_tests();

__DATA__
