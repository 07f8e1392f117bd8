package Test::Nginx::Socket;

# nginx-live-cdn's own runner for Test::Nginx-style .t files.
#
# Written from scratch to the behaviour described in the project notes
# (style-and-tests.md, section 5): a .t file must give the same tests,
# the same counts and the same verdicts here as under the upstream
# Test::Nginx::Socket, so either can run our suites.  Built on Test::Base,
# which parses the __DATA__ blocks, applies the section filters and
# provides plan/is/like/diag/blocks to the .t file.
#
# Differences on purpose: a start failure caused by a bad config bails
# out at once (showing the [emerg] line) instead of retrying for 30 s,
# and TEST_NGINX_USE_VALGRIND fails a test on memcheck errors and
# definite leaks instead of only printing them.

use strict;
use warnings;

# '-base' (lower case) makes us a Test::Base subclass without Spiffy's
# source filter, so our subs are plain Perl.
use Test::Base -base;

use File::Path qw(make_path remove_tree);
use File::Spec ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle min);
use POSIX qw(WNOHANG SIGQUIT SIGKILL SIGTERM SIGHUP SIGUSR1);
use Scalar::Util qw(looks_like_number);
use Test::LongString ();
use Time::HiRes qw(sleep time);

use Test::Nginx::Memcheck ();

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each
    config_preamble worker_connections master_process_enabled
    no_long_string workers master_on master_off log_level no_shuffle
    no_root_location use_hup server_name server_addr server_root
    html_dir server_port server_port_for_client timeout
    check_accum_error_log add_block_preprocessor bail_out
    add_test_cleanup_handler add_cleanup_handler
);

# --- settings: environment first, then the .t header's calls -------------

our $Verbose      = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary  = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Randomize    = $ENV{TEST_NGINX_RANDOMIZE};
our $LoadModules  = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle    = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $UseHup       = $ENV{TEST_NGINX_USE_HUP};
our $UseValgrind  = $ENV{TEST_NGINX_USE_VALGRIND};
our $Timeout      = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Sleep        = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LogLevel     = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcess = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $WorkerUser   = $ENV{TEST_NGINX_WORKER_USER};
our $ServerAddr   = '127.0.0.1';
our $ServerName   = 'localhost';
our $ServerPort   = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                    || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;

our $RepeatEach        = 1;
our $Workers           = 1;
our $WorkerConnections = 64;
our $NoRootLocation    = 0;
our $NoLongString      = 0;
our $CheckAccumErrLog  = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ConfigPreamble    = '';
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers,
     @TestCleanupHandlers);

if ($UseValgrind && $UseHup) {
    # One long-lived nginx would give one valgrind report for the whole
    # file; per-block reports are what we want.
    warn "WARNING: TEST_NGINX_USE_HUP is ignored under valgrind\n";
    undef $UseHup;
}

srand($$ ^ time);

