package LiveCdn::Helpers;

# Helper processes for a test file: an ffmpeg RTMP publisher, a second
# nginx, a DNS server.  Plain Perl, so the .t files run the same under our
# runner and the real Test::Nginx::Socket.  Everything started here lives
# in its own process group and is killed when the test file ends.

use strict;
use warnings;

use Cwd qw(getcwd);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX qw(setsid WNOHANG);
use Time::HiRes qw(sleep time);
use Test::More ();

# the memcheck command and log reader our runner uses, by path: t/lib is
# not in @INC under the upstream runner
require(dirname(__FILE__) . '/../../lib/Test/Nginx/Memcheck.pm')
    unless Test::Nginx::Memcheck->can('problems');

use Exporter 'import';
our @EXPORT = qw(free_port start_helper stop_helper stop_helpers
                 start_nginx_helper
                 start_publisher wait_tcp_port count_frames helper_dir
                 http_get http_request http_start http_finish slurp
                 wait_logged memcheck_prefix check_memcheck
                 valgrind_reports wait_for start_hls_origin
                 fast_start_holds);

my %helpers;        # name => pid (process group leader)
my $owner = $$;     # only the process that started helpers stops them
my $dir;
my %ports;          # ports handed out by this file, never twice
my %memcheck;       # name => prefix of helper nginx run under memcheck


sub helper_dir {
    return $dir if defined $dir;

    my $root = $ENV{TEST_NGINX_HELPER_ROOT} || getcwd() . '/t';
    $dir = "$root/servroot_helpers_$$";
    remove_tree($dir);
    make_path($dir);
    return $dir;
}


sub free_port {
    for (1 .. 100) {
        my $port = 20000 + int(rand(30000));
        next if $ports{$port};

        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      ReuseAddr => 1, Listen => 1);
        next unless $s;
        close $s;

        $ports{$port} = 1;
        return $port;
    }

    die "free_port: no free port found\n";
}


sub wait_tcp_port {
    my ($port, $secs) = @_;
    my $deadline = time + ($secs // 10);

    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) {
            close $s;
            return 1;
        }
        sleep 0.05;
    }

    return 0;
}


sub start_helper {
    my ($name, %opt) = @_;
    my @cmd = @{ $opt{cmd} };
    my $log = helper_dir() . "/$name.log";

    die "start_helper: \"$name\" already running\n" if $helpers{$name};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!\n";
        open STDERR, '>&', \*STDOUT;

        if (!$opt{restart}) {
            exec @cmd or die "exec $cmd[0]: $!\n";
        }

        # restart loop: the child of this supervisor shares its group
        $SIG{TERM} = sub { kill 'KILL', -$$; POSIX::_exit(0) };

        for (;;) {
            my $c = fork();
            if (defined $c && $c == 0) {
                exec @cmd or POSIX::_exit(127);
            }
            waitpid($c, 0) if defined $c;
            sleep 0.5;
        }
    }

    $helpers{$name} = $pid;
    return $pid;
}


sub stop_helper {
    my ($name, %opt) = @_;
    my $pid = delete $helpers{$name};
    my $prefix = delete $memcheck{$name};

    return unless $pid;

    # under memcheck: a graceful stop, so that every process exits through
    # nginx's own exit path and valgrind writes its leak report
    my $signal = $opt{signal} || ($prefix ? 'QUIT' : 'TERM');
    my $wait = $opt{wait} || 2;

    # memcheck slows the exit down: give it at least two minutes
    $wait = 120 if $prefix && $wait < 120;

    kill $signal, -$pid;

    # -1: the test reaped it already (it stopped the helper itself)
    my $gone = 0;
    for (1 .. $wait * 20) {
        my $w = waitpid($pid, WNOHANG);
        if ($w == $pid || $w == -1) {
            $gone = 1;
            last;
        }
        sleep 0.05;
    }

    if (!$gone) {
        kill 'KILL', -$pid;
        waitpid($pid, 0);
    }

    check_memcheck($name, $prefix, $gone) if $prefix;
}


# In TEST_NGINX_USE_VALGRIND mode, the command to put in front of an nginx
# run by hand (say "nginx -t"), its reports in $prefix/logs; else ().
# check_memcheck($name, $prefix, 1) gives the verdict once it exited.
sub memcheck_prefix {
    my ($prefix) = @_;

    return () unless $ENV{TEST_NGINX_USE_VALGRIND};

    make_path("$prefix/logs");
    unlink glob("$prefix/logs/valgrind.*.log");

    return Test::Nginx::Memcheck::command($ENV{TEST_NGINX_USE_VALGRIND},
                                          "$prefix/logs");
}


