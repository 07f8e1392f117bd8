# HLS fast start as players meet it: timing against the fragment
# boundary, several workers, clients that go away, reloads, a stream that
# starts while a request is held, and ffmpeg as the player.  The nginx
# under test runs as a helper here (master, 2 workers) so that it lives
# across these checks; nginx-rtmp cuts 2 s fragments in another helper.

use Test::Nginx::Socket 'no_plan';
use LiveCdn::Helpers;
use LiveCdn::HlsCheck;
use Time::HiRes qw(time sleep stat);

my $dir = helper_dir();

$ENV{TEST_NGINX_RTMP_PORT} = free_port();
$ENV{TEST_NGINX_EDGE_PORT} = free_port();
$ENV{TEST_NGINX_HLS_DIR} = "$dir/hls";

start_hls_origin("$dir/hls", fragment => '2s', playlist => '12s');

start_nginx_helper('edge', wait_port => $ENV{TEST_NGINX_EDGE_PORT},
                   conf => <<'EOC');
load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 128; }
http {
    log_format fs '$hls_fast_start "$http_user_agent" $status';
    access_log logs/access.log fs;
    hls_fast_start_zone fs:1m;
    server {
        # reuseport: the kernel spreads connections over both workers
        listen 127.0.0.1:$TEST_NGINX_EDGE_PORT reuseport;
        location /hls/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start fs;
            add_header X-FS $hls_fast_start always;
        }
        location /long/ {
            alias $TEST_NGINX_HLS_DIR/;
            hls_fast_start fs;
            hls_fast_start_wait 30s;
            add_header X-FS $hls_fast_start always;
        }
    }
}
EOC

my $edge = $ENV{TEST_NGINX_EDGE_PORT};
my $edge_dir = "$dir/edge";
my $playlist = "$dir/hls/s1.m3u8";

start_publisher('pub', url => "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}"
                              . "/app/s1", gop => 1);

