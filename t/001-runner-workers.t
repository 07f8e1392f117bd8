# Self-test of the runner with a master process and two workers
# (master_on is per file, hence this separate file).  Passes under our
# runner and the upstream Test::Nginx::Socket alike.

use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
check_accum_error_log();

run_tests();

__DATA__

=== TEST 1: the master starts two workers
--- config
    location = /t {
        return 200 "worker $pid\n";
    }
--- request
GET /t
--- response_body_like
^worker \d+$
--- grep_error_log eval: qr/start worker process \d+/
--- grep_error_log_out eval
qr/\A(?:start worker process \d+\n){2}\z/
--- no_error_log
[error]



=== TEST 2: a restart per block gives a fresh master
--- config
    location = /t {
        return 200 "again\n";
    }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["again\n", "again\n"]
--- error_log
start worker process
