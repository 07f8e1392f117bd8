# The memcheck log reader (t/lib/Test/Nginx/Memcheck.pm) on canned
# valgrind logs: an invalid read and a definite leak in our code are
# problems, with their stacks; nginx's own start-up leaks are problems
# until t/valgrind.suppress covers them (startup-unsuppressed.log and
# startup-suppressed.log are real logs of Debian's nginx, master off,
# without and with that file).

use strict;
use warnings;

use Test::More;

# by path: t/lib is not in @INC under the upstream runner
require './t/lib/Test/Nginx/Memcheck.pm';

my $dir = 't/runner/valgrind';

sub problems {
    return Test::Nginx::Memcheck::problems(map { "$dir/$_" } @_);
}

my @p = problems('invalid-read.log');
is(scalar @p, 1, 'an invalid read is one problem');
like($p[0] // '', qr/\A\Q$dir\E\/invalid-read\.log:\nInvalid read of size 8\n/,
     'named with its file and headline');
like($p[0] // '', qr/at 0x\w+: ngx_http_tier_enum_handler \(ngx_http_tier/,
     'with the stack into our code');
like($p[0] // '', qr/Address 0x\w+ is 8 bytes after a block/,
     'and what was read');
unlike($p[0] // '', qr/insert_a_suppression_name_here/,
       'without the generated suppression');

@p = problems('our-leak.log');
is(scalar @p, 1, 'a definite leak in our code is one problem');
like($p[0] // '',
     qr/^64 bytes in 1 blocks are definitely lost.*httpdns_init_process/ms,
     'with its size and our allocating function');

@p = problems('startup-unsuppressed.log');
is(scalar @p, 2, "nginx's own start-up leaks are found without suppressions");
like(join("\n", @p), qr/ngx_set_environment/, 'ngx_set_environment');

is_deeply([problems('startup-suppressed.log')], [],
          'the same run with t/valgrind.suppress: no problem');

# the suppression file names no frame of ours
open my $fh, '<', 't/valgrind.suppress' or die "t/valgrind.suppress: $!\n";
my @ours = grep { /ngx_http_(?:tier|httpdns|hls_fast_start|live)/ } <$fh>;
is(scalar @ours, 0, 't/valgrind.suppress suppresses nothing of ours');

# an error summary without a record the reader knows still counts
my $tmp = "$dir/../summary-only.tmp";
open my $out, '>', $tmp or die "$tmp: $!\n";
print $out "==1== ERROR SUMMARY: 3 errors from 1 contexts (suppressed: 0 "
           . "from 0)\n";
close $out;
@p = Test::Nginx::Memcheck::problems($tmp);
unlink $tmp;
is(scalar @p, 1, 'a bare non-zero error summary is a problem');

my $n = () = problems('invalid-read.log', 'startup-suppressed.log',
                      'our-leak.log');
is($n, 2, 'several files: the problems of each');

done_testing();
