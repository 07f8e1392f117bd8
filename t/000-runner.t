# Self-test of the Test::Nginx runner (t/lib/Test/Nginx/Socket.pm).
# Stock nginx only; it must pass under our runner and under the upstream
# Test::Nginx::Socket alike, with the same number of tests.

use Test::Nginx::Socket 'no_plan';

# Set from the header before run_tests: configs see it as a variable.
$ENV{TEST_NGINX_GREETING} = 'howdy';

repeat_each(2);

run_tests();

__DATA__

=== TEST 1: return with a body and the default status
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: error_code, response_headers and an absent header
--- config
    location = /t {
        add_header X-Foo bar always;
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_headers
X-Foo: bar
Content-Type: text/html
!X-Bar



=== TEST 3: response_headers_like
--- config
    location = /t {
        add_header X-Num 12345;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers_like
X-Num: \d+
Content-Length: 3



=== TEST 4: more_headers reach nginx, comment lines ignored
--- config
    location = /t {
        return 200 "$http_x_test|$host\n";
    }
--- more_headers
X-Test: abc
# X-Test: not sent
--- request
GET /t
--- response_body
abc|localhost



=== TEST 5: several requests, each on its own connection
--- config
    location /t {
        return 200 "uri=$uri n=$connection_requests\n";
    }
--- request eval
["GET /t/a", "GET /t/b"]
--- error_code eval
[200, 200]
--- response_body eval
["uri=/t/a n=1\n", "uri=/t/b n=1\n"]
--- no_error_log
[error]



=== TEST 6: pipelined requests share one connection
--- config
    location /t {
        return 200 "uri=$uri n=$connection_requests\n";
    }
--- pipelined_requests eval
["GET /t/1", "GET /t/2"]
--- response_body eval
["uri=/t/1 n=1\n", "uri=/t/2 n=2\n"]



=== TEST 7: a request body gets a Content-Length
--- config
    location = /t {
        return 200 "$request_method len=$http_content_length\n";
    }
--- request
POST /t
hello world
--- response_body
POST len=11



=== TEST 8: raw_request is sent verbatim
--- config
    location = /t {
        return 200 "$server_protocol\n";
    }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
HTTP/1.0



=== TEST 9: error_log substrings and no_error_log on debug lines
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- error_log
http finalize request: 0
--- no_error_log
[error]
[alert]



=== TEST 10: error_log and no_error_log with regexes
--- config
    location = /t {
        return 403;
    }
--- request
GET /t
--- error_code: 403
--- error_log eval
[qr/http finalize request: 403, "\/t\?" a:1, c:1/, qr/http request line: "GET \/t HTTP\/1\.1"/]
--- no_error_log eval
qr/\[(?:error|crit|alert|emerg)\]/



=== TEST 11: grep_error_log collects matches
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- grep_error_log eval: qr/http request line: "GET \/t[^"]*"/
--- grep_error_log_out
http request line: "GET /t HTTP/1.1"



=== TEST 12: a backend on $TEST_NGINX_RAND_PORT_1, proxied to
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            return 200 "backend $server_port $uri\n";
        }
    }
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/b;
    }
--- request
GET /t
--- response_body
backend $TEST_NGINX_RAND_PORT_1 /b
--- no_error_log
[error]



=== TEST 13: environment set by the .t header and by the runner
--- config
    location = /t {
        return 200 "$TEST_NGINX_GREETING $TEST_NGINX_SERVER_PORT\n";
    }
--- request
GET /t
--- response_body
howdy $TEST_NGINX_SERVER_PORT



=== TEST 14: user_files land in html/, chunked bodies are decoded
--- user_files
>>> s/a.html
[<!--# echo var="arg_v" -->]
>>> plain.txt
plain $TEST_NGINX_GREETING
--- config
    location /s/ {
        ssi on;
        ssi_types text/plain;
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request eval
["GET /s/a.html?v=42", "GET /plain.txt"]
--- response_headers eval
["Transfer-Encoding: chunked", "Content-Length: 12"]
--- response_body eval
["[42]\n", "plain howdy\n"]



=== TEST 15: a client timeout is not a failure with abort
--- config
    location = /t {
        return 200 "ok\n";
    }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 100ms
--- abort
--- error_code:
--- response_body:



=== TEST 16: per-block log_level
--- log_level: warn
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log eval
qr/\[debug\].*http request line/



=== TEST 17: nginx must die on a bad directive
--- config
    no_such_directive on;
--- must_die
--- suppress_stderr
--- error_log
unknown directive "no_such_directive"