# Let Ctrl-C, a TERM or a reader that went away (prove | head) end the
# run through END, which stops nginx, instead of killing us outright.
# Handlers, not IGNORE: exec'd children get their default actions back.
for my $sig (qw(INT TERM PIPE)) {
    next if ($SIG{$sig} // 'DEFAULT') ne 'DEFAULT';
    $SIG{$sig} = $sig eq 'PIPE' ? sub { }
                                : sub { exit(128 + ($sig eq 'INT' ? 2 : 15)) };
}

if ($Randomize) {
    $ServerPort = gen_rand_port({})
        or bail_out("Cannot find an available listening port number");
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

# --- state of the run ------------------------------------------------------

our $ErrLogFilePos = 0;
our $PrevConfig;
our $RandPorts = {};
our $ChildPid;          # nginx run in the foreground (valgrind mode)
our $ConfigVersion;     # answered by /ver in HUP mode
our $NginxV;            # cached `nginx -V`
our $InSubprocess;
our $Started;           # we started an nginx in this process
our $OwnerPid = $$;     # helpers may fork: only this process cleans up

# --- header functions ------------------------------------------------------

sub repeat_each { $RepeatEach = shift if @_; return $RepeatEach }
sub workers { @_ ? ($Workers = shift) : $Workers }
sub worker_connections { @_ ? ($WorkerConnections = shift)
                            : $WorkerConnections }
sub log_level { @_ ? ($LogLevel = shift) : $LogLevel }
sub timeout { @_ ? ($Timeout = shift) : $Timeout }
sub server_port { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client { @_ ? ($ServerPortForClient = shift)
                                : $ServerPortForClient }
sub server_addr { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_name { @_ ? ($ServerName = shift) : $ServerName }
sub server_root { $ServRoot }
sub html_dir { $HtmlDir }
sub no_shuffle { $NoShuffle = 1 }
sub no_root_location { $NoRootLocation = 1 }
sub no_long_string { $NoLongString = 1 }
sub check_accum_error_log { $CheckAccumErrLog = 1 }
sub master_on { $MasterProcess = 'on' }
sub master_off { $MasterProcess = 'off' }
sub use_hup { $UseHup = 1 }
sub config_preamble { $ConfigPreamble = shift }
sub add_cleanup_handler { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler { unshift @TestCleanupHandlers, shift }

sub master_process_enabled {
    return $MasterProcess unless @_;
    $MasterProcess = shift() ? 'on' : 'off';
}

sub add_block_preprocessor (&) {
    unshift @BlockPreprocessors, shift;
}

sub env_to_nginx {
    croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        croak("env_to_nginx: bad argument value: $v")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str {
    my ($got, $expected, $desc) = @_;
    return ref $expected && ref $expected eq 'Regexp'
        ? Test::More::like($got, $expected, $desc)
        : Test::More::is($got, $expected, $desc);
}

sub bail_out {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# An extra failure outside the planned count, like a socket timeout;
# no_ending keeps Test::Builder from piling a plan complaint on top.
sub extra_fail {
    Test::More->builder->no_ending(1);
    Test::More::fail(shift);
}

sub vwarn { warn @_ if $Verbose }

# --- small utilities -------------------------------------------------------

sub parse_time {
    my $t = shift;
    return undef unless defined $t;
    return $1 / 1000 if $t =~ /^\s*([\d.]+)\s*ms\s*$/;
    return $1 if $t =~ /^\s*([\d.]+)\s*s?\s*$/;
    return $t;
}

sub gen_rand_port {
    my $used = shift;
    for (1 .. 1000) {
        my $port = 1988 + int rand 63547;
        next if $used->{$port};
        my $s = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 5, ReuseAddr => 1);
        next unless $s;
        close $s;
        return $port;
    }
    return undef;
}

sub rand_port_for {
    my ($var, $name) = @_;
    my %used = ($ServerPort => 1,
                map { $_ => 1 } grep { defined } values %$RandPorts);
    return gen_rand_port(\%used)
        // bail_out("$name - Cannot find an available listening port "
                    . "number for $var.\n");
}

# Replace $TEST_NGINX_* by the environment; $TEST_NGINX_RAND_PORT_N by a
# free port picked once per block.
sub expand_env_in_text {
    my ($text, $name) = @_;
    return $text unless defined $text && !ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $RandPorts->{$var} //= rand_port_for($var, $name);
        } else {
            defined $ENV{$var}
                or bail_out("$name - No environment $var defined.\n");
            $ENV{$var};
        }
    }ge;
    return $text;
}

sub nginx_version {
    $NginxV //= `$NginxBinary -V 2>&1`;
    return $NginxV =~ m{/(\d+)\.(\d+)\.(\d+)} ? $1 * 1e6 + $2 * 1e3 + $3
                                             : undef;
}

sub read_file {
    my $f = shift;
    open my $in, '<', $f or return undef;
    local $/;
    return scalar <$in>;
}

sub pid_from_file {
    my $pid = read_file($PidFile);
    return undef unless defined $pid && $pid =~ /^\s*(\d+)/;
    return $1;
}

# A daemonised nginx is reparented to pid 1, which may reap it late: a
# zombie counts as stopped, or every restart would wait for the reaper.
sub is_running {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    my $stat = read_file("/proc/$pid/stat") // return 1;
    return $stat !~ /^\d+ \(.*\) Z /s;
}

# Guard against a stale pid file naming a process that is not nginx.
sub is_nginx {
    my $pid = shift;
    my $cmd = read_file("/proc/$pid/cmdline") // '';
    return $cmd =~ /nginx|valgrind|memcheck/;
}

sub children_of {
    my $ppid = shift;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = read_file($stat) // next;
        push @kids, $1 if $s =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $ppid;
    }
    return @kids;
}

# Is anything listening on TCP $port?  Read from /proc, so checking does
# not put an extra connection into the error log.
sub port_listening {
    my $port = shift;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $in, '<', $f or next;
        while (<$in>) {
            return 1 if /^\s*\d+: [0-9A-F]+:([0-9A-F]{4}) \S+ 0A /
                        && hex($1) == $port;
        }
    }
    return 0;
}

sub emerg_lines {
    my $log = read_file($ErrLogFile) // '';
    return grep { /\[emerg\]/ } split /\n/, $log;
}

# --- nginx process management ---------------------------------------------

# QUIT (TERM with TEST_NGINX_FAST_SHUTDOWN), wait, then KILL the master and
# any workers it left behind.
sub stop_nginx {
    my ($pid, $wait) = @_;
    return unless is_running($pid);
    my @kids = children_of($pid);
    kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
    my $deadline = time + $wait;
    while (time < $deadline) {
        waitpid($pid, WNOHANG) if defined $ChildPid && $pid == $ChildPid;
        last unless is_running($pid);
        sleep 0.02;
    }
    if (is_running($pid)) {
        warn "WARNING: nginx $pid did not quit in ${wait}s, killing it\n";
        kill SIGKILL, $pid, grep { is_running($_) } @kids;
        waitpid($pid, 0) if defined $ChildPid && $pid == $ChildPid;
    }
    unlink $PidFile;
}

sub nginx_running {
    return 1 if defined $ChildPid && waitpid($ChildPid, WNOHANG) == 0;
    my $pid = pid_from_file();
    return $pid && is_running($pid) && is_nginx($pid);
}

sub stop_current_nginx {
    my $wait = $UseValgrind ? 30 : $Timeout;
    if (defined $ChildPid) {
        stop_nginx($ChildPid, $wait);
        waitpid($ChildPid, 0);
        undef $ChildPid;
    }
    my $pid = pid_from_file();
    stop_nginx($pid, $wait) if $pid && is_nginx($pid);
    unlink $PidFile;
}

sub setup_server_root {
    my $keep_pid = shift;
    if (-d $ServRoot) {
        if ($keep_pid) {
            # HUP mode: nginx keeps running and holds the pid file.
            remove_tree($ConfDir, $HtmlDir, glob("$ServRoot/*_temp"));
            unlink grep { !/nginx\.pid$/ } glob("$LogDir/*");
        } else {
            remove_tree($ConfDir, $LogDir, $HtmlDir, "$ServRoot/cache",
                        glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
            # rmdir, not rm -rf: never wipe a directory we did not fill.
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        -d $d or mkdir $d or bail_out("Failed to mkdir $d: $!");
    }
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't write $HtmlDir/index.html: $!");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files {
    my $block = shift;
    my $name = $block->name;
    my $files = $block->user_files or return;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    }
    ref $files eq 'ARRAY'
        or bail_out("$name - user_files: only a string or an ARRAY");
    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        (my $dir = $path) =~ s{/[^/]*$}{};
        make_path($dir) unless -d $dir;
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!");
        binmode $out;
        print $out expand_env_in_text($body // '', $name);
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - failed to set the mtime of $path");
        }
    }
}

sub write_config_file {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $http_config = expand_env_in_text($block->http_config // '', $name);
    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        $main_config = join ' ', (map { "load_module $_;" }
                                  grep { $_ } split /\s+/, $LoadModules),
                                 $main_config;
    }
    $main_config = expand_env_in_text($main_config, $name);
    my $post_main = expand_env_in_text($block->post_main_config // '', $name);
    my $level = $block->log_level || $LogLevel;
    my $master = $UseHup ? 'on' : $MasterProcess;
    my $daemon = $UseValgrind ? 'off' : 'on';

    $NginxV //= `$NginxBinary -V 2>&1`;
    my @temp;
    for my $t (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $NginxV =~ /--without-http_${t}_module/;
        next if $http_config =~ /\b${t}_temp_path\b/;
        push @temp, "${t}_temp_path $ServRoot/${t}_temp;";
    }

    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
                       qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS),
                       @EnvToNginx;
    my $root_loc = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    my $ver_server = !$UseHup ? '' : <<"_EOC_";
    server {
        listen          $ServerPort;
        server_name     'Test-Nginx';
        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_
    my $user = defined $WorkerUser ? "user $WorkerUser;\n"
             : $> == 0 ? "user root;\n" : '';
    (my $sname = $block->server_name // $ServerName) =~ s/(['\\])/\\$1/g;
    my $temp = join ' ', @temp;

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!");
    print $out <<"_EOC_";
worker_processes  $Workers;
daemon $daemon;
master_process $master;
error_log $ErrLogFile $level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile; $temp

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$sname';
        client_max_body_size 30M;

$ConfigPreamble
$config

$root_loc    }
$ver_server}

$post_main

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
$user
_EOC_
    close $out;
}

sub valgrind_cmd {
    return Test::Nginx::Memcheck::command($UseValgrind, $LogDir);
}

# Start nginx for $block; returns 1 on success, or 0 with must_die blocks
# (whose exit status is then in $?).
sub start_nginx {
    my ($block, $must_die) = @_;
    my $name = $block->name;
    my @cmd = ($NginxBinary, '-e', $ErrLogFile, '-p', "$ServRoot/",
               '-c', $ConfFile);

    if ($UseValgrind && !$must_die) {
        # readiness below is "the port listens": it must not be someone
        # else's (another suite on the default port, a dying nginx)
        my $busy = time + 30;
        while (port_listening($ServerPort)) {
            bail_out("$name - port $ServerPort is in use by another "
                     . "process (try TEST_NGINX_RANDOMIZE=1)")
                if time > $busy;
            sleep 0.1;
        }

        my $pid = fork // bail_out("$name - fork() failed: $!");
        if ($pid == 0) {
            $InSubprocess = 1;
            Test::More->builder->no_ending(1);
            setpgrp(0, 0);
            open STDOUT, '>', '/dev/null';
            exec(valgrind_cmd(), @cmd) or POSIX::_exit(127);
        }
        $ChildPid = $pid;
        my $deadline = time + 60;
        until (port_listening($ServerPort)) {
            if (waitpid($pid, WNOHANG) == $pid || time > $deadline) {
                undef $ChildPid;
                bail_out("$name - nginx under valgrind did not start: "
                         . join("\n", emerg_lines()));
            }
            sleep 0.05;
        }
        sleep $Sleep;
        return $Started = 1;
    }

    my $cmd = join(' ', @cmd) . ' > /dev/null';
    $cmd .= ' 2> /dev/null' if defined $block->suppress_stderr;
    my $waited = 0;
    while (1) {
        system($cmd);
        return 0 if $must_die;
        last if $? == 0;
        my $status = $? >> 8;
        my @emerg = emerg_lines();
        # Only a port still held by a dying nginx is worth waiting for;
        # a config error will not fix itself.
        if ((!@emerg || "@emerg" =~ /Address already in use/)
            && $waited < 30)
        {
            sleep 0.5;
            $waited += 0.5;
            next;
        }
        bail_out("$name - Cannot start nginx using command \"$cmd\" "
                 . "(status code $status): " . join("\n", @emerg));
    }
    my $deadline = time + 5;
    until (port_listening($ServerPort)) {
        bail_out("$name - nginx started but does not listen on "
                 . "$ServerPort") if time > $deadline;
        sleep 0.02;
    }
    sleep $Sleep;
    return $Started = 1;
}

# HUP mode: rewrite the config, reopen logs, reload, and wait until /ver
# answers with this block's version.  Returns false if nginx is not
# running (the caller then starts it).
sub reload_nginx {
    my ($block, $config) = @_;
    my $pid = pid_from_file();
    return 0 unless $pid && is_running($pid) && is_nginx($pid);
    setup_server_root(1);
    write_user_files($block);
    write_config_file($block, $config);
    my @old = children_of($pid);
    kill SIGUSR1, $pid;
    sleep $Sleep;
    kill SIGHUP, $pid;
    sleep $Sleep * 3;
    # Poll /ver only once the old workers are gone, so that neither they
    # nor the polling requests they would serve log into this block.
    my $deadline = time + 10;
    while (grep { is_running($_) } @old) {
        last if time > $deadline || emerg_lines();
        sleep $Sleep;
    }
    my $ok = 0;
    for my $try (1 .. 200) {
        last if emerg_lines();   # the new config was refused
        my $ver = http_get_ver();
        if (defined $ver && $ver eq $ConfigVersion) {
            return 1 if ++$ok >= 5;
            next;
        }
        $ok = 0;
        sleep min(1, $Sleep * $try);
    }
    extra_fail($block->name . " - failed to reload configuration: "
               . join("\n", emerg_lines()));
    return 1;
}

sub http_get_ver {
    my $s = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                  PeerPort => $ServerPort, Timeout => 2)
        or return undef;
    print $s "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    return $resp =~ /\r\n\r\n(.*)\z/s ? $1 : undef;
}

