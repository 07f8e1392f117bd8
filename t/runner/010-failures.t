# Every check of our runner (t/lib) can fail: fixtures/fail.tt has one
# block per check, each wrong in exactly one way.  Run in a subprocess,
# the file must fail, each block on its own check only, and say why.
# Plain Test::More: a test of our runner, whichever runner runs t/.

use strict;
use warnings;

use Test::More;

require './t/runner/lib.pl';

my ($status, $out) = run_fixture('t/runner/fixtures/fail.tt');

isnt($status, 0, 'the failing fixture exits non-zero');

my @res = tap_results($out);

# [block title, qr of the one failing check, qr of its diagnostic,
#  number of passing checks of the block]
my @cases = (
    ['body mismatch', qr/response_body - response is expected/,
     qr/got: "hello\\x\{0a\}"\n#\s+length: 6\n#\s+expected: "world\\x\{0a\}"/,
     1],
    ['wrong status', qr/status code ok/,
     qr/got: '404'\n#\s+expected: '200'/, 0],
    ['error_log line missing',
     qr/pattern "no such line in any error log" should match a line/,
     qr/should match a line in error\.log/, 2],
    ['no_error_log line present',
     qr/pattern "\[error\]" should not match any line in error\.log but matches line ".*\[error\].*nonexistent-runner-selftest/,
     qr/No such file or directory/, 1],
    ['client timeout', qr/^ERROR: client socket timed out - /,
     qr/client socket timed out/, 2],
    ['response header mismatch', qr/header X-Foo ok/,
     qr/got: 'bar'\n#\s+expected: 'baz'/, 1],
    ['response header mismatch', qr/header X-Bar not present in the raw headers/,
     qr/X-Bar: here/, 1],
    ['response_body_like mismatch',
     qr/response_body_like - response is expected \(hello\)/,
     qr/'hello\n# '\n#\s+doesn't match '\(\?\^s:\^\\d\+\$/, 1],
    ['response_headers_like mismatch', qr/header X-Num like ok/,
     qr/'abc'\n#\s+doesn't match/, 1],
    ['grep_error_log_out mismatch', qr/grep_error_log_out \(req 0\)/,
     qr/got: "http request line: "GET \/t HTTP\/1\.1"\\x\{0a\}"/, 2],
    ['must_die, but nginx starts', qr/die as expected/,
     qr/nginx must die but it does not; killing it/, 0],
);

for my $c (@cases) {
    my ($title, $check, $diag, $passes) = @$c;
    my @mine = grep { $_->[1] =~ /\Q$title\E/ } @res;
    my @failed = grep { !$_->[0] } @mine;

    ok((grep { $_->[1] =~ $check } @failed),
       "$title: fails on its check") or diag($out);
    like($out, $diag, "$title: the diagnostic says why");

    # the block's other checks pass: the failure is this one, not a
    # broken block
    my $ok = grep { $_->[0] } @mine;
    cmp_ok($ok, '>=', $passes, "$title: its other checks pass ($ok)");
}

# every failure is one of the expected ones
my @unexpected = grep {
    my $r = $_;
    !$r->[0] && !grep { $r->[1] =~ /\Q$_->[0]\E/ && $r->[1] =~ $_->[1] }
                     @cases
} @res;
is(scalar @unexpected, 0, 'no other check failed')
    or diag(join "\n", map { $_->[1] } @unexpected);

done_testing();
