# The tunnel verifies the server's certificate: against --cafile, or the
# system store when there is none, and against the host of the URI.  A
# connection to a server whose certificate fails any of these is refused
# by the tunnel (no stream is opened), and only --insecure skips the
# check.  Each failing case has a control that succeeds with the same
# server and a good trust anchor, so a failure is the verification's.

use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
my %port = map { $_ => free_port() }
           qw(quic other rtmp play http t1 t2 t3 t4 t5);
my ($crt, $key) = make_cert($dir);
my $elog = "$dir/server/logs/error.log";

# a certificate for another name only, and an unrelated CA

my ($ocrt, $okey) = ("$dir/other.crt", "$dir/other.key");
my $stranger = "$dir/stranger.crt";
for ([$ocrt, $okey, 'DNS:other.example'],
     [$stranger, "$dir/stranger.key", 'DNS:localhost,IP:127.0.0.1'])
{
    system("openssl req -x509 -newkey ec -pkeyopt "
           . "ec_paramgen_curve:prime256v1 -nodes -keyout $_->[1] "
           . "-out $_->[0] -days 2 -subj /CN=x -addext "
           . "subjectAltName=$_->[2] >/dev/null 2>&1") == 0
        or die "openssl failed\n";
}

start_nginx_helper('rtmp', wait_port => $port{play},
                   conf => rtmp_backend_conf(%port));
start_nginx_helper('server',
                   conf => rtmpq_front_conf(%port, crt => $crt, key => $key,
                       servers => <<"EOS"));
    server {
        listen 127.0.0.1:$port{other} udp;
        rtmpq_pass 127.0.0.1:$port{rtmp};
        rtmpq_proxy_protocol on;
        rtmpq_certificate $ocrt;
        rtmpq_certificate_key $okey;
    }
EOS
wait_log($elog, qr/start worker process/, 30)
    or die "the QUIC front did not start\n";


# one encoder connection through a tunnel: what the tunnel logged

sub attempt {
    my ($name, $port, $uri, @args) = @_;

    my $log = start_tunnel($name, port => $port, uri => $uri,
                           args => [@args, '--retries', '1']);
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp')
        or die "tunnel: $!\n";

    wait_log($log, qr/QUIC connected|QUIC connection failed/, 15);
    close $c;
    stop_helper($name);

    return slurp($log);
}

my $good = "rtmpq://127.0.0.1:$port{quic}/live";
my $other = "rtmpq://127.0.0.1:$port{other}/live";

like(attempt('good', $port{t1}, $good, '--cafile', $crt),
     qr/QUIC connected/, 'control: the right CA and name connect');

like(attempt('ca', $port{t2}, $good, '--cafile', $stranger),
     qr/QUIC connection failed: TLS handshake failed: \S*BAD_CERTIFICATE/,
     'a certificate of another CA is refused');

like(attempt('name', $port{t3}, $other, '--cafile', $ocrt),
     qr/QUIC connection failed: TLS handshake failed: \S*BAD_CERTIFICATE/,
     'a trusted certificate for another host name is refused');

like(attempt('system', $port{t4}, $good),
     qr/QUIC connection failed: TLS handshake failed: \S*BAD_CERTIFICATE/,
     'no --cafile: the system store, which does not trust a self-signed '
     . 'certificate');

like(attempt('insecure', $port{t5}, $other, '--insecure'),
     qr/QUIC connected/, '--insecure skips the check');

# both: a mistake, not a silent --insecure

{
    my $bin = tunnel_bin();
    my $args = "--listen 127.0.0.1:$port{t1} --cafile $crt --insecure";
    my $out = `timeout 5 $bin $args $good 2>&1`;
    is($? >> 8, 2, '--cafile with --insecure: the tunnel does not start');
    like($out, qr/--cafile and --insecure exclude each other/,
         'and says why');
}

unlike(slurp($elog), qr/\[(?:alert|crit|emerg)\]/, 'no alerts');

run_tests();

__DATA__