# The problems memcheck found in a stopped helper nginx, as text ('' when
# none), for a test that wants them itself (stop_helper already reports)
sub valgrind_reports {
    my ($name) = @_;

    return join "\n", Test::Nginx::Memcheck::problems(
                           glob(helper_dir() . "/$name/logs/valgrind.*.log"));
}


# One test per helper nginx run under memcheck: no error and no definite
# leak in any of its processes (with a numeric plan only a failure is
# reported, so that the plan stays the same in both modes)
sub check_memcheck {
    my ($name, $prefix, $gone) = @_;
    my $desc = "valgrind: no memcheck errors or definite leaks in the "
               . "helper nginx \"$name\"";
    my @problems = Test::Nginx::Memcheck::problems(
                       glob("$prefix/logs/valgrind.*.log"));

    push @problems, "the helper nginx \"$name\" did not quit under "
                    . "valgrind: killed" unless $gone;

    # no plan yet (done_testing comes later), 'no_plan', or a number
    my $plan = Test::More->builder->has_plan;
    my $numeric = defined $plan && $plan =~ /^\d+$/;

    if (@problems) {
        Test::More->builder->no_ending(1) if $numeric;
        Test::More::fail($desc);
        Test::More::diag($_) for @problems;

    } elsif (!$numeric) {
        Test::More::pass($desc);
    }
}


sub start_nginx_helper {
    my ($name, %opt) = @_;
    my $prefix = helper_dir() . "/$name";
    my $conf = $opt{conf};

    make_path("$prefix/conf", "$prefix/logs", "$prefix/html");

    $conf =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1}
                         : die "No environment $1 defined.\n"
    }ge;

    # as the runners do: workers as root, or they could not write into a
    # test tree under root's home (nginx-rtmp's hls_path, logs)
    $conf = "user root;\n$conf" if $> == 0 && $conf !~ /^\s*user\s/m;

    open my $fh, '>', "$prefix/conf/nginx.conf" or die "$prefix: $!\n";
    print $fh $conf;
    close $fh;

    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my @cmd = ($nginx, '-p', "$prefix/", '-c', "$prefix/conf/nginx.conf",
               '-e', "$prefix/logs/error.log", '-g', 'daemon off;');

    # every nginx that loads our modules runs under memcheck in
    # TEST_NGINX_USE_VALGRIND mode (valgrind => 0 opts out); reports are
    # checked when the helper stops (stop_helper, or the end of the file)
    my $mods = $ENV{TEST_NGINX_MODULE_DIR};
    my $ours = defined $mods && $conf =~ /^\s*load_module\s+\Q$mods\E\//m;
    my $vg = $ENV{TEST_NGINX_USE_VALGRIND} && ($opt{valgrind} // $ours);

    if ($vg) {
        unlink glob("$prefix/logs/valgrind.*.log");
        unshift @cmd, Test::Nginx::Memcheck::command(
                          $ENV{TEST_NGINX_USE_VALGRIND}, "$prefix/logs");
        $memcheck{$name} = $prefix;
    }

    start_helper($name, cmd => \@cmd);

    if (defined $opt{wait_port}
        && !wait_tcp_port($opt{wait_port}, $vg ? 120 : 10))
    {
        die "nginx helper \"$name\" did not listen on $opt{wait_port}:\n"
            . `tail -5 $prefix/logs/error.log 2>&1`;
    }

    return $helpers{$name};
}


# nginx-rtmp cutting HLS fragments into "dir" (application "app"), on
# $TEST_NGINX_RTMP_PORT (set to a free port when unset); fragment and
# playlist are nginx-rtmp's hls_fragment and hls_playlist_length
sub start_hls_origin {
    my ($dir, %opt) = @_;

    $ENV{TEST_NGINX_RTMP_PORT} //= free_port();
    mkdir $dir;

    return start_nginx_helper('origin',
                              wait_port => $ENV{TEST_NGINX_RTMP_PORT},
                              conf => <<EOC);
load_module \$TEST_NGINX_RTMP_MODULE;
worker_processes 1;
pid logs/nginx.pid;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:\$TEST_NGINX_RTMP_PORT;
        application app {
            live on;
            hls on;
            hls_path $dir;
            hls_fragment $opt{fragment};
            hls_playlist_length $opt{playlist};
        }
    }
}
EOC
}


