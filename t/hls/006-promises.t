# What README.md promises about HLS fast start beyond the live stream:
# session expiry and refresh, LRU eviction in a full zone, the same key
# while a request is held, held requests over `nginx -s quit`, the zone
# over a reload, repeated EXT-X-KEY lines, EXT-X-MAP.  Playlists are
# written by this file as nginx-rtmp does (a temporary file renamed into
# place); the nginx under test is a helper (master, one worker).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::HlsCheck;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $dir = helper_dir();

$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

mkdir "$dir/hls";

my $conf = <<'EOC';
load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 64; }
http {
    log_format fs '$arg_t $hls_fast_start $status';
    access_log logs/access.log fs;
    hls_fast_start_zone fs:32k;
    hls_fast_start_zone big:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_EDGE_PORT;
        add_header X-FS $hls_fast_start always;
        add_header X-Pid $pid always;
        location /hls/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
            hls_fast_start_wait 3s;
            hls_fast_start_session 1s;
        }
        location /full/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start fs;
            hls_fast_start_key $arg_t;
        }
        location /cached/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
            open_file_cache max=16 inactive=60s;
            open_file_cache_valid 60s;
        }
        location /many/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
            hls_fast_start_fragments 8;
            hls_fast_start_wait 5s;
        }
        location /perm/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
        }
        location /safe/ {
            alias $TEST_NGINX_HLS_DIR/;
            disable_symlinks on;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
        }
        location /key/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start big;
            hls_fast_start_key $arg_t;
            hls_fast_start_fragments 3;
        }
    }
}
EOC

my $master = start_nginx_helper('edge',
                                wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                                conf => $conf, valgrind => 1);

my $edge = $ENV{TEST_NGINX_EDGE_PORT};

sub spew {
    my ($f, $data) = @_;
    open my $fh, '>', "$f.tmp" or die "$f: $!\n";
    print $fh $data;
    close $fh;
    rename "$f.tmp", $f or die "rename $f: $!\n";
}

sub get {
    my $r = http_finish(http_start($edge, $_[0]), 10);
    $r->{fs} = $r->{headers}{'x-fs'} // '';
    return $r;
}

sub edge_log {
    return slurp("$dir/edge/logs/error.log") // '';
}

sub holds {
    return fast_start_holds('edge', $_[0]);
}

# a live playlist that is not rewritten unless a test does
my $live = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-TARGETDURATION:60\n"
           . join('', map { "#EXTINF:2.000,\nl-$_.ts\n" } 5 .. 7);
spew("$dir/hls/live.m3u8", $live);

# a stale one: answered at once to a first request
spew("$dir/hls/old.m3u8", $live =~ s/l-/o-/gr);
utime 1, 1, "$dir/hls/old.m3u8";


# 1. the same key while its first request is held: a reload, at once

{
    my $h = holds('live.m3u8');
    my $a = http_start($edge, '/hls/live.m3u8?t=same');
    ok(wait_for(sub { holds('live.m3u8') > $h }), 'first request held');

    my $b = get('/hls/live.m3u8?t=same');
    is($b->{fs}, 'pass', 'the same key meanwhile: pass, not held');
    is($b->{status}, 200, 'the same key meanwhile: 200');

    my $r = http_finish($a, 10);
    like($r->{headers}{'x-fs'} // '', qr/^timeout$/,
         'the held one: stock on timeout');
    ok($r->{done} - $b->{done} > 1, 'the reload did not wait for it');
}


# 2. session expiry and refresh (hls_fast_start_session 1s)

{
    is(get('/hls/old.m3u8?t=s1')->{fs}, 'first', 'session: first');

    # reloads every 0.5 s for 2.5 s keep the session
    my @fs;
    for (1 .. 5) {
        sleep 0.5;
        push @fs, get('/hls/old.m3u8?t=s1')->{fs};
    }
    is("@fs", 'pass pass pass pass pass', 'session: reloads refresh it');

    # then 1.5 s without a request: new again
    sleep 1.5;
    is(get('/hls/old.m3u8?t=s1')->{fs}, 'first', 'session: expired');
}


# 3. a full zone (32k) drops the least recently seen terminals

{
    my @uris = map { "/full/old.m3u8?t=k$_" } 1 .. 600;

    is(get('/full/old.m3u8?t=victim')->{fs}, 'first', 'zone: victim first');
    is(get('/full/old.m3u8?t=victim')->{fs}, 'pass', 'zone: victim known');

    my $bad = 0;
    for (@uris) {
        my $r = get($_);
        $bad++ if $r->{status} != 200 || $r->{fs} ne 'first';
    }
    is($bad, 0, 'zone: 600 new terminals all answered as first');

    is(get('/full/old.m3u8?t=victim')->{fs}, 'first',
       'zone: the least recently seen terminal was dropped');
    is(get('/full/old.m3u8?t=k600')->{fs}, 'pass',
       'zone: the most recent one is still known');
}


