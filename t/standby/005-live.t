# Media as players meet it: ffmpeg reading an mp4 and an HLS stream
# through the primary's redirect decodes the frames the primary has; a
# live nginx-rtmp stream on the standby is redirected to while its
# playlist is rewritten, and served by the primary once it goes stale
# (two target durations).  Real nginx, nginx-rtmp and ffmpeg.
# Plain Test::More.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media(mp4 => 1);
my $ffmpeg = $ENV{TEST_NGINX_FFMPEG} || 'ffmpeg';
my $rtmp = free_port();

# a VOD HLS rendition both controllers hold
system($ffmpeg, '-hide_banner', '-loglevel', 'error', '-y',
       '-i', "$dir/primary/media/video.mp4", '-c', 'copy',
       '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod',
       "$dir/primary/media/vod.m3u8") == 0 or die "ffmpeg hls failed\n";
system("cp $dir/primary/media/vod* $dir/standby/media/") == 0
    or die "cp: $?\n";

mkdir "$dir/standby/hls";

my ($pp, $sp) = start_pair(
    standby => { main => "load_module \$TEST_NGINX_RTMP_MODULE;\n"
                         . "rtmp { server { listen 127.0.0.1:$rtmp;\n"
                         . "    application app { live on; hls on;\n"
                         . "        hls_path $dir/standby/hls;\n"
                         . "        hls_fragment 1s;\n"
                         . "        hls_playlist_length 6s; } } }",
                 server => "location /hls/ { root $dir/standby; }" },
    primary => { server => <<"_EOC_" });
        location /hls/ {
            standby_redirect /_standby/check?uri=\$standby_uri;
            root $dir/primary;
        }
_EOC_

sub frames {
    my ($src) = @_;
    my @f;

    open my $fh, '-|', $ffmpeg, '-hide_banner', '-nostats', '-loglevel',
        'error', '-i', $src, '-map', '0:v:0', '-f', 'framemd5', '-'
        or die "ffmpeg: $!\n";
    while (<$fh>) {
        push @f, (split /,\s*/)[5] if /^\s*0,/;
    }
    close $fh;
    chomp @f;
    return @f;
}

my @want = frames("$dir/primary/media/video.mp4");
ok(@want >= 40, 'the mp4 has frames (' . scalar(@want) . ')');
my @got = frames("http://127.0.0.1:$pp/media/video.mp4");
is_deeply(\@got, \@want, 'ffmpeg through the redirect: the same frames');

@want = frames("$dir/primary/media/vod.m3u8");
ok(@want >= 40, 'the HLS rendition has frames (' . scalar(@want) . ')');
@got = frames("http://127.0.0.1:$pp/media/vod.m3u8");
is_deeply(\@got, \@want, 'ffmpeg reading HLS through the redirect: the same frames');

my @p = marker('primary', $pp);
ok((grep { $_ eq '/media/video.mp4 302 redirect available' } @p),
   'the mp4 was redirected');
ok((grep { $_ eq '/media/vod.m3u8 302 redirect available' } @p),
   'the playlist was redirected');
my @s = marker("standby", $sp);
diag(join "\n", @s) if $ENV{DIAG};
ok((grep { m{^/media/vod\d+\.ts(?:\?standby_hop=1)? 20[06]$} } @s),
   'and the standby served the fragments');

# a live stream on the standby
start_publisher('pub', url => "rtmp://127.0.0.1:$rtmp/app/live");

my $pl = "$dir/standby/hls/live.m3u8";
my $deadline = time + 20;
sleep 0.1 until (-s $pl && (slurp($pl) // '') =~ /\.ts$/m) || time > $deadline;
ok(-s $pl, 'nginx-rtmp writes the live playlist');

my ($st, $h) = http_get($pp, '/hls/live.m3u8');
is($st, 302, 'a live playlist: redirect');
is($h->{location}, "http://127.0.0.1:$sp/hls/live.m3u8?standby_hop=1",
   'to the standby');

my $frames = count_frames("http://127.0.0.1:$pp/hls/live.m3u8", seconds => 2);
ok($frames > 0, "ffmpeg plays the live stream through the redirect ($frames frames)");

# stopped: the playlist stays, and is stale after two target durations
stop_helper('pub');
my ($td) = (slurp($pl) // '') =~ /#EXT-X-TARGETDURATION:(\d+)/;
ok($td, "target duration $td");
$deadline = time + 30;
sleep 0.1 until time > (stat $pl)[9] + 2 * $td + 1 || time > $deadline;
ok(-e $pl && time > (stat $pl)[9] + 2 * $td, 'the playlist went stale');

($st, $h) = http_get($pp, '/hls/live.m3u8');
is($st, 404, 'a stale playlist is not redirected (and the primary lacks it)');
@p = marker('primary', $pp);
ok((grep { $_ eq '/hls/live.m3u8 404 local not_found' } @p),
   'local, not_found');

# under TEST_NGINX_USE_VALGRIND, also the memcheck verdict on the helpers
stop_helpers();

done_testing();