# how many requests the nginx helper "name" has held for the playlist
# "file" so far: its "hold" debug lines (error_log ... debug)
sub fast_start_holds {
    my ($name, $file) = @_;
    my @h = (slurp(helper_dir() . "/$name/logs/error.log") // '')
            =~ /hls fast start: hold "\Q$file\E"/g;
    return scalar @h;
}


sub start_publisher {
    my ($name, %opt) = @_;
    my $fps = $opt{fps} || 25;
    my $gop = ($opt{gop} || 1) * $fps;
    my $size = $opt{size} || '320x240';
    my $ffmpeg = $ENV{TEST_NGINX_FFMPEG} || 'ffmpeg';

    return start_helper($name, restart => 1, cmd => [
        $ffmpeg, '-hide_banner', '-loglevel', 'warning', '-re',
        '-f', 'lavfi', '-i', "testsrc=size=$size:rate=$fps",
        '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
        '-pix_fmt', 'yuv420p', '-g', $gop, '-keyint_min', $gop,
        '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k',
        '-f', 'flv', $opt{url}]);
}


# Decode $url for up to "seconds" of media; returns the video frame count.
sub count_frames {
    my ($url, %opt) = @_;
    my $secs = $opt{seconds} || 3;
    my $timeout = $opt{timeout} || 20;
    my $ffmpeg = $ENV{TEST_NGINX_FFMPEG} || 'ffmpeg';
    my $frames = 0;

    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec $ffmpeg, '-hide_banner', '-nostats', '-loglevel', 'error',
             '-rw_timeout', '10000000', '-i', $url, '-t', $secs,
             '-map', '0:v:0', '-f', 'framemd5', '-'
            or POSIX::_exit(127);
    }

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        while (<$fh>) {
            $frames++ if /^\s*0,/;
        }
        alarm 0;
    };

    kill 'KILL', $pid if $@;
    close $fh;

    return $frames;
}


# A tiny HTTP/1.0 client for test code (not for modules).  http_start
# sends a request and returns the socket at once, so that a test can hold
# several requests open (requests nginx holds, misses that wait);
# http_finish reads the answer: {status, headers (lower-case names), body,
# done (when it arrived)}.
sub http_start {
    my ($port, $uri, $headers, $method, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 5)
        or return undef;

    $body //= '';
    my $req = ($method // 'GET') . " $uri HTTP/1.0\r\nHost: localhost\r\n";
    $req .= "$_: $headers->{$_}\r\n" for sort keys %{ $headers || {} };
    $req .= "Content-Length: " . length($body) . "\r\n" if length $body;
    $req .= "\r\n$body";
    print $s $req;

    return $s;
}


sub http_finish {
    my ($s, $secs) = @_;
    my $resp = '';

    if ($s) {
        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm($secs // 30);
            local $/;
            $resp = <$s> // '';
            alarm 0;
        };
        close $s;
    }

    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    my %h;
    for (split /\r\n/, $head // '') {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }

    return { status => $status // 0, headers => \%h, body => $body // '',
             done => time };
}


sub http_request {
    my ($method, $port, $uri, $body, $headers) = @_;
    my $r = http_finish(http_start($port, $uri, $headers, $method, $body));

    return ($r->{status}, $r->{headers}, $r->{body});
}


# Polls cond() every 20 ms for up to "secs" seconds (default 10): true as
# soon as it is.  For waiting on a log line or a file, never on time.
sub wait_for {
    my ($cond, $secs) = @_;
    my $deadline = time + ($secs // 10);

    for (;;) {
        return 1 if $cond->();
        return 0 if time > $deadline;
        sleep 0.02;
    }
}


sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return scalar <$fh>;
}


# Wait (up to $secs, default 10) until $file has lines matching $re from
# $n distinct sources: the first capture of $re when it has one (say the
# "pid#tid: *conn" of an nginx log line, one per request), else the lines
# themselves.  Returns the number seen: a test waits on a log line, never
# on a fixed sleep.
sub wait_logged {
    my ($file, $re, $n, $secs) = @_;
    my $deadline = time + ($secs // 10);
    my %seen;

    for (;;) {
        %seen = ();

        if (open my $fh, '<', $file) {
            while (my $line = <$fh>) {
                next unless $line =~ $re;
                $seen{defined $1 ? $1 : $.} = 1;
            }
        }

        return scalar keys %seen if keys %seen >= $n || time > $deadline;
        sleep 0.05;
    }
}


sub http_get {
    my ($port, $uri) = @_;
    return http_request('GET', $port, $uri);
}


# Stop every helper (and check the memcheck reports of helper nginx):
# plain Test::More files call it before done_testing().
sub stop_helpers {
    stop_helper($_) for sort keys %helpers;
}


END {
    local $?;   # keep the test file's exit status

    if ($$ == $owner) {
        stop_helpers();
        remove_tree($dir) if defined $dir && !$ENV{TEST_NGINX_NO_CLEAN};
    }
}


1;
