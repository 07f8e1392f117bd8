# Where a notify form stops being accepted: the form must stay in memory,
# and nginx sizes its body buffer to the rest of a form that is under
# 1.25 x client_body_buffer_size, so the 400 does not start at
# client_body_buffer_size itself (README, notify mode).

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config', <<'EOC');
    load_module $TEST_NGINX_MODULE_DIR/ngx_http_tier_module.so;
EOC

    $block->set_value('http_config', <<'EOC');
    tier_group mid {
        member mid-a 10.0.0.3:1935;
        member mid-b 10.0.0.4:1935;
        member mid-c 10.0.0.5:1935;
    }
EOC

    $block->set_value('config', <<'EOC') unless $block->config;
    client_body_buffer_size 1k;
    location = /tier/pick { tier_enum mid; }
EOC
});

# a valid on_play form padded to $len bytes
sub form {
    my ($len) = @_;
    my $f = 'app=live&call=play&name=s1&pad=';
    return $f . ('x' x ($len - length $f));
}

run_tests();

__DATA__

=== TEST 1: a form over client_body_buffer_size but under 1.25 times it
--- request eval
"POST /tier/pick\n" . main::form(1200)
--- error_code: 302
--- response_headers
Location: rtmp://10.0.0.5:1935/live/s1
--- no_error_log
[error]



=== TEST 2: a form whose rest is 1.25 times client_body_buffer_size
--- request eval
"POST /tier/pick\n" . main::form(2400)
--- error_code: 400
--- response_body
{"error":"body_too_large","detail":"the form exceeds client_body_buffer_size"}



=== TEST 3: a small form with client_body_in_file_only on
--- config
    client_body_in_file_only on;
    location = /tier/pick { tier_enum mid; }
--- request eval
"POST /tier/pick\n" . main::form(100)
--- error_code: 400
--- response_body
{"error":"body_too_large","detail":"the form exceeds client_body_buffer_size"}
