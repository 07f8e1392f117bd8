# Several workers: concurrent requests for one URI, in both workers of
# the primary, share one check of the standby; a failing standby is not
# asked again for the retry window by any worker.  The standby here is a
# socket that holds each check until this file lets it answer.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my $sp = free_port();
my $pp = free_port();

start_helper('holder', cmd => [$^X, '-MIO::Socket::INET', '-MIO::Select',
                               '-e', <<'_EOP_', $sp, $dir]);
my ($port, $dir) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                              Listen => 64, ReuseAddr => 1) or die "$!\n";
my $sel = IO::Select->new($l);
my @held;
$| = 1;
for (;;) {
    for my $s ($sel->can_read(0.02)) {
        if ($s == $l) {
            my $c = $l->accept;
            $sel->add($c);
            next;
        }
        my $req = '';
        sysread($s, $req, 4096);
        $sel->remove($s);
        next unless $req =~ m{^GET (\S+)};
        my $uri = $1;
        open my $fh, '>>', "$dir/checks.log";
        print $fh "$uri\n";
        close $fh;
        push @held, [$s, $uri];
    }
    next unless -e "$dir/release";
    for (@held) {
        my ($s, $uri) = @$_;
        my ($f) = $uri =~ m{uri=([^&\s]+)};
        my $body = $uri =~ /garbage/ ? 'garbage'
            : qq({"url":"http://127.0.0.1:$port$f","host":"127.0.0.1",)
              . qq("port":$port,"path":"$f"});
        print $s "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($body) . "\r\n\r\n$body";
        close $s;
    }
    @held = ();
}
_EOP_

wait_tcp_port($sp, 5) or BAIL_OUT('the holder did not start');
unlink "$dir/checks.log";

my $master = start_nginx_helper('primary', wait_port => $pp, valgrind => 1,
    conf => primary_conf(port => $pp, standby => $sp, workers => 2,
                         listen => 'reuseport',
                         media => 'standby_redirect_retry 60s;',
                         check => 'proxy_read_timeout 20s;'));

sub checks {
    my @l = grep { length } split /\n/, slurp("$dir/checks.log") // '';
    return @l;
}

# the workers and the connections that looked f1.bin up, and those that
# found a check of it under way
sub lookups {
    my (%pid, %waiting);
    for (log_lines('primary', 'error.log')) {
        my ($pid, $conn, $what) = m{\[debug\] (\d+)#\d+: \*(\d+) live lookup: "/_standby/check\?uri=/media/f1\.bin [^"]*" (.*)}
            or next;
        $pid{$pid} = 1;
        $waiting{$conn} = 1 if $what =~ /^miss, waiting/;
    }
    return (scalar keys %pid, scalar keys %waiting);
}

# clients on fresh connections, until both workers (reuseport spreads
# them) have at least two; each is in once its lookup is logged
my @c = (http_start($pp, '/media/f1.bin'));
my $deadline = time + 10;
sleep 0.02 until checks() >= 1 || time > $deadline;

my %per;
while (@c < 30 && (keys %per < 2 || grep { $_ < 2 } values %per)) {
    push @c, http_start($pp, '/media/f1.bin');
    $deadline = time + 10;
    sleep 0.02 until (lookups())[1] >= @c - 1 || time > $deadline;
    %per = ();
    for (log_lines('primary', 'error.log')) {
        $per{$1}++ if m{\[debug\] (\d+)#\d+: \*\d+ live lookup: "/_standby/check\?uri=/media/f1\.bin [^"]*" miss};
    }
}

my $n = @c;
is((lookups())[1], $n - 1, "the others of $n concurrent requests wait");
is(scalar(checks()), 1, "one check for $n concurrent requests");

write_file("$dir/release", '');

my @r = map { http_finish($_) } @c;
is(scalar(grep { $_->{status} == 302 } @r), $n, 'all are redirected');
is(scalar(grep { ($_->{headers}{location} // '') eq
                 "http://127.0.0.1:$sp/media/f1.bin?standby_hop=1" } @r),
   $n, 'to the url of that check');
is((lookups())[0], 2, 'the requests were in both workers');

# the retry window is shared by the workers
unlink "$dir/checks.log";
my ($st) = http_get($pp, '/media/garbage1.bin');
is(scalar(checks()), 1, 'a failing check');
@c = map { http_start($pp, "/media/garbage$_.bin") } 2 .. 9;
@r = map { http_finish($_) } @c;
is(scalar(grep { $_->{status} == 404 } @r), 8, 'served locally (404 here)');
my @p = marker('primary', $pp);
is(scalar(grep { m{^/media/garbage[2-9]\.bin 404 local retry$} } @p), 8,
   'all in the retry window');
is(scalar(checks()), 1, 'no worker asked the standby again');

# the window lives in shared memory: a reload keeps it
sub workers {
    my @w = grep { length } split /\s+/, `pgrep -P $master`;
    return sort @w;
}

my @old = workers();
kill 'HUP', $master;
my $deadline2 = time + 30;
my @new;
my @now;
while (time < $deadline2) {
    @now = workers();
    @new = grep { my $w = $_; !grep { $_ eq $w } @old } @now;
    last if @new == 2 && @now == 2;
    sleep 0.05;
}
is(scalar(@new), 2, 'reloaded: two new workers');
is(scalar(@now), 2, 'and the old ones are gone');

my ($st2) = http_get($pp, '/media/garbage10.bin');
@p = marker('primary', $pp);
ok((grep { $_ eq '/media/garbage10.bin 404 local retry' } @p),
   'after the reload, still in the retry window');
is(scalar(checks()), 1, 'and the standby was not asked');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
