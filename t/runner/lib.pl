# Shared by the runner self-tests: run a fixture .tt file under our
# runner (t/lib) in a subprocess and return its exit status and output.

use strict;
use warnings;

use Cwd ();

# The fixtures need stock nginx only, and test the runner, not memory
# safety: never under valgrind, and always on a random port.
sub run_fixture {
    my ($file, %env) = @_;
    my $cwd = delete $env{_cwd};    # run from there (its t/ gets servroots)
    local %ENV = %ENV;

    delete @ENV{qw(TEST_NGINX_USE_VALGRIND TEST_NGINX_USE_HUP
                   TEST_NGINX_NO_SHUFFLE TEST_NGINX_NO_CLEAN
                   TEST_NGINX_SERVROOT HARNESS_ACTIVE)};
    $ENV{TEST_NGINX_RANDOMIZE} = 1;
    $ENV{TEST_NGINX_BINARY} //= '/usr/sbin/nginx';
    @ENV{keys %env} = values %env;
    delete @ENV{grep { !defined $env{$_} } keys %env};

    my $top = Cwd::getcwd();
    my $out = defined $cwd
        ? `cd $cwd && $^X -I$top/t/lib $top/$file 2>&1`
        : `$^X -It/lib $file 2>&1`;

    return ($? >> 8, $out);
}

# "ok"/"not ok" lines of a TAP output, as [ok, description]
sub tap_results {
    my ($out) = @_;
    my @res;
    push @res, [$1 eq 'ok', $2] while $out =~ /^(ok|not ok) \d+ - (.*)$/mg;
    return @res;
}

1;