# --- the block loop --------------------------------------------------------

sub run_tests () {
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }
    cleanup();
}

sub skip_count {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- skip_eval spec: $spec");
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out("$name - skip_eval failed: $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $want) = ($1, $2, $3 * 1e6 + $4 * 1e3 + $5);
        my $have = nginx_version() // 0;
        return ($n, $6 || "nginx version $op $3.$4.$5")
            if eval "$have $op $want";
    }
    return;
}

sub run_test {
    my $block = shift;
    return if defined $block->SKIP;
    my $name = $block->name;
    $RandPorts = {};

    my ($nskip, $why) = skip_count($block);
    if ($nskip) {
        SKIP: { Test::More::skip("$name - $why", $nskip * $RepeatEach) }
        return;
    }

    my $config = $block->config;
    my $must_die = $block->must_die;
    local $UseValgrind = defined $must_die ? undef : $UseValgrind;
    local $UseHup = defined $must_die ? undef : $UseHup;

    if (defined $config) {
        $config = expand_env_in_text($config, $name);
        $PrevConfig = $config;
        $ConfigVersion = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] }
                                  1 .. 10;
        unless ($UseHup && $Started && reload_nginx($block, $config)) {
            stop_current_nginx();
            setup_server_root(0);
            write_user_files($block);
            write_config_file($block, $config);
            if (defined $must_die) {
                return run_must_die($block);
            }
            start_nginx($block);
        }
    } elsif (!defined $PrevConfig) {
        bail_out("$name - No '--- config' section specified and could "
                 . "not get previous one.");
    } elsif (!nginx_running()) {
        # The previous block's nginx is gone (valgrind mode stops it per
        # block): bring the same config up again.
        setup_server_root(0);
        write_user_files($block);
        write_config_file($block, $PrevConfig);
        start_nginx($block);
    }

    if (defined(my $init = $block->init)) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        write_user_files($block) if $i > 0;
        run_requests($block, $i);
    }

    append_total_error_log($name);

    if ($UseValgrind) {
        stop_current_nginx();
        check_valgrind($block);
    }
}

