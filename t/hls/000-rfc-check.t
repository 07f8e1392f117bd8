# The RFC 8216 update checker of the HLS tests (LiveCdn::HlsCheck) on
# hand-made answer sequences: what it must accept and what it must catch,
# among them the two defects it exists for (nginx-rtmp's uncounted head
# discontinuity, and a first answer whose reload goes back).

use Test::Nginx::Socket 'no_plan';
use LiveCdn::HlsCheck;

sub pl {
    my ($ms, $ds, @segs) = @_;
    my $t = "#EXTM3U\n#EXT-X-VERSION:3\n";
    $t .= "#EXT-X-MEDIA-SEQUENCE:$ms\n" if defined $ms;
    $t .= "#EXT-X-TARGETDURATION:2\n";
    $t .= "#EXT-X-DISCONTINUITY-SEQUENCE:$ds\n" if defined $ds;
    for (@segs) {
        my ($d, $n) = /^(d?)(\d+)$/;
        $t .= "#EXT-X-DISCONTINUITY\n" if $d;
        $t .= "#EXTINF:2.000,\ns-$n.ts\n";
    }
    return $t;
}

sub problems {
    my $t = hls_timeline();
    return map { $t->add($_) } @_;
}

my @p;

# nginx-rtmp's stock window sliding on, discontinuity counted: fine
@p = problems(pl(0, undef, qw(d0 1 2 3)), pl(0, undef, qw(d0 1 2 3 4)),
              pl(1, 1, qw(1 2 3 4 5)));
is("@p", '', 'a sliding window that counts its dropped discontinuity');

# the same without EXT-X-DISCONTINUITY-SEQUENCE (stock nginx-rtmp)
@p = problems(pl(0, undef, qw(d0 1 2 3 4)), pl(1, undef, qw(1 2 3 4 5)));
like("@p", qr/s-1\.ts: discontinuity sequence number 1 became 0/,
     'stock nginx-rtmp: the dropped discontinuity is caught');
like("@p", qr/segment 1: dsn "1" became "0"/, 'and as an update');

# the issue's first answer and reload
@p = problems(pl(3, undef, qw(3 4)), pl(0, undef, qw(d0 1 2 3 4)));
like("@p", qr/EXT-X-MEDIA-SEQUENCE went back from 3 to 0/,
     'a reload that goes back is caught');
like("@p", qr/s-3\.ts: discontinuity sequence number 0 became 1/,
     'and the discontinuity number it changes');

# what fast start answers instead
@p = problems(pl(3, 1, qw(3 4)), pl(3, 1, qw(3 4 5)), pl(3, 1, qw(3 4 5 6)),
              pl(4, 1, qw(4 5 6 7)));
is("@p", '', 'a trimmed timeline');

# segments may only go from the head, and not below 3 target durations
@p = problems(pl(0, undef, qw(0 1 2 3)), pl(0, undef, qw(0 1 3 4)));
like("@p", qr/segment 2: uri "s-2\.ts" became "s-3\.ts"/,
     'a segment from the middle');
@p = problems(pl(0, undef, qw(0 1 2 3)), pl(2, undef, qw(2 3)));
like("@p", qr/under three target durations/, 'a window too short');

# a changed segment, a changed target duration, a jump
@p = problems(pl(0, undef, qw(0 1 2)), pl(0, undef, qw(0 d1 2)));
like("@p", qr/segment 1: disc "0" became "1"/, 'a tag added to a segment');
my $td3 = pl(0, undef, qw(0 1 2 3));
$td3 =~ s/TARGETDURATION:2/TARGETDURATION:3/;
@p = problems(pl(0, undef, qw(0 1 2)), $td3);
like("@p", qr/EXT-X-TARGETDURATION changed/, 'a new target duration');
@p = problems(pl(0, undef, qw(0 1 2)), pl(9, undef, qw(9 10 11)));
like("@p", qr/a jump/, 'a jump');

# a playlist alone
@p = problems("#EXTM3U\n#EXTINF:2.000,\na.ts\n");
like("@p", qr/no EXT-X-TARGETDURATION/, 'no target duration');
@p = problems("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:3.000,\na.ts\n");
like("@p", qr/over the target duration/, 'a segment too long');
@p = problems("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\na.ts\n"
              . "#EXT-X-MEDIA-SEQUENCE:1\n");
like("@p", qr/EXT-X-MEDIA-SEQUENCE after a segment/, 'a late sequence');
@p = problems("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-DISCONTINUITY\n"
              . "#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXTINF:2.000,\na.ts\n");
like("@p", qr/DISCONTINUITY-SEQUENCE after EXT-X-DISCONTINUITY/,
     'a late discontinuity sequence');
@p = problems("#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n");
like("@p", qr/has no EXTINF/, 'a segment without EXTINF');

run_tests();

__DATA__
