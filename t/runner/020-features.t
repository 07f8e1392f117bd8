# Our runner's modes and header functions, exercised on fixture files in
# a subprocess: TEST_NGINX_USE_HUP (shared memory survives between
# blocks), block shuffling and TEST_NGINX_NO_SHUFFLE, TEST_NGINX_RANDOMIZE
# (two runs at once), repeat_each, SKIP, ONLY, env_to_nginx.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

require './t/runner/lib.pl';

my $fx = 't/runner/fixtures/features.tt';

sub results_of {
    my ($out, $test) = @_;
    return grep { $_->[1] =~ /features\.tt TEST $test:/ } tap_results($out);
}

sub order_of {
    my ($out) = @_;
    my @order;
    for (tap_results($out)) {
        my ($n) = $_->[1] =~ /features\.tt TEST (\d+):/ or next;
        push @order, $n unless @order && $order[-1] == $n;
    }
    return "@order";
}

# HUP mode: one nginx, reloaded: TEST 1's zone state limits TEST 2
my ($st, $out) = run_fixture($fx, TEST_NGINX_USE_HUP => 1,
                             TEST_NGINX_NO_SHUFFLE => 1);
is($st, 0, 'HUP mode: the file passes') or diag($out);
is(order_of($out), '1 2 4 5 6', 'no_shuffle: blocks in file order, '
   . 'SKIP block left out');
ok((grep { $_->[0] && $_->[1] =~ /status code ok/ } results_of($out, 2)),
   'HUP mode: the zone kept its state over the reload (503)');

# without HUP, nginx restarts per block: the zone is new, TEST 2 gets 200
($st, $out) = run_fixture($fx, TEST_NGINX_NO_SHUFFLE => 1);
isnt($st, 0, 'restart per block: the file fails');
my @failed = grep { !$_->[0] } tap_results($out);
is(scalar @failed, 1, 'exactly one failure') or diag($out);
like($failed[0][1] // '', qr/TEST 2: .* - status code ok/,
     'TEST 2, on its status');
like($out, qr/got: '200'\n#\s+expected: '503'/, 'a fresh zone: 200');

# repeat_each(3): every request of a block three times
($st, $out) = run_fixture($fx, TEST_NGINX_USE_HUP => 1,
                          TEST_NGINX_NO_SHUFFLE => 1, SELFTEST_REPEAT => 3);
is($st, 0, 'repeat_each(3) in HUP mode passes') or diag($out);
my @bodies = grep { $_->[1] =~ /response_body/ } results_of($out, 4);
is(scalar @bodies, 6, 'TEST 4: 2 requests x 3 repetitions');
ok((grep { $_->[1] =~ /\(repeated req 2, req 1\)/ } @bodies),
   'the third repetition of the second request');
is(scalar(grep { /status code ok/ } map { $_->[1] } results_of($out, 2)), 3,
   'TEST 2: three limited requests');

# shuffling: by default the order changes between runs
my %orders;
for (1 .. 3) {
    ($st, $out) = run_fixture($fx, TEST_NGINX_USE_HUP => undef);
    $orders{order_of($out)}++;
}
cmp_ok(scalar keys %orders, '>', 1,
       'blocks run in random order: ' . join(' | ', sort keys %orders));

# TEST_NGINX_RANDOMIZE: two runs at once, each on a port and server root
# of its own, which it removes when done
my $cwd = tempdir(CLEANUP => 1);
mkdir "$cwd/t" or die "$cwd/t: $!\n";
my @kids;
for (1 .. 2) {
    pipe(my $r, my $w) or die;
    my $pid = fork() // die;
    if ($pid == 0) {
        close $r;
        my ($s, $o) = run_fixture($fx, TEST_NGINX_USE_HUP => 1,
                                  TEST_NGINX_NO_SHUFFLE => 1, _cwd => $cwd);
        print $w "$s\n$o";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [$pid, $r];
}
for (@kids) {
    my ($pid, $r) = @$_;
    my ($s, $o) = split /\n/, do { local $/; <$r> }, 2;
    waitpid($pid, 0);
    is($s, 0, 'TEST_NGINX_RANDOMIZE: a run beside another passes')
        or diag($o);
}
my @left = glob "$cwd/t/servroot_*";
is("@left", '', 'and leaves no server root behind');

# SKIP and ONLY
ok(!results_of($out, 3), 'a SKIP block runs no test');
($st, $out) = run_fixture('t/runner/fixtures/only.tt');
is($st, 0, 'ONLY: the file passes');
my @names = map { $_->[1] } tap_results($out);
ok(@names && !grep({ !/TEST 2: the only one run/ } @names),
   'ONLY: only that block ran (' . scalar(@names) . ' tests)');

# env_to_nginx: the generated configuration passes the variable on
my $root = tempdir(CLEANUP => 1) . '/servroot';
my $port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1);
    $s->sockport;
};
($st, $out) = run_fixture($fx, TEST_NGINX_RANDOMIZE => undef,
                          TEST_NGINX_USE_HUP => 1,
                          TEST_NGINX_NO_SHUFFLE => 1,
                          TEST_NGINX_SERVROOT => $root,
                          TEST_NGINX_PORT => $port,
                          TEST_NGINX_NO_CLEAN => 1,
                          RUNNER_SELFTEST_VAR => 'x');
is($st, 0, 'a run with a server root and port of our choosing')
    or diag($out);
my $conf = do { local (@ARGV, $/) = "$root/conf/nginx.conf"; <> } // '';
like($conf, qr/^env RUNNER_SELFTEST_VAR;$/m,
     'env_to_nginx: an env line in nginx.conf');
like($conf, qr/^\s*listen\s+$port;$/m, 'TEST_NGINX_PORT is the port');

# TEST_NGINX_NO_CLEAN left that nginx running: stop it
my ($pid) = (do { local (@ARGV, $/) = "$root/logs/nginx.pid"; <> } // '')
            =~ /(\d+)/;
ok($pid && kill(0, $pid), 'TEST_NGINX_NO_CLEAN: nginx still runs');
if ($pid) {
    kill 'QUIT', $pid;
    my $deadline = time + 10;
    sleep 0.05 while kill(0, $pid) && time < $deadline;
}

done_testing();
