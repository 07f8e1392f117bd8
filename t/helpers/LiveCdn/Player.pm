package LiveCdn::Player;

# hls.js in headless Chromium (t/helpers/player/play.js) for the HLS tests
# and bench/hls.sh.  hls.js and playwright-core come from npm, pinned by
# t/helpers/player/package-lock.json and installed into build/player
# (make test does it first; a test run alone does it here if needed).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;
use POSIX qw(WNOHANG);
use LiveCdn::Helpers qw(helper_dir slurp);

use Exporter 'import';
our @EXPORT = qw(player_install play_start play_done play_finish);

my $src = abs_path(dirname(__FILE__) . '/../player');
my $top = abs_path("$src/../../..");
my $dst = "$top/build/player";


# npm ci into build/player unless the lock there is the same; dies if npm
# fails (a missing player is an install problem, not a reason to skip)
sub player_install {
    my $lock = slurp("$src/package-lock.json");

    return if -d "$dst/node_modules/hls.js"
              && (slurp("$dst/package-lock.json") // '') eq $lock;

    make_path($dst);
    copy("$src/$_", "$dst/$_") or die "copy $_: $!\n"
        for qw(package.json package-lock.json);

    system('npm', 'ci', '--prefix', $dst, '--no-audit', '--no-fund',
           '--loglevel=error') == 0
        or die "npm ci in $dst failed: install npm, or run make test\n";
}


# play_start(page => url, plays => [{name, src}], seconds => n, wait => n)
# starts the player in the background; play_finish($h) waits for it and
# returns {plays => [...]} or {skip => reason}.
sub play_start {
    my (%opt) = @_;
    my $out = helper_dir() . "/player.$$." . int(rand(1e9)) . '.json';

    player_install();

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDOUT, '>', $out or die "$out: $!\n";
        exec 'node', "$src/play.js", encode_json(\%opt)
            or POSIX::_exit(127);
    }

    return { pid => $pid, out => $out };
}


# true once the player has exited (it cannot start, or it is done)
sub play_done {
    my ($h) = @_;

    if (!defined $h->{status} && waitpid($h->{pid}, WNOHANG) == $h->{pid}) {
        $h->{status} = $?;
    }

    return defined $h->{status};
}


sub play_finish {
    my ($h) = @_;

    if (!defined $h->{status}) {
        waitpid($h->{pid}, 0);
        $h->{status} = $?;
    }

    my $status = $h->{status};
    my $json = slurp($h->{out}) // '';

    die "player exited with status $status:\n$json\n"
        if $status != 0 || $json !~ /^\{/;

    return decode_json($json);
}


1;