sub run_must_die {
    my $block = shift;
    my $name = $block->name;
    my $expect = $block->must_die;
    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        start_nginx($block, 1);
        my $status = $?;
        my $code = $status == -1 ? undef : $status >> 8;
        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command");
        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($expect)) {
            Test::More::is($expect, $code,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }
        check_error_log($block, $i);
        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it\n";
            sleep $Sleep * 3;
            stop_current_nginx();
        }
    }
}

sub append_total_error_log {
    my $name = shift;
    my $total = $ENV{TEST_NGINX_ERROR_LOG} or return;
    my $log = read_file($ErrLogFile);
    return unless defined $log && length $log;
    open my $out, '>>', $total or bail_out("Cannot append to $total: $!");
    print $out "\n=== $name\n", $log;
    close $out;
}

# --- building requests -----------------------------------------------------

sub parse_more_headers {
    my $text = shift // '';
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $text) {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v //= '';
        $chunked = 1 if lc $k eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# "METHOD [URI [VERSION]]\nbody" plus headers -> bytes on the wire.
sub build_request {
    my ($name, $text, $more, $conn) = @_;
    my ($hdrs, $chunked) = parse_more_headers($more);
    my ($line, $body) = split /\n/, $text // '', 2;
    defined $line && $line =~ /\S/
        or bail_out("$name - Request line should be non-empty");
    $line =~ /^\s*(\S+)(?: +(\S+))?(?: +(\S+))? *\s*$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$line\".");
    my ($meth, $uri, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    $body //= '';
    my $len = '';
    if (!$chunked && $body ne '' && $hdrs !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len = 'Content-Length: ' . length($body) . "\r\n";
    }
    my $head = '';
    $head .= "Host: $ServerName\r\n" if $hdrs !~ /(?:^|\n)Host:/i;
    $head .= "Connection: $conn\r\n" if $hdrs !~ /(?:^|\n)Connection/i;
    return "$meth $uri $ver\r\n$head$hdrs$len\r\n$body";
}

sub more_headers_for {
    my ($block, $i) = @_;
    my $more = $block->more_headers;
    return $more unless ref $more eq 'ARRAY';
    defined $more->[$i]
        or bail_out($block->name . " - --- more_headers lacks data for "
                    . "request $i");
    return $more->[$i];
}

# One entry per connection: the bytes to send.
sub requests_of {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $raw = $block->raw_request)) {
        return [ref $raw eq 'ARRAY' ? join('', @$raw) : $raw];
    }
    if (my $reqs = $block->pipelined_requests) {
        ref $reqs eq 'ARRAY'
            or bail_out("$name - invalid entries in --- pipelined_requests");
        my $all = '';
        for my $i (0 .. $#$reqs) {
            $all .= build_request($name, expand_env_in_text($reqs->[$i], $name),
                                  more_headers_for($block, $i),
                                  $i == $#$reqs ? 'close' : 'keep-alive');
        }
        return [$all];
    }
    my $req = $block->request;
    if (!ref $req) {
        bail_out("$name - request empty") unless defined $req;
        1 while $req =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
        return [build_request($name, $req, more_headers_for($block, 0),
                              'close')];
    }
    ref $req eq 'ARRAY'
        or bail_out("$name - invalid --- request: MUST be string or array");
    my @out;
    for my $i (0 .. $#$req) {
        my $r = $req->[$i];
        # A request given as packets: we send them in one go.
        $r = join '', map { ref $_ ? $_->{value} : $_ } @$r if ref $r;
        push @out, build_request($name, $r, more_headers_for($block, $i),
                                 'close');
    }
    return \@out;
}

