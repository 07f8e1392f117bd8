package LiveCdn::HlsCheck;

# An RFC 8216 checker for the answers one player gets, in order, written
# from the RFC's rules (test code only):
#
#   4.3.1, 4.3.3: a media playlist starts with #EXTM3U, has exactly one
#     EXT-X-TARGETDURATION, and EXT-X-MEDIA-SEQUENCE and
#     EXT-X-DISCONTINUITY-SEQUENCE (at most once each) before the first
#     segment; the latter also before any EXT-X-DISCONTINUITY;
#   4.3.2.1: every segment has an EXTINF whose duration, rounded to the
#     nearest integer, is at most the target duration;
#   3, 4.3.3.2, 4.3.3.3: a segment's media sequence number is
#     EXT-X-MEDIA-SEQUENCE plus its position, its discontinuity sequence
#     number EXT-X-DISCONTINUITY-SEQUENCE plus the EXT-X-DISCONTINUITY
#     tags up to and including its own;
#   6.2.1: a playlist changes only by appending segments, removing them
#     from the head in order (with their tags), incrementing the two
#     sequence values, and adding EXT-X-ENDLIST; the target duration
#     stays;
#   6.2.2: each removed segment increments EXT-X-MEDIA-SEQUENCE by one,
#     a removed EXT-X-DISCONTINUITY increments EXT-X-DISCONTINUITY-
#     SEQUENCE so that the segments left keep their numbers, and no
#     removal leaves a live playlist shorter than three target durations.
#
# Across every answer, not only neighbours: EXT-X-MEDIA-SEQUENCE never
# decreases and a URI keeps one media and one discontinuity sequence
# number.  A playlist that lists no segment a previous answer listed is a
# jump (the player has lost its place) and is reported too.

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(hls_parse hls_timeline);


# hls_parse($text) -> { td, ms, ds, endlist, segments => [{ uri, duration,
# msn, dsn, disc, key, map }], errors => [...] }
sub hls_parse {
    my ($text) = @_;
    my (@errors, @segs, %seen);
    my ($td, $ms, $ds, $endlist, $key, $map);
    my ($disc, $extinf, $ndisc) = (0, undef, 0);

    my @lines = split /\r?\n/, $text // '';

    push @errors, 'does not start with #EXTM3U'
        unless @lines && $lines[0] eq '#EXTM3U';

    for my $i (1 .. $#lines) {
        my $l = $lines[$i];

        next if $l eq '';

        my ($v) = $l =~ /^#[^:]*:(.*)$/;

        if ($l =~ /^#EXT-X-TARGETDURATION:/) {
            push @errors, 'EXT-X-TARGETDURATION twice' if defined $td;
            push @errors, "bad EXT-X-TARGETDURATION \"$v\""
                unless $v =~ /^\d+$/;
            $td = $v;

        } elsif ($l =~ /^#EXT-X-MEDIA-SEQUENCE:/) {
            push @errors, 'EXT-X-MEDIA-SEQUENCE twice' if defined $ms;
            push @errors, 'EXT-X-MEDIA-SEQUENCE after a segment' if @segs
                                                                 || $extinf;
            push @errors, "bad EXT-X-MEDIA-SEQUENCE \"$v\""
                unless $v =~ /^\d+$/;
            $ms = $v;

        } elsif ($l =~ /^#EXT-X-DISCONTINUITY-SEQUENCE:/) {
            push @errors, 'EXT-X-DISCONTINUITY-SEQUENCE twice' if defined $ds;
            push @errors, 'EXT-X-DISCONTINUITY-SEQUENCE after a segment'
                if @segs || $extinf;
            push @errors, 'EXT-X-DISCONTINUITY-SEQUENCE after '
                          . 'EXT-X-DISCONTINUITY' if $ndisc || $disc;
            push @errors, "bad EXT-X-DISCONTINUITY-SEQUENCE \"$v\""
                unless $v =~ /^\d+$/;
            $ds = $v;

        } elsif ($l eq '#EXT-X-DISCONTINUITY') {
            $disc = 1;

        } elsif ($l =~ /^#EXT-X-KEY:/) {
            $key = $v eq 'METHOD=NONE' ? undef : $v;

        } elsif ($l =~ /^#EXT-X-MAP:/) {
            $map = $v;

        } elsif ($l =~ /^#EXTINF:([0-9.]+)(?:,.*)?$/) {
            $extinf = $1;

        } elsif ($l =~ /^#EXTINF/) {
            push @errors, "bad EXTINF \"$l\"";
            $extinf = 0;

        } elsif ($l eq '#EXT-X-ENDLIST') {
            $endlist = 1;

        } elsif ($l =~ /^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF)/) {
            push @errors, 'a master playlist';

        } elsif ($l !~ /^#/) {
            push @errors, "\"$l\" has no EXTINF" unless defined $extinf;
            push @errors, "\"$l\" listed twice" if $seen{$l}++;

            $ndisc += $disc;
            push @segs, { uri => $l, duration => $extinf // 0,
                          disc => $disc, key => $key, map => $map,
                          pos => scalar @segs, ndisc => $ndisc };
            ($disc, $extinf) = (0, undef);
        }
    }

    push @errors, 'no EXT-X-TARGETDURATION' unless defined $td;
    push @errors, 'no segment' unless @segs;

    $ms //= 0;
    $ds //= 0;

    for my $s (@segs) {
        $s->{msn} = $ms + delete $s->{pos};
        $s->{dsn} = $ds + delete $s->{ndisc};

        push @errors, "$s->{uri}: EXTINF $s->{duration} over the target "
                      . "duration $td"
            if defined $td && int($s->{duration} + 0.5) > $td;
    }

    return { td => $td, ms => $ms, ds => $ds, endlist => $endlist,
             segments => \@segs, errors => \@errors };
}


