#!/usr/bin/perl
# A UDP relay for fault injection: udp-relay.pl PORT TO-PORT MODE
# "first": only the first client datagram passes, nothing comes back (a
# QUIC handshake that never finishes); "all": everything passes.

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
            $out->send($buf);
            print "relay: passed a datagram\n";
        } else {
            $out->recv($buf, 65536);
            next if $mode eq 'first' || !$client;
            $in->send($buf, 0, $client);
        }
    }
}
