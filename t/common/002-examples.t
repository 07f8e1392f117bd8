# Every config in nginx-conf-examples/ works as written: nginx -t accepts
# it with our modules, only the load_module paths pointed at this build.

use strict;
use warnings;

use Test::More;
use LiveCdn::Helpers;
use LiveCdn::Rtmpq;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my @confs = glob 'nginx-conf-examples/*.conf';

ok(@confs >= 3, 'there are example configs');

for my $conf (@confs) {
    my ($name) = $conf =~ m{([^/]+)\.conf$};
    my $dir = helper_dir() . "/$name";

    mkdir $dir;
    mkdir "$dir/logs";

    open my $in, '<', $conf or die "$conf: $!\n";
    my $text = do { local $/; <$in> };
    close $in;

    my $n = $text =~ s{^(\s*load_module\s+)\S*/(ngx_(?:http|stream)_\w+_module
                                               \.so);}
                      {$1$ENV{TEST_NGINX_MODULE_DIR}/$2;}mgx;
    $text =~ s{^(\s*load_module\s+)\S*ngx_rtmp_module\.so;}
              {$1$ENV{TEST_NGINX_RTMP_MODULE};}mg;

    # certificate files made for the test, in place of the operator's
    if ($text =~ /rtmpq_certificate/) {
        my ($crt, $key) = make_cert($dir);
        $text =~ s{(rtmpq_certificate\s+)\S+;}{$1$crt;}g;
        $text =~ s{(rtmpq_certificate_key\s+)\S+;}{$1$key;}g;
    }

    # a role of stock nginx-rtmp alone (an origin of the tier example)
    # says so in its first line
    ok($n > 0 || $text =~ /\A# [^\n]*\bstock nginx-rtmp only\b/,
       "$name loads our modules");

    open my $out, '>', "$dir/nginx.conf" or die "$dir: $!\n";
    print $out $text;
    close $out;

    # under memcheck in TEST_NGINX_USE_VALGRIND mode: parsing runs our
    # directive handlers
    my @vg = memcheck_prefix($dir);
    my $res = `@vg $nginx -t -p $dir/ -c $dir/nginx.conf -e $dir/logs/error.log 2>&1`;

    like($res, qr/test is successful/, "$name: nginx -t") or diag($res);
    check_memcheck("nginx -t $name", $dir, 1) if @vg;
}

# and the demo's config, as util/demo renders it
{
    my $dir = helper_dir() . '/demo';
    mkdir $dir;
    mkdir "$dir/logs";

    local $ENV{DEMO_DIR} = $dir;
    local $ENV{DEMO_HTTP} = free_port();
    local $ENV{DEMO_RTMP} = free_port();
    local $ENV{DEMO_MODULES} = $ENV{TEST_NGINX_MODULE_DIR};
    local $ENV{DEMO_USER} = $> == 0 ? 'user root;' : '';

    make_cert($dir);    # rtmpq.crt and rtmpq.key, as util/demo makes them

    system("envsubst '\${DEMO_DIR} \${DEMO_HTTP} \${DEMO_RTMP} "
           . "\${DEMO_MODULES} \${DEMO_USER}' < util/demo.conf "
           . "> $dir/nginx.conf") == 0
        or die "envsubst: $?\n";

    my @vg = memcheck_prefix($dir);
    my $res = `@vg $nginx -t -p $dir/ -c $dir/nginx.conf -e $dir/logs/error.log 2>&1`;

    like($res, qr/test is successful/, 'the demo config: nginx -t')
        or diag($res);
    check_memcheck('nginx -t demo', $dir, 1) if @vg;
}

done_testing();
