package Test::Nginx::Memcheck;

# valgrind's memcheck for every nginx a test starts: the command line and
# the reader of its logs.  Shared by our runner (Test::Nginx::Socket) and
# by the helper nginx processes of t/helpers (LiveCdn::Helpers), which
# load this file by path so that it works under the upstream runner too.

use strict;
use warnings;

use List::Util qw(min);

# valgrind in front of an nginx command; $opts: TEST_NGINX_USE_VALGRIND
# ("1" for our defaults, or valgrind options of the user's own),
# $logs: the directory for valgrind.<pid>.log.  Forked workers stay under
# memcheck (each gets a log of its own).  nginx unloads its modules at
# exit, before the leak check: --keep-debuginfo names their frames.
sub command {
    my ($opts, $logs) = @_;
    my @opts = (!defined $opts || $opts =~ /^\d+$/)
        ? ('--tool=memcheck', '--leak-check=full', '--num-callers=50',
           '--keep-debuginfo=yes',
           '--show-possibly-lost=no', '--errors-for-leak-kinds=definite',
           '--error-exitcode=99', '--gen-suppressions=all')
        : split ' ', $opts;

    for my $supp ('t/valgrind.suppress', 'valgrind.suppress') {
        if (-f $supp) {
            push @opts, "--suppressions=$supp";
            last;
        }
    }

    return ('valgrind', @opts, "--log-file=$logs/valgrind.%p.log");
}

# The problems in valgrind logs: a list of reports (file, headline and
# stack), empty when memcheck found no error and no definite leak that
# the suppressions do not cover.
sub problems {
    my @problems;

    for my $f (@_) {
        open my $in, '<', $f or next;
        my $text = do { local $/; <$in> } // '';
        my @mine;

        for my $rec (split /^==\d+==\s*\n/m, $text) {
            (my $clean = $rec) =~ s/^==\d+== ?//mg;
            $clean =~ s/^\{.*?^\}\s*//msg;   # generated suppressions
            next unless $clean =~ /^\s*(Invalid\ (?:read|write|free)
                    |Mismatched\ free|Conditional\ jump
                    |Use\ of\ uninitialised|Syscall\ param
                    |Source\ and\ destination\ overlap
                    |Argument\ '.*'\ of\ function
                    |Process\ terminating
                    |.*definitely\ lost\ in\ loss\ record)/xm;
            my @l = split /\n/, $clean;
            push @mine, join("\n", "$f:", @l[0 .. min(30, $#l)]);
        }

        # an error of a kind not listed above still counts
        if (!@mine && $text =~ /ERROR SUMMARY: ([1-9]\d*) errors/) {
            push @mine, "$f: ERROR SUMMARY: $1 errors";
        }

        push @problems, @mine;
    }

    return @problems;
}

1;
