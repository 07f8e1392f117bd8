#!/usr/bin/perl
# A UDP relay for fault injection: udp-relay.pl PORT TO-PORT MODE
# "first": only the first client datagram passes, nothing comes back (a
# QUIC handshake that never finishes); "all": everything passes; "token":
# everything passes, but the token of a client Initial is altered (a
# Retry token that does not verify).

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;

my ($port, $to, $mode) = @ARGV;

my $in = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                               Proto => 'udp') or die "bind: $!\n";
my $out = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to,
                                Proto => 'udp') or die "socket: $!\n";
my $sel = IO::Select->new($in, $out);
my ($client, $n) = (undef, 0);

print "relay: listening\n";
$| = 1;

for (;;) {
    for my $s ($sel->can_read(1)) {
        my $buf = '';
        if ($s == $in) {
            $client = $in->recv($buf, 65536);
            next if $mode eq 'first' && $n++;
            $buf = spoil_token($buf) if $mode eq 'token';
            $out->send($buf);
            print "relay: passed a datagram\n";
        } else {
            $out->recv($buf, 65536);
            next if $mode eq 'first' || !$client;
            $in->send($buf, 0, $client);
        }
    }
}


# RFC 9000 17.2.2: flags, version, DCID, SCID, token length (varint), token
sub spoil_token {
    my ($pkt) = @_;

    return $pkt if length($pkt) < 7 || (ord($pkt) & 0xf0) != 0xc0;

    my $p = 5;
    $p += 1 + ord(substr($pkt, $p, 1));        # DCID
    $p += 1 + ord(substr($pkt, $p, 1));        # SCID
    return $pkt if $p >= length $pkt;

    my $b = ord(substr($pkt, $p, 1));
    my $n = 1 << ($b >> 6);
    my $len = $b & 0x3f;
    $len = $len * 256 + ord(substr($pkt, $p + $_, 1)) for 1 .. $n - 1;
    $p += $n;

    if ($len > 0 && $p + $len <= length $pkt) {
        substr($pkt, $p + $len - 1, 1) ^= "\x01";
        print "relay: spoiled a token\n";
    }

    return $pkt;
}