# --- talking to nginx ------------------------------------------------------

sub send_request {
    my ($block, $bytes, $timeout) = @_;
    my $name = $block->name;
    my $sock;
    for my $try (1 .. 20) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        sleep min(1, $Sleep * $try);
    }
    if (!$sock) {
        extra_fail("$name - Can't connect to $ServerAddr:"
                   . "$ServerPortForClient: $! (aborted)");
        return undef;
    }
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($resp, $timed_out) = ('', 0);
    while (length $bytes) {
        if (!$sel->can_write($timeout)) { $timed_out = 1; last }
        my $n = syswrite $sock, $bytes;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            last;   # nginx closed early: still read what it answered
        }
        substr($bytes, 0, $n, '');
    }
    while (!$timed_out) {
        if (!$sel->can_read($timeout)) { $timed_out = 1; last }
        my $n = sysread $sock, my $buf, 65536;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            last;
        }
        last if $n == 0;
        $resp .= $buf;
    }
    close $sock;
    if ($timed_out && !defined $block->abort) {
        extra_fail("ERROR: client socket timed out - $name");
    }
    vwarn("!!! resp: [$resp]\n");
    return $resp;
}

# Returns (HTTP::Response, raw header text, bytes left after this one).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    $res->code(undef) if defined $code && $code !~ /^\d+$/;
    return ($res, $raw_headers, undef)
        if $head_req || ($code && ($code == 304 || $code == 101));
    my $te = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my $body = $res->content // '';
    my $left;
    if (defined $te && $te eq 'chunked') {
        my $decoded = '';
        while (1) {
            if ($body =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {
                $left = substr($body, pos $body) if pos($body) < length $body;
                last;
            }
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*(?:;[^\r\n]*)?\r\n/gc) {
                my $size = hex $1;
                my $pos = pos $body;
                if (length($body) < $pos + $size + 2
                    || substr($body, $pos + $size, 2) ne "\r\n")
                {
                    extra_fail("$name - invalid chunked data received");
                    last;
                }
                $decoded .= substr($body, $pos, $size);
                pos($body) = $pos + $size + 2;
                next;
            }
            extra_fail("$name - no last chunk found - "
                       . substr($body, pos($body) // 0));
            last;
        }
        $res->content($decoded);
    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len "
                 . "expected, but got " . length($body) . "\n";
        } elsif (length $body > $len) {
            $left = substr($body, $len);
            $res->content(substr($body, 0, $len));
        }
    }
    return ($res, $raw_headers, $left);
}

