package LiveCdn::Pipeline;

# Many GET requests over one keepalive connection, pipelined, for tests
# that need thousands of answers in a second or two (test code only).

use strict;
use warnings;

use IO::Socket::INET;

use Exporter 'import';
our @EXPORT = qw(pipelined_get);


# pipelined_get($port, \@uris) -> list of [status, body], in order; the
# server needs keepalive_requests >= @uris (nginx default: 1000)
sub pipelined_get {
    my ($port, $uris, %opt) = @_;
    my $batch = $opt{batch} || 500;
    my @out;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 10)
        or die "pipelined_get: connect to $port: $!\n";

    binmode $s;
    my $buf = '';

    for (my $i = 0; $i < @$uris; $i += $batch) {
        my @part = @$uris[$i .. ($i + $batch > @$uris ? $#$uris
                                                      : $i + $batch - 1)];

        print $s join '', map { "GET $_ HTTP/1.1\r\nHost: localhost\r\n\r\n" }
                              @part;

        for (1 .. @part) {
            my ($status, $body) = _read_response($s, \$buf);
            push @out, [$status, $body];
        }
    }

    close $s;
    return @out;
}


sub _read_response {
    my ($s, $buf) = @_;

    for (;;) {
        if ($$buf =~ /\A(HTTP\/1\.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n)/s) {
            my ($head, $status, $headers) = ($1, $2, $3);
            my ($len) = $headers =~ /^Content-Length:\s*(\d+)/mi;

            die "pipelined_get: no Content-Length\n" unless defined $len;

            if (length($$buf) >= length($head) + $len) {
                my $body = substr($$buf, length($head), $len);
                substr($$buf, 0, length($head) + $len, '');
                return ($status, $body);
            }
        }

        my $n = sysread($s, $$buf, 65536, length $$buf);
        die "pipelined_get: connection closed\n" unless $n;
    }
}


1;
