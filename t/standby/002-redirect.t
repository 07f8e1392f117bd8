# standby_redirect with a real standby: a redirect when the standby has
# the file and spare load, local serving when it lacks it; the client's
# arguments carried over, the hop marker, methods, ranges, and clients
# that follow the redirect get the bytes the primary has.  Real nginx
# processes on loopback (t/helpers/LiveCdn/Standby.pm).  Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my ($pp, $sp) = start_pair(primary => { server => <<"_EOC_" });
        location /ep/ {
            standby_redirect /_standby/check?uri=\$standby_uri;
            error_page 404 /media/f6.bin;
            root $dir/primary;
        }
        location /raw/ {
            standby_redirect "/_standby/check?uri=\$uri&from=raw%2F1";
            root $dir/primary;
        }
_EOC_

my ($st, $h, $body) = http_get($pp, '/media/f1.bin?a=1&b=two');
is($st, 302, 'the standby has it: 302');
is($h->{location}, "http://127.0.0.1:$sp/media/f1.bin?a=1&b=two&standby_hop=1",
   "to the standby's url, the client's arguments and the hop marker");
is($h->{'cache-control'}, 'no-store', 'a redirect is not cached');

my @l = wait_log('primary', qr{^/media/f1\.bin\?a=1&b=two 302 });
ok((grep { $_ eq '/media/f1.bin?a=1&b=two 302 redirect available' } @l),
   '$standby_action and $standby_reason say so');

($st, $h, $body) = http_get($pp, '/media/only-primary.bin');
is($st, 200, 'the standby lacks it: served locally');
is($body, "primary only\n", 'with the local bytes');
@l = wait_log('primary', qr{^/media/only-primary\.bin });
ok((grep { $_ eq '/media/only-primary.bin 200 local not_found' } @l),
   'logged as local, not_found');

($st, $h, $body) = http_get($pp, '/media/nothing-anywhere.bin');
is($st, 404, 'neither has it: the stock 404 of the primary');

# an error page is the answer to what was asked, not media to redirect
($st, $h, $body) = http_get($pp, '/ep/nothing.bin');
is($st, 404, 'an error page (here a file the standby has) is not redirected');
is($body, slurp("$dir/primary/media/f6.bin"), 'it is the local error page');
@l = wait_log('primary', qr{^/ep/nothing\.bin });
ok((grep { $_ eq '/ep/nothing.bin 404 skipped error_page' } @l),
   'skipped, error_page');

($st, $h) = http_get($pp, '/media/f2.bin?standby_hop=1');
is($st, 200, 'a request with the hop marker is never redirected again');
@l = wait_log('primary', qr{^/media/f2\.bin\?standby_hop=1 });
ok((grep { $_ eq '/media/f2.bin?standby_hop=1 200 skipped hop' } @l),
   'skipped, hop');

($st) = http_request('POST', $pp, '/media/f3.bin', 'x=1');
is($st, 405, 'POST is not a candidate (the static module refuses it)');
@l = wait_log('primary', qr{^/media/f3\.bin 405 });
ok((grep { $_ eq '/media/f3.bin 405 skipped method' } @l), 'skipped, method');

($st, $h, $body) = http_request('HEAD', $pp, '/media/f4.bin');
is($st, 302, 'HEAD is redirected');
like($h->{location} // '', qr{/media/f4\.bin\?standby_hop=1$}, 'HEAD location');

($st, $h) = http_request('GET', $pp, '/media/f5.bin', undef,
                         { Range => 'bytes=10-19' });
is($st, 302, 'a range request is redirected like any other');

# a file name that needs escaping on the way to the standby and back
write_file("$dir/$_/media/a b&c+d.bin", "odd name\n") for qw(primary standby);
($st, $h) = http_get($pp, '/media/a%20b%26c%2Bd.bin');
is($st, 302, 'a name with a space, "&" and "+" is checked as it is');
is($h->{location},
   "http://127.0.0.1:$sp/media/a%20b&c+d.bin?standby_hop=1",
   'and the url names it escaped');

# a name the standby finds bad is an answer, not a failure of the
# standby: no retry window for the others
($st) = http_get($pp, '/media/bad%01name.bin');
is($st, 404, 'a control byte in the name: the standby says 400, served here');
@l = wait_log('primary', qr{^/media/bad%01name\.bin });
ok((grep { $_ eq '/media/bad%01name.bin 404 local bad_uri' } @l),
   'local, bad_uri');
($st) = http_get($pp, '/media/f8.bin');
is($st, 302, 'and the next request is redirected');

# with plain $uri: bytes a request line cannot carry are escaped, the
# rest of the arguments stay as written
# (an "&" in a name would end the argument: $standby_uri is for those)
write_file("$dir/$_/raw/sp ace.bin", "raw\n") for qw(primary standby);
($st, $h) = http_get($pp, '/raw/sp%20ace.bin?q=1');
is($st, 302, 'plain $uri with a space: checked and redirected');
is($h->{location},
   "http://127.0.0.1:$sp/raw/sp%20ace.bin?q=1&standby_hop=1",
   'to the escaped url');
my @s0 = marker('standby', $sp);
ok((grep { m{^/standby/check\?uri=/raw/sp%20ace\.bin&from=raw%2F1 200$} } @s0),
   'the check as written, the space escaped');

# cached per URI for standby_redirect_cache (1s here, the default)
($st, $h) = http_get($pp, '/media/f1.bin?again=1');
is($st, 302, 'f1.bin again: redirect');

my @s = marker('standby', $sp);
is(scalar(grep { m{^/standby/check\?uri=/media/f1\.bin 200$} } @s), 1,
   'the standby was asked once for f1.bin while its answer is cached');

sleep 1.5;   # past standby_redirect_cache

($st, $h) = http_get($pp, '/media/f1.bin');
is($st, 302, 'f1.bin after the cache period: redirect');
@s = marker('standby', $sp);
is(scalar(grep { m{^/standby/check\?uri=/media/f1\.bin 200$} } @s), 2,
   'after a second check');
ok((grep { m{^/standby/check\?uri=/media/only-primary\.bin 404$} } @s),
   'and said 404 for only-primary.bin');

# clients that follow the redirect get what the primary has
for my $f (qw(f6.bin f7.bin)) {
    my $got = `curl -sS -L --max-redirs 3 http://127.0.0.1:$pp/media/$f`;
    my $want = slurp("$dir/primary/media/$f");
    ok(length($got) == length($want) && $got eq $want,
       "curl -L: $f, the same bytes as on the primary");
}

my @p = marker('primary', $pp);
ok((grep { $_ eq '/media/f6.bin 302 redirect available' } @p),
   'curl went through the redirect');
@s = marker('standby', $sp);
ok((grep { m{^/media/f6\.bin\?standby_hop=1 200$} } @s),
   'and the standby served it');

done_testing();