# --- checks ----------------------------------------------------------------

# Request-indexed sections: an ARRAY holds one value per request.
sub indexed {
    my ($block, $value, $i, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $value->[$i];
    }
    bail_out($block->name . " - You asked for many requests, the expected "
             . "results should be arrays as well.") if $need_array;
    return $value;
}

sub parse_header_spec {
    my $text = shift // '';
    my (@order, %h);
    for (split /\n/, $text) {
        s/^\s+|\s+$//g;
        my ($k, $v) = s/^!\s*// ? ($_, undef) : split /\s*:\s*/, $_, 2;
        push @order, $k unless exists $h{$k};
        $h{$k} = $v;
    }
    return map { [$_, $h{$_}] } @order;
}

sub check_response {
    my ($block, $res, $raw_headers, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $re = indexed($block, $block->error_code_like, $idx, $need_array);
        Test::More::like($code, qr/$re/sm, "$name - status code ok");
    } else {
        my $want = defined $block->error_code
            ? indexed($block, $block->error_code, $idx, $need_array) : 200;
        Test::More::is($code, $want, "$name - status code ok");
    }

    for my $kind (qw(like unlike)) {
        my $sec = "raw_response_headers_$kind";
        next unless defined $block->$sec;
        my $re = indexed($block, $block->$sec, $idx, $need_array);
        no strict 'refs';
        &{"Test::More::$kind"}($raw_headers, qr/$re/s,
                               "$name - raw resp headers $kind");
    }

    if (defined $block->response_headers) {
        for (parse_header_spec(indexed($block, $block->response_headers,
                                       $idx, $need_array)))
        {
            my ($k, $v) = @$_;
            if (!defined $v) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$k\E\s*:/ms,
                    "$name - header $k not present in the raw headers");
                next;
            }
            $v =~ s/\$ServerPort\b/$ServerPort/g;
            $v =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            Test::More::is(($res && $res->header($k)) // '', $v,
                           "$name - header $k ok");
        }
    } elsif (defined $block->response_headers_like) {
        for (parse_header_spec(indexed($block, $block->response_headers_like,
                                       $idx, $need_array)))
        {
            my ($k, $v) = @$_;
            $v //= '';
            Test::More::like(($res && $res->header($k)) // '', qr/^$v$/,
                             "$name - header $k like ok");
        }
    }

    check_body($block, $res, $idx, $rep, $need_array);
}

