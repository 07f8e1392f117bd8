# A symmetric pair: each controller is the other's standby.  A client
# sent from A to B is served by B (the hop marker), never sent back.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my $ap = free_port();
my $bp = free_port();

sub conf {
    my ($side, $port, $peer, $server_level) = @_;
    my $srv = $server_level
              ? 'standby_redirect /_peer/check?uri=$standby_uri;' : '';
    my $loc = $server_level
              ? '' : 'standby_redirect /_peer/check?uri=$standby_uri;';
    return <<"_EOC_";
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 256; }
http {
    log_format pair '\$request_uri \$status \$standby_action \$standby_reason';
    access_log logs/access.log pair;
    server {
        listen 127.0.0.1:$port;
        $srv
        location = /standby/check {
            standby_check root=$dir/$side max_conns=100
                          base=http://127.0.0.1:$port;
        }
        location /media/ {
            $loc
            root $dir/$side;
        }
        location /_peer/ {
            internal;
            proxy_pass http://127.0.0.1:$peer/standby/;
            proxy_read_timeout 3s;
        }
        location = /marker { return 204; }
    }
}
_EOC_
}

start_nginx_helper('a', wait_port => $ap, valgrind => 1,
                   conf => conf('primary', $ap, $bp));
start_nginx_helper('b', wait_port => $bp, valgrind => 1,
                   conf => conf('standby', $bp, $ap));

my ($st, $h) = http_get($ap, '/media/f1.bin');
is($st, 302, 'A sends the client to B');
my ($path) = ($h->{location} // '') =~ m{^http://127\.0\.0\.1:$bp(/.*)$};
is($path, '/media/f1.bin?standby_hop=1', 'with the hop marker');

my $body;
($st, $h, $body) = http_get($bp, $path);
is($st, 200, 'B serves it');
ok(!defined $h->{location}, 'and does not send it back');
is($body, slurp("$dir/standby/media/f1.bin"), 'its bytes');

my $got = `curl -sS -L --max-redirs 5 -w '%{num_redirects}' -o /dev/null http://127.0.0.1:$bp/media/f2.bin`;
is($got, '1', 'from B to A and no further: one redirect');

my @b = marker('b', $bp);
ok((grep { $_ eq '/media/f1.bin?standby_hop=1 200 skipped hop' } @b),
   'B logs the hop');
my @a = marker('a', $ap);
ok((grep { $_ eq '/media/f2.bin?standby_hop=1 200 skipped hop' } @a),
   'and so does A');

# standby_redirect on the whole server: the check location inherits it,
# but a check is never a candidate (else each controller's check asked
# the other's, and the two waited on each other until a timeout)
my $cp = free_port();
my $dp = free_port();
start_nginx_helper('c', wait_port => $cp, valgrind => 1,
                   conf => conf('primary', $cp, $dp, 1));
start_nginx_helper('d', wait_port => $dp, valgrind => 1,
                   conf => conf('standby', $dp, $cp, 1));

($st, $h) = http_get($cp, '/media/f3.bin');
is($st, 302, 'server level: C sends the client to D');
like($h->{location} // '', qr{^http://127\.0\.0\.1:$dp/media/f3\.bin\?},
     'to D');
my @d = marker('d', $dp);
ok((grep { $_ eq '/standby/check?uri=/media/f3.bin 200 - -' } @d),
   "D's check location does not ask C")
    or diag(join "\n", grep { /check/ } @d);

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
