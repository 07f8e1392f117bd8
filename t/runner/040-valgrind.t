# Our runner's valgrind mode on stock nginx: a block passes with the
# project's suppressions; run where t/valgrind.suppress is not, nginx's
# own start-up leaks make the block's memcheck test fail, with the stack;
# HUP mode is turned off, with a warning.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);

require './t/runner/lib.pl';

my $fx = 't/runner/fixtures/one.tt';

my ($st, $out) = run_fixture($fx, TEST_NGINX_USE_VALGRIND => 1,
                             TEST_NGINX_USE_HUP => 1);
is($st, 0, 'with t/valgrind.suppress: the block passes') or diag($out);
like($out, qr/^ok \d+ - .*TEST 1: one request - valgrind: no memcheck errors or definite leaks$/m,
     'and says so in a test of its own');
like($out, qr/TEST_NGINX_USE_HUP is ignored under valgrind/,
     'HUP mode is turned off, with a warning');

my $cwd = tempdir(CLEANUP => 1);
mkdir "$cwd/t" or die "$cwd/t: $!\n";

($st, $out) = run_fixture($fx, TEST_NGINX_USE_VALGRIND => 1, _cwd => $cwd);
isnt($st, 0, 'without suppressions: the file fails');
like($out, qr/^not ok \d+ - .*TEST 1: one request - valgrind: no memcheck errors or definite leaks$/m,
     'on the memcheck test');
like($out, qr/definitely lost in loss record.*\n(?:#.*\n)*#\s+by 0x\w+: ngx_set_environment/,
     "with the stack of nginx's start-up leak");
ok((grep { $_->[0] } tap_results($out)) >= 2,
   'the checks of the block itself pass');

done_testing();
