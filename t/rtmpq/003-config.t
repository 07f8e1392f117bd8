# ngx_stream_rtmpq_module's configuration errors are caught when nginx
# reads its configuration ("nginx -t"): certificate files are loaded then.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $dir = helper_dir();
($ENV{TEST_NGINX_RTMPQ_CRT}, $ENV{TEST_NGINX_RTMPQ_KEY}) = make_cert($dir);
$ENV{TEST_NGINX_RTMPQ_DIR} = $dir;

open my $fh, '>', "$dir/short.key" or die $!;
print $fh "too short\n";
close $fh;

add_block_preprocessor(sub {
    my $block = shift;
    my $stream = $block->stream_config // '';

    $block->set_value('main_config', <<"EOC");
    load_module /usr/lib/nginx/modules/ngx_stream_module.so;
    load_module \$TEST_NGINX_MODULE_DIR/ngx_stream_rtmpq_module.so;
    stream {
$stream
    }
EOC

    $block->set_value('config', "    location = /t { return 200 \"ok\\n\"; }\n");
    unless ($block->request) {
        $block->set_value('must_die', 1);
        $block->set_value('suppress_stderr', 1);
    }
});

run_tests();

__DATA__

=== TEST 1: a good server starts
--- stream_config
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp reuseport;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_certificate $TEST_NGINX_RTMPQ_CRT;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_KEY;
            rtmpq_congestion_control bbr;
            rtmpq_stream_window 2m;
            rtmpq_connection_window 4m;
        }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 2: no certificate
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
        }
--- error_log
no "rtmpq_certificate" or "rtmpq_certificate_key" for "rtmpq_pass"



=== TEST 3: a certificate file that is not there
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_certificate $TEST_NGINX_RTMPQ_DIR/nosuch.crt;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_KEY;
        }
--- error_log eval
qr/cannot load ".*nosuch\.crt" and ".*rtmpq\.key": /



=== TEST 4: a key that does not match
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_certificate $TEST_NGINX_RTMPQ_CRT;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_DIR/short.key;
        }
--- error_log eval
qr/cannot load ".*rtmpq\.crt" and ".*short\.key": /



=== TEST 5: a TCP listen
--- stream_config
        server {
            listen 127.0.0.1:1935;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_certificate $TEST_NGINX_RTMPQ_CRT;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_KEY;
        }
--- error_log
"rtmpq_pass" needs "listen 127.0.0.1:1935 udp"



=== TEST 6: a backend without a port
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1;
        }
--- error_log
no port in "rtmpq_pass 127.0.0.1"



=== TEST 7: an unknown congestion control
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_congestion_control vegas;
        }
--- error_log
invalid value "vegas"



=== TEST 8: a host key file that is too short
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_certificate $TEST_NGINX_RTMPQ_CRT;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_KEY;
            rtmpq_host_key $TEST_NGINX_RTMPQ_DIR/short.key;
        }
--- error_log eval
qr/cannot read host key ".*short\.key": fewer than 32 bytes/



=== TEST 9: a stream window above the connection window
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_stream_window 4m;
            rtmpq_connection_window 1m;
            rtmpq_certificate $TEST_NGINX_RTMPQ_CRT;
            rtmpq_certificate_key $TEST_NGINX_RTMPQ_KEY;
        }
--- error_log
"rtmpq_stream_window" must be at least 16k and not above "rtmpq_connection_window"



=== TEST 10: rtmpq_pass twice
--- stream_config
        server {
            listen 127.0.0.1:1935 udp;
            rtmpq_pass 127.0.0.1:1935;
            rtmpq_pass 127.0.0.1:1936;
        }
--- error_log
"rtmpq_pass" directive is duplicate
