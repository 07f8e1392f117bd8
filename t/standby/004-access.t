# The signed redirect (standby_redirect_secret) that stock secure_link on
# the standby verifies: accepted, tampered, expired; and the stock access
# checks of the primary that refuse first, so a refused request never
# reaches the standby (auth_request, deny, secure_link), whatever
# "satisfy" says.  Real nginx processes on loopback.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();

my ($pp, $sp) = start_pair(
    standby => { media => <<'_EOC_' },
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri s3cret";
            if ($secure_link = "") { return 403; }
            if ($secure_link = "0") { return 410; }
_EOC_
    primary => { media => 'standby_redirect_secret s3cret 60s;',
                 server => <<"_EOC_" });
        location /short/ {
            standby_redirect /_standby/check?uri=/media/\$arg_f;
            standby_redirect_secret s3cret 1s;
            alias $dir/primary/media/;
        }
        location /auth/ {
            auth_request /auth;
            standby_redirect /_standby/check?uri=/media/\$arg_f;
            alias $dir/primary/media/;
        }
        location = /auth {
            internal;
            if (\$http_x_token = good) { return 204; }
            return 403;
        }
        location /deny/ {
            deny all;
            standby_redirect /_standby/check?uri=/media/\$arg_f;
            alias $dir/primary/media/;
        }
        location /any/ {
            satisfy any;
            allow 127.0.0.1;
            auth_request /auth;
            standby_redirect /_standby/check?uri=/media/\$arg_f;
            alias $dir/primary/media/;
        }
        location /signed/ {
            secure_link \$arg_md5;
            secure_link_md5 "\$uri client-secret";
            if (\$secure_link = "") { return 403; }
            standby_redirect /_standby/check?uri=/media/\$arg_f;
            alias $dir/primary/media/;
        }
_EOC_

sub follow {
    my ($loc) = @_;
    my ($path) = $loc =~ m{^http://127\.0\.0\.1:$sp(/.*)$} or return (0);
    return http_get($sp, $path);
}

# signed: accepted by stock secure_link on the standby
my $t0 = time;
my ($st, $h) = http_get($pp, '/media/f1.bin?md5=client&expires=1&x=1');
is($st, 302, 'signed redirect');
my $loc = $h->{location} // '';
like($loc, qr{^http://127\.0\.0\.1:$sp/media/f1\.bin\?x=1&md5=[A-Za-z0-9_-]{22}&expires=\d+&standby_hop=1$},
     "the client's md5= and expires= give way to ours, its other arguments stay");
my ($exp) = $loc =~ /expires=(\d+)/;
ok($exp >= int($t0) + 59 && $exp <= time + 61, 'expires is now + 60s');

my ($st2, undef, $body) = follow($loc);
is($st2, 200, 'stock secure_link on the standby accepts it');
is($body, slurp("$dir/primary/media/f1.bin"), 'and serves the same bytes');

# $arg_md5 and $arg_expires on the standby take the first in any case:
# the client's MD5= and Expires= give way to ours too
($st, $h) = http_get($pp, '/media/f1.bin?MD5=AAAAAAAAAAAAAAAAAAAAAA&Expires=9999999999&x=1');
is($st, 302, 'signed redirect, client arguments in upper case');
unlike($h->{location} // '', qr/[?&](?:MD5|Expires)=/, 'without them');
($st2) = follow($h->{location} // '');
is($st2, 200, 'and accepted by the standby');

(my $tampered = $loc) =~ s/md5=(.)/'md5=' . ($1 eq 'A' ? 'B' : 'A')/e;
($st2) = follow($tampered);
is($st2, 403, 'a tampered md5 is refused');

(my $later = $loc) =~ s/expires=(\d+)/'expires=' . ($1 + 3600)/e;
($st2) = follow($later);
is($st2, 403, 'a longer lifetime with the same md5 is refused');

(my $other = $loc) =~ s{/media/f1\.bin}{/media/f2.bin};
($st2) = follow($other);
is($st2, 403, 'the signature of one file does not open another');

# a name that is escaped in the url: the signature covers the decoded $uri
write_file("$dir/$_/media/sp ace.bin", "space\n") for qw(primary standby);
($st, $h) = http_get($pp, '/media/sp%20ace.bin');
is($st, 302, 'signed redirect of an escaped name');
($st2, undef, $body) = follow($h->{location} // '');
is($st2, 200, 'accepted by the standby');
is($body, "space\n", 'the file');

# a check uri with "//": the url has the path the standby's $uri will
# have (slashes merged), else its signature would not match
($st, $h) = http_get($pp, '/short/x?f=//f9.bin');
is($st, 302, 'signed redirect of a check uri with "//"');
like($h->{location} // '', qr{^http://127\.0\.0\.1:$sp/media/f9\.bin\?},
     'to the path with its slashes merged');
($st2, undef, $body) = follow($h->{location} // '');
is($st2, 200, 'accepted by the standby');
is($body, slurp("$dir/primary/media/f9.bin"), 'the file');

# expired
($st, $h) = http_get($pp, '/short/x?f=f3.bin');
is($st, 302, 'a signature for one second');
($st2) = follow($h->{location} // '');
is($st2, 200, 'accepted at once');
sleep 2.1;   # past its lifetime
($st2) = follow($h->{location} // '');
is($st2, 410, 'and refused as expired (410) later');

# refused on the primary before any standby query
($st) = http_get($pp, '/auth/x?f=f4.bin');
is($st, 403, 'auth_request refuses');
($st, $h) = http_request('GET', $pp, '/auth/x?f=f5.bin', undef,
                         { 'X-Token' => 'good' });
is($st, 302, 'auth_request allows: redirect');
($st) = http_get($pp, '/deny/x?f=f6.bin');
is($st, 403, 'deny refuses');
($st) = http_get($pp, '/signed/x?f=f7.bin&md5=AAAAAAAAAAAAAAAAAAAAAA');
is($st, 403, 'secure_link on the primary refuses');
($st) = http_get($pp, '/any/x?f=f8.bin');
is($st, 302, 'satisfy any: allow passes, and the redirect still runs');

my @s = marker('standby', $sp);
ok(!(grep { m{uri=/media/f4\.bin} } @s), 'no check for a request auth_request refused');
ok((grep { m{uri=/media/f5\.bin} } @s), 'a check for the one it allowed');
ok(!(grep { m{uri=/media/f6\.bin} } @s), 'no check for a denied request');
ok(!(grep { m{uri=/media/f7\.bin} } @s), 'no check for a bad secure link');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