# 4. repeated EXT-X-KEY lines: the key in effect comes along

{
    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-TARGETDURATION:2\n";
    $pl .= qq{#EXT-X-KEY:METHOD=AES-128,URI="k1.key"\n};
    $pl .= "#EXTINF:2.000,\nk-$_.ts\n" for 10 .. 12;
    $pl .= qq{#EXT-X-KEY:METHOD=AES-128,URI="k2.key"\n};
    $pl .= "#EXTINF:2.000,\nk-$_.ts\n" for 13 .. 14;
    spew("$dir/hls/key.m3u8", $pl);

    my $h = holds('key.m3u8');
    my $s = http_start($edge, '/key/key.m3u8?t=key');
    ok(wait_for(sub { holds('key.m3u8') > $h }), 'key: held');

    my $next = $pl . "#EXTINF:2.000,\nk-15.ts\n";
    spew("$dir/hls/key.m3u8", $next);
    my $r = http_finish($s, 10);

    is($r->{headers}{'x-fs'}, 'held', 'key: answered after the rename');
    is($r->{body}, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:13\n"
                   . "#EXT-X-TARGETDURATION:2\n"
                   . qq{#EXT-X-KEY:METHOD=AES-128,URI="k2.key"\n}
                   . join('', map { "#EXTINF:2.000,\nk-$_.ts\n" } 13 .. 15),
       'key: the last 3 fragments, k2 set before the first');

    # every fragment listed has the key the full playlist gives it
    my %full = map { $_->{uri} => $_->{key} }
               @{ hls_parse($next)->{segments} };
    my @diff = grep { ($full{$_->{uri}} // '') ne ($_->{key} // '') }
               @{ hls_parse($r->{body})->{segments} };
    is(scalar @diff, 0, 'key: each fragment keeps its key');

    # with 4 fragments the first one is under k1, and k2 follows
    $pl = $next . "#EXTINF:2.000,\nk-16.ts\n";
    my $t = hls_timeline();
    $t->add($r->{body});
    my $reload = get('/key/key.m3u8?t=key');
    spew("$dir/hls/key.m3u8", $pl);
    my $reload2 = get('/key/key.m3u8?t=key');
    my @p = ($t->add($reload->{body}), $t->add($reload2->{body}));
    is("@p", '', 'key: the reloads keep to the first answer');

    $h = holds('key.m3u8');
    $s = http_start($edge, '/key/key.m3u8?t=key4');
    ok(wait_for(sub { holds('key.m3u8') > $h }), 'key: held again');
    spew("$dir/hls/key.m3u8", $pl . "#EXTINF:2.000,\nk-17.ts\n");
    $r = http_finish($s, 10);
    my @keys = $r->{body} =~ /^#EXT-X-KEY:.*URI="(k\d)\.key"$/mg;
    is("@keys", 'k2', 'key: a key line only where one is in effect');
}


# 4b. EXT-X-MAP (fMP4): the initialization section in effect comes along,
#     or the trimmed playlist's fragments cannot be decoded

{
    my $pl = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MEDIA-SEQUENCE:20\n"
             . "#EXT-X-TARGETDURATION:2\n"
             . qq{#EXT-X-MAP:URI="init-a.mp4"\n}
             . join('', map { "#EXTINF:2.000,\nf-$_.m4s\n" } 20 .. 23);
    spew("$dir/hls/fmp4.m3u8", $pl);

    my $h = holds('fmp4.m3u8');
    my $s = http_start($edge, '/key/fmp4.m3u8?t=map');
    ok(wait_for(sub { holds('fmp4.m3u8') > $h }), 'map: held');

    my $next = $pl . "#EXTINF:2.000,\nf-24.m4s\n";
    spew("$dir/hls/fmp4.m3u8", $next);
    my $r = http_finish($s, 10);

    is($r->{headers}{'x-fs'}, 'held', 'map: answered after the rename');
    is($r->{body}, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MEDIA-SEQUENCE:22\n"
                   . "#EXT-X-TARGETDURATION:2\n"
                   . qq{#EXT-X-MAP:URI="init-a.mp4"\n}
                   . join('', map { "#EXTINF:2.000,\nf-$_.m4s\n" } 22 .. 24),
       'map: the last 3 fragments, the EXT-X-MAP set before the first');

    # a new initialization section mid-window: each fragment keeps its own
    $next .= qq{#EXT-X-MAP:URI="init-b.mp4"\n}
             . join('', map { "#EXTINF:2.000,\nf-$_.m4s\n" } 25 .. 26);

    $h = holds('fmp4.m3u8');
    $s = http_start($edge, '/key/fmp4.m3u8?t=map2');
    ok(wait_for(sub { holds('fmp4.m3u8') > $h }), 'map: held again');
    spew("$dir/hls/fmp4.m3u8", $next);
    $r = http_finish($s, 10);

    my %full = map { $_->{uri} => $_->{map} }
               @{ hls_parse($next)->{segments} };
    my @segs = @{ hls_parse($r->{body})->{segments} };
    my @diff = grep { ($full{$_->{uri}} // '') ne ($_->{map} // '') } @segs;
    is(join(' ', map { $_->{uri} } @segs), 'f-24.m4s f-25.m4s f-26.m4s',
       'map: the last 3 fragments across the change');
    is(scalar @diff, 0, 'map: each fragment keeps its EXT-X-MAP');
}


# 5. more fragments asked for than a sliding window has: all of them, at
#    the next rename; a new stream (media sequence 0) is waited for

{
    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-TARGETDURATION:2\n"
             . join('', map { "#EXTINF:2.000,\nm-$_.ts\n" } 5 .. 7);
    spew("$dir/hls/many.m3u8", $pl);

    my $h = holds('many.m3u8');
    my $s = http_start($edge, '/many/many.m3u8?t=m');
    ok(wait_for(sub { holds('many.m3u8') > $h }), 'window: held');
    my $start = time;
    spew("$dir/hls/many.m3u8", $pl =~ s/:5\n#EXT-X-T/:6\n#EXT-X-T/r
                               =~ s/#EXTINF:2.000,\nm-5.ts\n//r
                               . "#EXTINF:2.000,\nm-8.ts\n");
    my $r = http_finish($s, 10);
    is($r->{headers}{'x-fs'}, 'held', 'window: answered at the rename');
    ok($r->{done} - $start < 1, 'window: at once');
    my @segs = $r->{body} =~ /^m-\d+\.ts$/mg;
    is("@segs", 'm-6.ts m-7.ts m-8.ts', 'window: all of it');

    $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
          . "#EXTINF:2.000,\nn-0.ts\n";
    spew("$dir/hls/new.m3u8", $pl);
    $h = holds('new.m3u8');
    $s = http_start($edge, '/key/new.m3u8?t=n');
    ok(wait_for(sub { holds('new.m3u8') > $h }), 'new stream: held');
    $pl .= "#EXTINF:2.000,\nn-1.ts\n";
    spew("$dir/hls/new.m3u8", $pl);
    ok(wait_for(sub { edge_log() =~ /hold "new\.m3u8" on, 2 of 3/ }),
       'new stream: 2 fragments of 3, held on');
    spew("$dir/hls/new.m3u8", $pl . "#EXTINF:2.000,\nn-2.ts\n");
    $r = http_finish($s, 10);
    @segs = $r->{body} =~ /^n-\d+\.ts$/mg;
    is("@segs", 'n-0.ts n-1.ts n-2.ts', 'new stream: answered with 3');
}


# 5b. a stream restarted with hls_continuous off: its playlist goes back to
#     media sequence 0, and the terminal's numbers go on from its last
#     fragment instead (RFC 8216 6.2.1: the media sequence never decreases)

{
    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:30\n#EXT-X-TARGETDURATION:2\n"
             . join('', map { "#EXTINF:2.000,\nr-$_.ts\n" } 30 .. 34);
    spew("$dir/hls/restart.m3u8", $pl);

    my $t = hls_timeline();
    my (@p, @fs);

    my $h = holds('restart.m3u8');
    my $s = http_start($edge, '/key/restart.m3u8?t=r');
    ok(wait_for(sub { holds('restart.m3u8') > $h }), 'restart: held');
    spew("$dir/hls/restart.m3u8", $pl . "#EXTINF:2.000,\nr-35.ts\n");
    my $r = http_finish($s, 10);
    is($r->{headers}{'x-fs'}, 'held', 'restart: the first answer');
    push @p, $t->add($r->{body}, 'first');

    # the publisher comes back: a new window, nginx-rtmp's discontinuity
    # before its first fragment, which later leaves the head uncounted

    my $new = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
              . "#EXT-X-DISCONTINUITY\n"
              . join('', map { "#EXTINF:2.000,\nn-$_.ts\n" } 0 .. 2);
    my @bodies;

    for my $i (3 .. 6) {
        spew("$dir/hls/restart.m3u8", $new);
        $r = get('/key/restart.m3u8?t=r');
        push @fs, $r->{fs};
        push @bodies, $r->{body};
        push @p, $t->add($r->{body}, "reload with n-" . ($i - 1));
        $new .= "#EXTINF:2.000,\nn-$i.ts\n";
    }

    $new = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-TARGETDURATION:2\n"
           . join('', map { "#EXTINF:2.000,\nn-$_.ts\n" } 1 .. 6);
    spew("$dir/hls/restart.m3u8", $new);
    $r = get('/key/restart.m3u8?t=r');
    push @fs, $r->{fs};
    push @bodies, $r->{body};
    push @p, $t->add($r->{body}, 'reload without n-0');

    is("@fs", 'pass pass pass pass pass', 'restart: reloads');
    like($bodies[0], qr/^#EXT-X-MEDIA-SEQUENCE:36$/m,
         'restart: the new stream goes on after the last fragment (35)');
    like($bodies[-1], qr/^#EXT-X-DISCONTINUITY-SEQUENCE:1$/m,
         'restart: its discontinuity counted once it left the head');
    is(join("\n", @p), '', 'restart: every answer an RFC 8216 update');
}


# 5c. two locations on one directory, one with disable_symlinks on: a
#     stream directory that appears as a symlink while both hold requests
#     is read once, with the first one's rules, and the other one gets
#     what its own rules give (the static module's 404), not that read

{
    mkdir "$dir/outside";
    my $pl = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-TARGETDURATION:2\n"
             . join('', map { "#EXTINF:2.000,\nx-$_.ts\n" } 5 .. 7);

    my $h = holds('x.m3u8');
    my $p = http_start($edge, '/perm/linked/x.m3u8?t=lp');
    ok(wait_for(sub { holds('x.m3u8') > $h }), 'symlink rules: first held');
    my $s = http_start($edge, '/safe/linked/x.m3u8?t=ls');
    ok(wait_for(sub { holds('x.m3u8') > $h + 1 }),
       'symlink rules: the other one held');

    spew("$dir/outside/x.m3u8", $pl);
    symlink "$dir/outside", "$dir/hls/linked" or die "symlink: $!\n";

    my $rp = http_finish($p, 10);
    my $rs = http_finish($s, 10);

    is("$rp->{status} " . ($rp->{headers}{'x-fs'} // ''), '200 held',
       'symlink rules: followed where allowed');
    is("$rs->{status} " . ($rs->{headers}{'x-fs'} // ''), '404 first',
       'symlink rules: refused where disable_symlinks is on');
    unlike($rs->{body}, qr/x-7\.ts/, 'symlink rules: no playlist leaked');
}


# 6. open_file_cache does not keep an old playlist: reloads see renames

{
    spew("$dir/hls/c.m3u8", $live =~ s/l-/c-/gr);
    utime 1, 1, "$dir/hls/c.m3u8";
    is(get('/cached/c.m3u8?t=c')->{fs}, 'first', 'cached: first');
    like(get('/cached/c.m3u8?t=c')->{body}, qr/c-7\.ts\n\z/,
         'cached: a reload');

    spew("$dir/hls/c.m3u8", ($live =~ s/l-/c-/gr) . "#EXTINF:2.000,\nc-8.ts\n");
    like(get('/cached/c.m3u8?t=c')->{body}, qr/c-8\.ts\n\z/,
         'cached: the reload after a rename has the new fragment');
}


# 7. the zone over a reload (HUP): known terminals stay known

{
    is(get('/hls/old.m3u8?t=hup')->{fs}, 'first', 'reload: first before');

    my $old = get('/hls/old.m3u8?t=other')->{headers}{'x-pid'};
    kill 'HUP', slurp("$dir/edge/logs/nginx.pid") =~ /(\d+)/;
    ok(wait_for(sub { my $p = get('/hls/old.m3u8?t=probe')->{headers}{'x-pid'};
                      $p && $p ne $old }), 'reload: a new worker answers');

    is(get('/hls/old.m3u8?t=hup')->{fs}, 'pass', 'reload: still known after');
}


# 8. `nginx -s quit` answers held requests at once and the worker exits

{
    my $h = holds('live.m3u8');
    my $s = http_start($edge, '/hls/live.m3u8?t=quit');
    ok(wait_for(sub { holds('live.m3u8') > $h }), 'quit: held');

    my $start = time;
    kill 'QUIT', $master;
    my $r = http_finish($s, 10);

    is($r->{status}, 200, 'quit: answered');
    is($r->{headers}{'x-fs'}, 'timeout', 'quit: with the stock playlist');
    ok($r->{done} - $start < 1,
       sprintf('quit: released %.3f s after the signal', $r->{done} - $start));
    ok(wait_for(sub { waitpid($master, WNOHANG) == $master }, 5),
       'quit: nginx exited');
}


unlike(edge_log(), qr/\[(?:alert|emerg)\]/, 'no alerts in the edge log');

# it has exited (QUIT above): under memcheck in valgrind mode
is(valgrind_reports('edge'), '', 'no memcheck reports from the edge')
    if $ENV{TEST_NGINX_USE_VALGRIND};

run_tests();

__DATA__