# The problems of "b" as the update of "a" (6.2.1, 6.2.2).
sub _update {
    my ($a, $b) = @_;
    my @p;

    push @p, "EXT-X-TARGETDURATION changed from $a->{td} to $b->{td}"
        if ($a->{td} // '') ne ($b->{td} // '');
    push @p, "EXT-X-MEDIA-SEQUENCE went back from $a->{ms} to $b->{ms}"
        if $b->{ms} < $a->{ms};
    push @p, "EXT-X-DISCONTINUITY-SEQUENCE went back from $a->{ds} to "
             . "$b->{ds}" if $b->{ds} < $a->{ds};
    push @p, 'EXT-X-ENDLIST removed' if $a->{endlist} && !$b->{endlist};

    my %bm = map { $_->{msn} => $_ } @{ $b->{segments} };
    my $removed = 0;

    for my $s (@{ $a->{segments} }) {

        if ($s->{msn} < $b->{ms}) {
            $removed++;
            next;
        }

        my $t = $bm{$s->{msn}};

        if (!$t) {
            # only the head may go: this one was dropped from the middle
            # or the end
            push @p, "segment $s->{msn} ($s->{uri}) disappeared";
            next;
        }

        for my $f (qw(uri duration disc dsn)) {
            push @p, "segment $s->{msn}: $f \"" . ($s->{$f} // '')
                     . "\" became \"" . ($t->{$f} // '') . '"'
                if ($s->{$f} // '') ne ($t->{$f} // '');
        }

        push @p, "segment $s->{msn}: its key changed"
            if ($s->{key} // '') ne ($t->{key} // '');
        push @p, "segment $s->{msn}: its EXT-X-MAP changed"
            if ($s->{map} // '') ne ($t->{map} // '');
    }

    if ($removed && !$b->{endlist} && defined $b->{td}) {
        my $dur = 0;
        $dur += $_->{duration} for @{ $b->{segments} };

        push @p, sprintf('%d segment(s) removed leaving %.3f s, under three '
                         . 'target durations (%d s)', $removed, $dur,
                         3 * $b->{td})
            if $dur < 3 * $b->{td};
    }

    return @p;
}


# hls_timeline() -> a checker; $t->add($text, $label) returns the list of
# problems of that answer (alone, as the update of the previous one, and
# against every earlier one); $t->answers is how many it has seen.
sub hls_timeline {
    return bless { n => 0, prev => undef, uris => {}, max_ms => undef },
                 'LiveCdn::HlsCheck::Timeline';
}


package LiveCdn::HlsCheck::Timeline;

sub add {
    my ($self, $text, $label) = @_;
    my $pl = LiveCdn::HlsCheck::hls_parse($text);
    my @p = @{ $pl->{errors} };

    $label //= 'answer ' . ($self->{n} + 1);
    $self->{n}++;

    if (@p) {
        return map { "$label: $_" } @p;
    }

    if ($self->{prev}) {
        push @p, LiveCdn::HlsCheck::_update($self->{prev}, $pl);
    }

    push @p, "EXT-X-MEDIA-SEQUENCE $pl->{ms} under an earlier $self->{max_ms}"
        if defined $self->{max_ms} && $pl->{ms} < $self->{max_ms};

    my $common = 0;

    for my $s (@{ $pl->{segments} }) {
        my $was = $self->{uris}{$s->{uri}};

        if ($was) {
            $common++;
            push @p, "$s->{uri}: media sequence number $was->{msn} became "
                     . "$s->{msn}" if $was->{msn} != $s->{msn};
            push @p, "$s->{uri}: discontinuity sequence number $was->{dsn} "
                     . "became $s->{dsn}" if $was->{dsn} != $s->{dsn};
        }

        $self->{uris}{$s->{uri}} = { msn => $s->{msn}, dsn => $s->{dsn} };
    }

    push @p, 'no segment in common with the previous answer (a jump)'
        if $self->{prev} && !$common
           && $pl->{ms} > $self->{prev}{segments}[-1]{msn} + 1;

    $self->{max_ms} = $pl->{ms}
        if !defined $self->{max_ms} || $pl->{ms} > $self->{max_ms};
    $self->{prev} = $pl;

    return map { "$label: $_" } @p;
}

sub answers {
    return $_[0]->{n};
}


1;
