# util/build-against builds the modules against another nginx tree into
# the folder it is given, and refuses a folder that holds anything else.
# The tree here is the one nginx-dev installs (the one `make` uses).
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;

my $src = $ENV{NGX_SRC} || '/usr/share/nginx/src';
my $dir = helper_dir();
my $default = "build/against-" . (split m{/}, $src)[-1];
my $before = -e $default ? (stat _)[9] : undef;

my $out = `util/build-against $src $dir/out 2>&1`;
is($?, 0, 'built') or diag $out;

for my $m (qw(http_tier http_hls_fast_start http_httpdns http_standby
              stream_rtmpq))
{
    ok(-f "$dir/out/objs/ngx_${m}_module.so", "$m module in the folder");
}

is(-e $default ? (stat _)[9] : undef, $before, 'nothing written to build/');

# again into its own earlier output: emptied and built again
$out = `util/build-against $src $dir/out 2>&1`;
is($?, 0, 'built again into its earlier output') or diag $out;

# a folder with other things in it is left alone
mkdir "$dir/mine";
open my $fh, '>', "$dir/mine/keep" or die "$!\n";
close $fh;

$out = `util/build-against $src $dir/mine 2>&1`;
isnt($?, 0, 'a folder holding other files is refused');
like($out, qr/not empty/, 'with a reason');
ok(-f "$dir/mine/keep", 'and left as it was');

done_testing();