sub check_body {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;
    if (defined $block->response_body) {
        my $want = indexed($block, $block->response_body, $idx, $need_array);
        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $rep, req $idx)";
        if (ref $want) {
            Test::More::like($content, $want, "$name - response_body - "
                             . "like (repeated req $rep, req $idx)");
            return;
        }
        if (defined $want) {
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $want = expand_env_in_text($want, $name);
        }
        $NoLongString ? Test::More::is($content, $want, $desc)
                      : Test::LongString::is_string($content, $want, $desc);
        return;
    }
    for my $kind (qw(like unlike)) {
        my $sec = "response_body_$kind";
        next unless defined $block->$sec;
        my $re = indexed($block, $block->$sec, $idx, $need_array);
        $re =~ s/\$ServerPort\b/$ServerPort/g unless ref $re;
        (my $summary = $content // '') =~ s/\s+/ /g;
        $summary =~ s/^ | $//g;
        no strict 'refs';
        &{"Test::More::$kind"}($content, qr/$re/s, "$name - response_body_"
                               . "$kind - response is expected ($summary)");
        return;
    }
}

sub error_log_lines {
    sleep $Sleep * 3;   # nginx logs after closing the connection
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    return \@lines;
}

sub patterns_of {
    my $pats = shift;
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats] if ref $pats eq 'ARRAY';
    chomp $pats;
    return [split /\n+/, $pats];
}

