# Back-pressure: flow-control windows are extended only as bytes are
# written to the backend.  A backend that accepts and never reads stops
# the writer behind the tunnel after the windows and the socket buffers
# are full, and the server's memory stays bounded.

use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;
use Time::HiRes qw(time sleep);

my $dir = helper_dir();
my %port = map { $_ => free_port() } qw(quic rtmp tunnel);
my ($crt, $key) = make_cert($dir);
my $elog = "$dir/server/logs/error.log";

# a backend that accepts and then only sleeps
start_helper('sink', cmd => ['perl', '-MIO::Socket::INET', '-e',
    '$l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => '
    . $port{rtmp} . ', Listen => 8, ReuseAddr => 1) or die; $| = 1; '
    . 'print "sink: listening\n"; @c = (); '
    . 'while (my $c = $l->accept) { push @c, $c; print "sink: accepted\n" }']);
wait_log("$dir/sink.log", qr/listening/, 10) or die "no sink\n";

start_nginx_helper('server',
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                       extra => 'rtmpq_stream_window 256k; '
                                . 'rtmpq_connection_window 256k;'));
wait_log($elog, qr/start worker process (\d+)/, 30)
    or die "the QUIC front did not start\n";
my ($worker) = slurp($elog) =~ /start worker process (\d+)/;

start_tunnel('tunnel', port => $port{tunnel},
             uri => "rtmpq://127.0.0.1:$port{quic}/live",
             args => ['--cafile', $crt]);

sub rss {
    my ($kb) = (slurp("/proc/$worker/status") // '') =~ /VmRSS:\s+(\d+)/;
    return $kb // 0;
}

my $rss0 = rss();
my $w = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $port{tunnel}, Proto => 'tcp')
    or die "tunnel: $!\n";
$w->blocking(0);

my ($sent, $chunk) = (0, 'x' x 65536);
my $end = time + 6;
while (time < $end) {
    my $n = syswrite($w, $chunk);
    if (defined $n) {
        $sent += $n;
    } else {
        sleep 0.01;
    }
}

ok(wait_log("$dir/sink.log", qr/accepted/, 1), 'the backend got the stream');
ok($sent > 256 * 1024, "the windows were used: $sent bytes written");
ok($sent < 32 * 1024 * 1024,
   "then the writer was stopped: $sent bytes in 6 s");

my $grew = rss() - $rss0;

SKIP: {
    # under memcheck (every nginx helper in the valgrind mode) the RSS
    # holds valgrind's shadow memory: the byte bound above stands for it
    skip "memcheck's shadow memory is in the RSS ($grew kB)", 1
        if $ENV{TEST_NGINX_USE_VALGRIND};
    ok($grew < 16 * 1024, "the server worker grew by $grew kB");
}

close $w;
unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alerts in the server log');

run_tests();

__DATA__