sub segments {
    my ($pl) = @_;
    my @s = defined $pl ? $pl =~ /^([^#\s][^\r\n]*)$/mg : ();
    return wantarray ? @s : scalar @s;
}

# requests nginx may hold: sent now, read later
sub start_request {
    my ($uri, $ua) = @_;
    return http_start($edge, $uri, { 'User-Agent' => $ua });
}

sub finish_request {
    my $r = http_finish($_[0], 40);
    $r->{fs} = $r->{headers}{'x-fs'} // '';
    $r->{cc} = $r->{headers}{'cache-control'} // '';
    return $r;
}

sub request {
    return finish_request(start_request(@_));
}

sub edge_log {
    return slurp("$edge_dir/logs/error.log") // '';
}

# waits until the edge has held a request for "name" n times in all
sub wait_holds {
    my ($name, $n) = @_;
    return wait_for(sub { fast_start_holds('edge', $name) >= ($n // 1) });
}

# a live window of 3 fragments
for (1 .. 300) {
    last if segments(slurp($playlist)) >= 3;
    sleep 0.1;
}

ok(segments(slurp($playlist)) >= 3, 'the stream is live');


# 1. the held answer lands just after the rename that completes a fragment

for my $i (1 .. 3) {
    my $start = time;
    my $r = request('/hls/s1.m3u8', "timing-$i");
    my $renamed = (stat $playlist)[9];
    my $stock = slurp($playlist);
    my @listed = segments($r->{body});
    my ($ms) = $r->{body} =~ /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m;
    my ($stock_ms) = $stock =~ /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m;
    my @all = segments($stock);

    is($r->{fs}, 'held', "timing $i: held");
    is($r->{cc}, 'no-store', "timing $i: Cache-Control: no-store");
    is(scalar @listed, 2, "timing $i: 2 fragments");
    ok($renamed >= $start && $r->{done} - $renamed < 0.25,
       sprintf("timing $i: answered %.3f s after the rename, held %.3f s",
               $r->{done} - $renamed, $r->{done} - $start));

    # sequential naming: the fragment id is its media sequence number
    is($listed[0], "s1-$ms.ts", "timing $i: media sequence $ms");
    is_deeply([@all[-2, -1]], \@listed,
              "timing $i: the last 2 fragments of the stock playlist");
    is($listed[1], 's1-' . ($stock_ms + @all - 1) . '.ts',
       "timing $i: the last listed fragment is complete");
    # nginx-rtmp opens the next fragment right after the rename; on a busy
    # machine that can trail our answer by a moment
    my $next = "$dir/hls/s1-" . ($stock_ms + @all) . '.ts';
    for (1 .. 20) { last if -e $next; sleep 0.05; }
    ok(-e $next && !grep({ $_ eq "s1-" . ($stock_ms + @all) . '.ts' } @listed),
       "timing $i: the fragment being written is not listed");
}


# 2. several terminals at once, on two workers; then their reloads

{
    my $n = 16;
    my $before = fast_start_holds('edge', 's1.m3u8');
    my @s = map { start_request('/hls/s1.m3u8', "many-$_") } 1 .. $n;

    # every one held before the rename that wakes them all
    ok(wait_holds('s1.m3u8', $before + $n), "$n terminals waiting");
    my %pids = map { $_ => 1 }
               edge_log() =~ /\[debug\] (\d+)#\d+: \*\d+ hls fast start: hold "s1/g;
    is(scalar keys %pids, 2, 'held by both workers');

    my @r = map { finish_request($_) } @s;

    is(scalar(grep { $_->{fs} eq 'held' } @r), $n, "$n terminals held");
    is(scalar(grep { segments($_->{body}) == 2 } @r), $n,
       "$n answers of 2 fragments");

    my %ms = map { ($_->{body} =~ /MEDIA-SEQUENCE:(\d+)/)[0] => 1 } @r;
    is(scalar keys %ms, 1, 'all woken by the same rename');

    my @t = map { my $t = hls_timeline(); $t->add($_->{body}); $t } @r;
    my @p;

    @r = map { request('/hls/s1.m3u8', "many-$_") } 1 .. $n;

    is(scalar(grep { $_->{fs} eq 'pass' } @r), $n, "$n reloads pass");
    push @p, $t[$_]->add($r[$_]->{body}, "reload $_") for 0 .. $n - 1;
    is("@p", '', 'each reload is an RFC 8216 update of its first answer');

    # the 12 s stock window starts before the first answers: trimmed
    is(scalar(grep { $_->{body} =~ /MEDIA-SEQUENCE:(\d+)/ && $ms{$1} } @r),
       $n, 'the reloads start where the first answers did');
}


# 3. a client that goes away while held

{
    my $s = start_request('/long/gone.m3u8', 'goes-away');
    ok(wait_holds('gone.m3u8'), 'gone.m3u8 held');
    close $s;

    my $ok = 0;
    for (1 .. 40) {
        last if $ok = edge_log() =~ /held request for "gone\.m3u8" gone/;
        sleep 0.05;
    }

    ok($ok, 'a held request is released when its client goes away');
    is(request('/hls/s1.m3u8', 'after-gone')->{fs}, 'held',
       'the next first request is held as usual');
}


# 4. a stream that starts while the first request is held

{
    my $s = start_request('/long/late.m3u8', 'late');
    ok(wait_holds('late.m3u8'), 'late.m3u8 held');
    start_publisher('late', url => "rtmp://127.0.0.1:"
                                   . "$ENV{TEST_NGINX_RTMP_PORT}/app/late",
                    gop => 1);

    my $r = finish_request($s);

    is($r->{status}, 200, 'no playlist yet: answered once it exists');
    is($r->{fs}, 'held', 'no playlist yet: held');
    ok(segments($r->{body}) >= 1, 'no playlist yet: fragments listed');
    stop_helper('late');
}


# 5. ffmpeg plays the fast-start playlist

{
    my $frames = count_frames("http://127.0.0.1:$edge/hls/s1.m3u8",
                              seconds => 6, timeout => 40);
    ok($frames > 100, "ffmpeg decoded $frames frames");
    like(slurp("$edge_dir/logs/access.log"), qr/^held "Lavf[^"]*" 200$/m,
         'the player was held once');
    like(slurp("$edge_dir/logs/access.log"), qr/^pass "Lavf[^"]*" 20[06]$/m,
         'and reloaded the stock playlist');
}


# 6. a reload releases held requests at once

{
    my $s = start_request('/long/nosuch.m3u8', 'reload');
    ok(wait_holds('nosuch.m3u8'), 'nosuch.m3u8 held');

    my $start = time;
    kill 'HUP', slurp("$edge_dir/logs/nginx.pid") =~ /(\d+)/;
    my $r = finish_request($s);

    is($r->{status}, 404, 'held over a reload: stock answer');
    is($r->{fs}, 'timeout', 'held over a reload: X-FS: timeout');
    ok($r->{done} - $start < 5, sprintf('released %.3f s after the HUP',
                                        $r->{done} - $start));
}


unlike(edge_log(), qr/\[(?:alert|crit|emerg)\]|open socket/,
       'no alerts in the edge log');

run_tests();

__DATA__

=== TEST 1: HEAD of a first request is held too
--- main_config
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_hls_fast_start_module.so;
--- http_config
    hls_fast_start_zone fs:1m;
--- config
    location /hls/ {
        alias $TEST_NGINX_HLS_DIR/;
        hls_fast_start fs;
        add_header X-FS $hls_fast_start always;
    }
--- request
HEAD /hls/s1.m3u8
--- response_headers
X-FS: held
Cache-Control: no-store
--- response_body
--- no_error_log
[error]
[alert]
--- timeout: 10
