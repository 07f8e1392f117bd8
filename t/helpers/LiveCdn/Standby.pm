package LiveCdn::Standby;

# The two-nginx harness of the standby tests: a media tree for each
# controller, and the configs of a standby (standby_check) and a primary
# (standby_redirect) on loopback, started as real nginx processes with
# LiveCdn::Helpers.  Plain Perl, for our runner and the real Test::Nginx.

use strict;
use warnings;

use File::Path qw(make_path);
use Time::HiRes qw(sleep time);
use LiveCdn::Helpers;

use Exporter 'import';
our @EXPORT = qw(make_media write_file standby_conf primary_conf
                 start_pair log_lines wait_log wait_log_file
                 marker);


sub write_file {
    my ($file, $data) = @_;
    my ($d) = $file =~ m{^(.*)/[^/]+$};
    make_path($d);
    open my $fh, '>', $file or die "$file: $!\n";
    binmode $fh;
    print $fh $data;
    close $fh;
}


# media/ under the helper dir: the same files for both controllers, plus
# what only one of them has; bytes that differ per file.  With mp4 => 1,
# a real two-second H.264 file made by ffmpeg as well (video.mp4).
sub make_media {
    my (%opt) = @_;
    my $dir = helper_dir();

    for my $side (qw(primary standby)) {
        for my $i (1 .. ($opt{files} || 20)) {
            write_file("$dir/$side/media/f$i.bin",
                       join('', map { chr(($i * 7 + $_) % 256) } 0 .. 4095)
                       x 8);
        }
        write_file("$dir/$side/media/only-$side.bin", "$side only\n");
    }

    if ($opt{mp4}) {
        my $ffmpeg = $ENV{TEST_NGINX_FFMPEG} || 'ffmpeg';
        system($ffmpeg, '-hide_banner', '-loglevel', 'error', '-y',
               '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25',
               '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast',
               '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
               "$dir/primary/media/video.mp4") == 0
            or die "ffmpeg could not make video.mp4\n";
        system('cp', "$dir/primary/media/video.mp4",
               "$dir/standby/media/video.mp4") == 0 or die "cp: $?\n";
    }

    return $dir;
}


# standby_check on /standby/check, /media/ served from the same root,
# stub_status on /status; opt: port, workers, check (extra parameters),
# media (extra directives of /media/), server (extra locations), http.
sub standby_conf {
    my (%o) = @_;
    my $dir = helper_dir();
    my $root = $o{root} // "$dir/standby";
    my $workers = $o{workers} || 1;
    my $check = $o{check} // 'max_conns=100';
    my $media = $o{media} // '';
    my $server = $o{server} // '';
    my $http = $o{http} // '';
    my $main = $o{main} // '';

    my $check_location = $o{no_check} ? '' : <<"_EOC_";
        location = /standby/check {
            standby_check root=$root $check
                          base=http://127.0.0.1:$o{port};
        }
_EOC_

    return <<"_EOC_";
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
$main
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 1024; accept_mutex off; }
http {
    log_format standby '\$request_uri \$status';
    access_log logs/access.log standby;
    $http
    server {
        listen 127.0.0.1:$o{port};
$check_location
        location /media/ {
            root $root;
            $media
        }
        location = /status { stub_status; }
        location = /marker { return 204; }
        $server
    }
}
_EOC_
}


# standby_redirect on /media/, asking the standby at opt "standby"; opt:
# port, workers, redirect (the directive's value), media (extra
# directives of /media/), check (the timeouts of /_standby/), listen
# (parameters), server, http.
sub primary_conf {
    my (%o) = @_;
    my $dir = helper_dir();
    my $workers = $o{workers} || 1;
    my $redirect = $o{redirect} // '/_standby/check?uri=$standby_uri';
    my $media = $o{media} // '';
    # generous: a test about timeouts sets its own (under memcheck a
    # check can take a while)
    my $check = $o{check}
                // "proxy_connect_timeout 5s;\n"
                   . "            proxy_read_timeout 10s;";
    my $server = $o{server} // '';
    my $http = $o{http} // '';
    my $listen = $o{listen} // '';

    return <<"_EOC_";
load_module \$TEST_NGINX_MODULE_DIR/ngx_http_standby_module.so;
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 1024; accept_mutex off; }
http {
    log_format primary '\$request_uri \$status \$standby_action '
                       '\$standby_reason';
    access_log logs/access.log primary;
    $http
    server {
        listen 127.0.0.1:$o{port} $listen;
        location /media/ {
            standby_redirect $redirect;
            root $dir/primary;
            $media
        }
        location /_standby/ {
            internal;
            proxy_pass http://127.0.0.1:$o{standby}/standby/;
            $check
        }
        location = /marker { return 204; }
        $server
    }
}
_EOC_
}


# both, with free ports: returns (primary port, standby port)
sub start_pair {
    my (%o) = @_;
    my $pp = free_port();
    my $sp = free_port();

    start_nginx_helper('standby', wait_port => $sp, valgrind => 1,
                       conf => standby_conf(%{ $o{standby} || {} },
                                            port => $sp));
    start_nginx_helper('primary', wait_port => $pp, valgrind => 1,
                       conf => primary_conf(%{ $o{primary} || {} },
                                            port => $pp, standby => $sp));
    return ($pp, $sp);
}


sub log_lines {
    my ($name, $file) = @_;
    my $text = slurp(helper_dir() . "/$name/logs/" . ($file || 'access.log'));
    return grep { length } split /\n/, $text // '';
}


# waits until a line of the access log matches, returns every line then
sub wait_log {
    my ($name, $re, $secs) = @_;
    return wait_log_file($name, 'access.log', $re, $secs);
}


sub wait_log_file {
    my ($name, $file, $re, $secs) = @_;
    my $deadline = time + ($secs || 5);

    while (time < $deadline) {
        my @l = log_lines($name, $file);
        return @l if grep { /$re/ } @l;
        sleep 0.02;
    }

    return log_lines($name, $file);
}


# a request straight to a one-worker server: when its access log shows
# it, every request that server answered before is logged too
sub marker {
    my ($name, $port) = @_;
    my $tag = 'm' . int(rand(1e9));

    http_get($port, "/marker?$tag");
    return wait_log($name, qr/^\/marker\?$tag /);
}


1;
