package LiveCdn::Rtmpq;

# RTMP over QUIC test parts: a certificate made at test time (openssl),
# the suite's rtmpq-tunnel as a helper process, waiting on a log line, a
# UDP relay that injects faults, and the nginx configs: the QUIC front
# (ngx_stream_rtmpq_module) and stock nginx-rtmp behind it.

use strict;
use warnings;

use Cwd qw(getcwd);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

use Exporter 'import';
our @EXPORT = qw(make_cert start_tunnel wait_log wait_count
                 rtmpq_front_conf rtmp_backend_conf start_udp_relay
                 tunnel_bin);


sub tunnel_bin {
    return "$ENV{TEST_NGINX_MODULE_DIR}/rtmpq-tunnel";
}


# a self-signed EC certificate for localhost and 127.0.0.1
sub make_cert {
    my ($dir) = @_;
    my ($crt, $key) = ("$dir/rtmpq.crt", "$dir/rtmpq.key");

    system("openssl req -x509 -newkey ec -pkeyopt "
           . "ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $crt "
           . "-days 2 -subj /CN=localhost -addext "
           . "subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1") == 0
        or die "openssl failed\n";

    return ($crt, $key);
}


# wait until $file has a line matching $re; returns the text or undef
sub wait_log {
    my ($file, $re, $secs) = @_;
    my $deadline = time + ($secs // 10);

    while (time < $deadline) {
        if (open my $fh, '<', $file) {
            local $/;
            my $text = <$fh> // '';
            return $text if $text =~ $re;
        }
        sleep 0.05;
    }

    return undef;
}


# wait until $file has $n lines matching $re; returns how many it has
sub wait_count {
    my ($file, $re, $n, $secs) = @_;
    my $deadline = time + ($secs // 10);
    my $count = 0;

    while (time < $deadline) {
        if (open my $fh, '<', $file) {
            $count = grep { $_ =~ $re } <$fh>;
            return $count if $count >= $n;
        }
        sleep 0.05;
    }

    return $count;
}


# rtmpq-tunnel as helper $name; returns its log file once it listens
sub start_tunnel {
    my ($name, %opt) = @_;
    my $log = helper_dir() . "/$name.log";

    start_helper($name, cmd => [tunnel_bin(), '--listen',
                                "127.0.0.1:$opt{port}",
                                @{ $opt{args} || [] }, $opt{uri}]);

    wait_log($log, qr/listening/, 10)
        or die "tunnel $name did not start:\n" . (slurp($log) // '');

    return $log;
}


# The QUIC front: ngx_stream_rtmpq_module on $p{quic}, to $p{rtmp};
# "extra" directives for that server, "servers" more stream servers
sub rtmpq_front_conf {
    my (%p) = @_;
    my $workers = $p{workers} || 1;
    my $extra = $p{extra} || '';
    my $more = $p{servers} || '';

    return <<"EOC";
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module $ENV{TEST_NGINX_MODULE_DIR}/ngx_stream_rtmpq_module.so;
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
stream {
    server {
        listen 127.0.0.1:$p{quic} udp reuseport;
        rtmpq_pass 127.0.0.1:$p{rtmp};
        rtmpq_proxy_protocol on;
        rtmpq_certificate $p{crt};
        rtmpq_certificate_key $p{key};
        $extra
    }
    $more
}
EOC
}


# Stock nginx-rtmp (one worker: live streams are per worker): $p{rtmp}
# with proxy_protocol for the module, $p{play} without for players;
# on_publish / on_play bodies land in logs/notify.log
sub rtmp_backend_conf {
    my (%p) = @_;

    return <<"EOC";
load_module $ENV{TEST_NGINX_RTMP_MODULE};
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    log_format notify '\$request_body';
    client_body_temp_path client_body;
    proxy_temp_path proxy_temp;
    server {
        listen 127.0.0.1:$p{http};
        location = /notify {
            access_log logs/notify.log notify;
            proxy_pass http://127.0.0.1:$p{http}/ok;
        }
        location = /ok { return 200; }
    }
}
rtmp {
    server {
        listen 127.0.0.1:$p{rtmp} proxy_protocol;
        listen 127.0.0.1:$p{play};
        application live {
            live on;
            on_publish http://127.0.0.1:$p{http}/notify;
            on_play http://127.0.0.1:$p{http}/notify;
        }
    }
}
EOC
}


# A UDP relay on $port to $to that injects a fault: "first" passes the
# first client datagram only, so the handshake never finishes.
sub start_udp_relay {
    my ($name, %opt) = @_;
    my $dir = $INC{'LiveCdn/Rtmpq.pm'} =~ s{/LiveCdn/Rtmpq\.pm$}{}r;

    return start_helper($name, cmd => ['perl', "$dir/udp-relay.pl",
                                       $opt{port}, $opt{to}, $opt{mode}]);
}


1;