sub matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub fmt_str {
    my $s = shift;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = error_log_lines();
    my %quiet;   # levels a pattern asks about are not warned about

    if (defined(my $grep = $block->grep_error_log)) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $want = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $want;
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        $want = expand_env_in_text($want, $name);
        my $got = '';
        for my $line (@$lines) {
            my $ok = ref $grep ? $line =~ $grep : $line =~ /\Q$grep\E/;
            $got .= "$&\n" if $ok && $& !~ /\n/;
        }
        my $desc = "$name - grep_error_log_out (req $rep)";
        ref $want eq 'Regexp' ? Test::More::like($got, $want, $desc)
            : $NoLongString ? Test::More::is($got, $want, $desc)
            : Test::LongString::is_string($got, $want, $desc);
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    for my $sec (qw(error_log no_error_log)) {
        my $raw = $block->$sec;
        next unless defined $raw;
        my $pats = patterns_of($raw);
        for my $lvl (qw(alert crit emerg)) {
            $quiet{$lvl} = 1 if grep { !ref && /\Q[$lvl\E/ } @$pats;
        }
        if ($sec eq 'error_log') {
            for my $pat (@$pats) {
                my $hit = grep { matches($_, $pat) } @$lines;
                Test::More::ok($hit, "$name - pattern \"$pat\" "
                    . ($hit ? "matches" : "should match")
                    . " a line in error.log (req $rep)");
            }
            next;
        }
        for my $pat (@$pats) {
            my @hits = grep { matches($lines->[$_], $pat) } 0 .. $#$lines;
            if (!@hits) {
                Test::More::pass("$name - pattern \"" . fmt_str($pat)
                    . "\" does not match a line in error.log (req $rep)");
                next;
            }
            # One failure per offending line, as the upstream runner does.
            Test::More->builder->no_ending(1) if @hits > 1;
            for my $i (@hits) {
                my @ctx = @$lines[$i + 1 .. min($i + 9, $#$lines)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in error.log but "
                    . "matches line \"" . fmt_str($lines->[$i])
                    . "\" (req $rep)\n" . join('', @ctx));
            }
        }
    }

    for my $line (@$lines) {
        for my $lvl (qw(alert crit emerg)) {
            warn "WARNING: $name - " . fmt_str($line) . "\n"
                if !$quiet{$lvl} && $line =~ /\[$lvl\]/;
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            extra_fail("$name - $l");
        }
    }
}

# One repetition of a block: every request, its checks, the log checks.
sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $reqs = requests_of($block);
    my $timeout = parse_time($block->timeout) // $Timeout;
    my $pipelined = $block->pipelined_requests;
    my $nresp = $pipelined ? scalar @$pipelined : scalar @$reqs;
    my $need_array = $pipelined || $nresp > 1;
    my $idx = 0;

    for my $bytes (@$reqs) {
        my $head_req = $bytes =~ /^\s*HEAD\s/;
        my $raw = send_request($block, $bytes, $timeout) // '';
        my $count = $pipelined ? $nresp : 1;
        for my $k (1 .. $count) {
            my ($res, $raw_headers, $left)
                = parse_response($name, $raw, $head_req);
            if (!$pipelined && defined $left && length $left) {
                (my $l = $left) =~ s/([\0-\037\200-\377])/
                                     sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"$l\"\n";
            }
            $raw = $left // '';
            check_response($block, $res, $raw_headers, $idx, $rep,
                           $need_array)
                unless defined $block->ignore_response;
            if ($idx < $nresp - 1) {
                sleep parse_time($block->wait) if $block->wait;
                check_error_log($block, $rep);
            }
            $idx++;
        }
    }
    sleep parse_time($block->wait) if $block->wait;
    check_error_log($block, $rep);
}

# --- valgrind --------------------------------------------------------------

sub check_valgrind {
    my $block = shift;
    my $name = $block->name;
    my @problems = Test::Nginx::Memcheck::problems(
        glob "$LogDir/valgrind.*.log");
    my $desc = "$name - valgrind: no memcheck errors or definite leaks";
    # With a numeric plan an extra passing test would break the count,
    # so only a failure is reported there.
    if (@problems) {
        Test::More->builder->no_ending(1);
        Test::More::fail($desc);
        Test::More::diag($_) for @problems;
    } elsif ((Test::More->builder->has_plan // '') eq 'no_plan') {
        Test::More::pass($desc);
    }
}

# --- the end ---------------------------------------------------------------

sub cleanup {
    $_->() for @CleanupHandlers;
}

END {
    if (!$InSubprocess && $$ == $OwnerPid) {
        local $?;   # keep the test script's exit status
        cleanup();
        stop_current_nginx()
            if $UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN};
        if ($Randomize && $ServRoot =~ m{/t/servroot_\d+$} && -d $ServRoot
            && !$ENV{TEST_NGINX_NO_CLEAN})
        {
            remove_tree($ServRoot);
        }
    }

    # no_ending (set by an extra failure) also turns off the exit status
    # Test::Builder would give: a failed file must still exit non-zero
    my $tb = Test::More->builder;
    if (!$InSubprocess && $tb->no_ending && !$?) {
        my $failed = grep { !$_ } $tb->summary;
        $? = min(254, $failed) if $failed;
    }
}

1;
