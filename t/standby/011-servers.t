# Two server blocks of one primary, each asking its own standby through
# an internal location of the same URI: the answers (and the retry
# windows) of one server are never used by the other.  Real nginx
# processes on loopback.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my ($pa, $pb, $s1, $s2) = map { free_port() } 1 .. 4;

start_nginx_helper('s1', wait_port => $s1, valgrind => 1,
                   conf => standby_conf(port => $s1));
start_nginx_helper('s2', wait_port => $s2, valgrind => 1,
                   conf => standby_conf(port => $s2));

# cached for a minute: B's request comes while A's answer is fresh
start_nginx_helper('primary', wait_port => $pa, valgrind => 1,
                   conf => primary_conf(port => $pa, standby => $s1,
                                        http => <<"_EOC_"));
    standby_redirect_cache 60s;
    server {
        listen 127.0.0.1:$pb;
        location /media/ {
            standby_redirect /_standby/check?uri=\$standby_uri;
            root $dir/primary;
        }
        location /_standby/ {
            internal;
            proxy_pass http://127.0.0.1:$s2/standby/;
        }
    }
_EOC_
wait_tcp_port($pb, 10) or die "no listener on $pb\n";

my ($st, $h) = http_get($pa, '/media/f1.bin');
is($st, 302, 'server A: redirect');
like($h->{location} // '', qr{^http://127\.0\.0\.1:$s1/media/f1\.bin\?},
     "to A's standby");

($st, $h) = http_get($pb, '/media/f1.bin');
is($st, 302, 'server B, same URI and internal location URI: redirect');
like($h->{location} // '', qr{^http://127\.0\.0\.1:$s2/media/f1\.bin\?},
     "to B's own standby, not A's cached answer");

my @l = marker('s2', $s2);
ok((grep { m{^/standby/check\?uri=/media/f1\.bin 200$} } @l),
   "B's standby was asked");

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
