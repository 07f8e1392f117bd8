# The primary and standby configs of nginx-conf-examples/ run as written,
# only their addresses, ports and paths moved onto this machine: a file
# both hold is redirected with a signature the standby accepts, one the
# standby lacks is served by the primary.  Plain Test::More.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use LiveCdn::Standby;

my $dir = make_media();
my $pp = free_port();
my $sp = free_port();

sub example {
    my ($name, $port) = @_;
    my $text = slurp("nginx-conf-examples/$name.conf") // die "$name\n";
    my $side = $name =~ /primary/ ? 'primary' : 'standby';

    $text =~ s{^(\s*load_module\s+)\S*/(ngx_http_\w+_module\.so);}
              {$1$ENV{TEST_NGINX_MODULE_DIR}/$2;}mg;
    $text =~ s/10\.0\.0\.2:8080/127.0.0.1:$sp/g;
    $text =~ s/10\.0\.0\.[12]\b/127.0.0.1/g;
    $text =~ s{allow 10\.0\.0\.0/8;}{allow 127.0.0.0/8;};
    $text =~ s/listen 8080;/listen 127.0.0.1:$port;/;
    $text =~ s{/srv\b}{$dir/$side}g;
    $text =~ s{/var/log/nginx/}{logs/}g;
    $text =~ s/worker_connections 4096;/worker_connections 256;/;
    $text = "error_log logs/error.log info;\npid logs/nginx.pid;\n$text";

    return $text;
}

start_nginx_helper('standby', wait_port => $sp,
                   conf => example('standby-standby', $sp));
start_nginx_helper('primary', wait_port => $pp,
                   conf => example('standby-primary', $pp));

my ($st, $h) = http_get($pp, '/media/f1.bin');
is($st, 302, 'a file both hold: redirected');
my ($path) = ($h->{location} // '') =~ m{^http://127\.0\.0\.1:$sp(/.*)$};
like($path // '', qr{^/media/f1\.bin\?md5=[\w-]{22}&expires=\d+&standby_hop=1$},
     'to the standby, signed');

my ($st2, undef, $body) = http_get($sp, $path);
is($st2, 200, 'the standby accepts the signature');
is($body, slurp("$dir/primary/media/f1.bin"), 'the same bytes');

($st2) = http_get($sp, '/media/f1.bin');
is($st2, 403, 'the standby refuses a client that comes unsigned');

($st, $h, $body) = http_get($pp, '/media/only-primary.bin');
is($st, 200, 'a file the standby lacks: served by the primary');
is($body, "primary only\n", 'its bytes');

my @l = wait_log_file('primary', 'media.log', qr/only-primary/);
ok((grep { /"GET \/media\/f1\.bin HTTP\/1\.0" 302 standby=redirect\/available$/ } @l),
   'the access log says redirect');
ok((grep { /"GET \/media\/only-primary\.bin HTTP\/1\.0" 200 standby=local\/not_found$/ } @l),
   'and local');

done_testing();
