# A standby on IPv6: the check goes to [::1]:port, the url names that
# address in brackets, and the redirect follows; a url naming the same
# port on 127.0.0.1 is not that standby and is refused.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use IO::Socket::IP;
use LiveCdn::Helpers;
use LiveCdn::Standby;

IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1)
    or plan skip_all => 'no IPv6 loopback';

my $dir = make_media();
my $sp = free_port();
my $pp = free_port();

my $conf = standby_conf(port => $sp, server => <<"_EOC_");
        location = /v6/check {
            standby_check root=$dir/standby max_conns=100
                          base=http://[::1]:$sp;
        }
_EOC_
$conf =~ s/listen 127\.0\.0\.1:$sp;/listen [::1]:$sp;/ or die "listen\n";
start_nginx_helper('standby', conf => $conf);

my $up;
for (1 .. 200) {
    $up = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $sp) and last;
    select(undef, undef, undef, 0.05);
}
ok($up, 'the standby listens on [::1]');

start_nginx_helper('primary', wait_port => $pp, conf => primary_conf(
    port => $pp, standby => $sp, server => <<"_EOC_"));
        location /v6/ {
            standby_redirect /_v6/check?uri=/media/\$arg_f;
            standby_redirect_retry 0;
            alias $dir/primary/media/;
        }
        location /_v6/ {
            internal;
            proxy_pass http://[::1]:$sp/v6/;
        }
        location /v4name/ {
            standby_redirect /_v4name/check?uri=/media/\$arg_f;
            alias $dir/primary/media/;
        }
        location /_v4name/ {
            internal;
            proxy_pass http://[::1]:$sp/standby/;
        }
_EOC_

# the standby's own /standby/check names 127.0.0.1, where it does not listen
my ($st, $h) = http_get($pp, '/v6/x?f=f1.bin');
is($st, 302, 'a standby on [::1]: redirect');
is($h->{location}, "http://[::1]:$sp/media/f1.bin?f=f1.bin&standby_hop=1",
   'to its IPv6 url');

($st, $h) = http_get($pp, '/v4name/x?f=f2.bin');
isnt($st, 302, 'an answer naming 127.0.0.1 from [::1] is refused');
like(slurp("$dir/primary/logs/error.log") // '',
     qr/standby: answer of "\[::1\]:$sp" refused: url is not on the standby that was asked/,
     'and logged');

done_testing();
