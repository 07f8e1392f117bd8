# nginx-live-cdn: build, test, demo, fuzz and benchmark entry points.
#
#   make            build every module into build/*.so
#   make test       install what is missing, build, lint, run t/
#   make test-valgrind  the same suite with nginx under memcheck
#   make run        the demo, in the foreground (Ctrl-C stops it)
#   make fuzz       build and run a libFuzzer target per parser
#   make bench      benchmarks beside a stock nginx baseline
#   make -s test-env    the exports a t/ run needs (for the real
#                       Test::Nginx: eval "$(make -s test-env)")

SHELL      := /bin/bash
NGX_SRC    ?= /usr/share/nginx/src
BUILD      := $(CURDIR)/build
NGX_BUILD  := $(BUILD)/nginx
FUZZ_TIME  ?= 20
SOURCES    := config $(shell find modules -name '*.[ch]' 2>/dev/null)
# our modules only: Debian's stream module is configured in for its
# headers and struct layout, and loaded from Debian's package
MODULES_SO := $(shell sed -n 's|^ngx_live_cdn_module \(ngx_[a-z_]*\) .*|objs/\1.so|p' config)
# the stream flags of Debian's libnginx-mod-stream (nginx -V)
NGX_STREAM := --with-stream=dynamic --with-stream_ssl_module \
              --with-stream_ssl_preread_module --with-stream_realip_module
QUIC_LIBS  := -lngtcp2_crypto_gnutls -lngtcp2 -lgnutls
TOOLS_CC   := gcc -O2 -g -W -Wall -Wpointer-arith -Wno-unused-parameter -Werror

# Debian packages, by purpose; util/deps installs the missing ones only.
PKGS_BUILD := gcc make binutils nginx nginx-dev libnginx-mod-rtmp \
              libnginx-mod-stream libngtcp2-dev libngtcp2-crypto-gnutls-dev \
              libgnutls28-dev
PKGS_TEST  := ffmpeg curl valgrind python3 gettext-base openssl libtest-base-perl libtext-diff-perl \
              libtest-longstring-perl liblist-moreutils-perl \
              libhttp-message-perl liburi-perl libnet-dns-perl
# The real DoH server of the httpdns tests (t/helpers/LiveCdn/DoH.pm):
# dnsdist in front of PowerDNS; run from the test's own dir, not as services.
PKGS_DNS   := dnsdist pdns-server pdns-backend-bind
# The web player of the HLS tests: hls.js from npm in Debian's Chromium.
# Debian's npm conflicts with a nodesource node: only when npm is missing.
PKGS_WEB   := chromium $(if $(shell command -v npm),,nodejs npm)
PKGS_FUZZ  := clang libclang-rt-14-dev
PKGS_BENCH := wrk bc nftables iproute2 python3

.PHONY: all build deps deps-test player test test-valgrind test-env lint \
        fuzz bench run clean

all: build

deps:
	@util/deps $(PKGS_BUILD)

deps-test:
	@util/deps $(PKGS_BUILD) $(PKGS_TEST) $(PKGS_DNS) $(PKGS_WEB) \
	    $(PKGS_FUZZ) $(PKGS_BENCH)

# hls.js and playwright-core as pinned by the lock, into build/player
PLAYER := t/helpers/player
player: deps-test
	@mkdir -p $(BUILD)/player
	@cmp -s $(PLAYER)/package-lock.json $(BUILD)/player/package-lock.json \
	    && [ -d $(BUILD)/player/node_modules/hls.js ] \
	    || { cp $(PLAYER)/package.json $(PLAYER)/package-lock.json \
	            $(BUILD)/player/ \
	         && npm ci --prefix $(BUILD)/player --no-audit --no-fund \
	                   --loglevel=error; }

$(NGX_BUILD)/objs/Makefile: config | deps
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && . ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" $(NGX_STREAM) \
	                   --add-dynamic-module=$(CURDIR) \
	       > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }

build: $(NGX_BUILD)/objs/Makefile $(SOURCES) $(BUILD)/rtmpq-tunnel
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile $(MODULES_SO)
	@# a new file, not an overwrite: a running nginx may have the old mapped
	@for so in $(addprefix $(NGX_BUILD)/,$(MODULES_SO)); do \
	    cp $$so $(BUILD)/.tmp.so && mv $(BUILD)/.tmp.so $(BUILD)/$${so##*/}; \
	done

# the client tunnel, on the same QUIC engine as the module
$(BUILD)/rtmpq-tunnel: tools/rtmpq-tunnel.c modules/common/ngx_live_quic.c \
                       modules/common/ngx_live_quic.h | deps
	mkdir -p $(BUILD)
	$(TOOLS_CC) -I modules/common -o $@ tools/rtmpq-tunnel.c \
	    modules/common/ngx_live_quic.c $(QUIC_LIBS)

test-env:
	@util/test-env

lint:
	@util/lint

test: deps-test player build lint
	eval "$$(util/test-env)" && prove -I t/lib -r t/

# T=t/tier to run a part only
test-valgrind: deps-test player build
	eval "$$(util/test-env)" && TEST_NGINX_USE_VALGRIND=1 \
	    prove -I t/lib -r $(or $(T),t/)

fuzz: deps-test build
	@fuzz/run $(FUZZ_TIME)

bench: deps-test player build
	@for b in bench/*.sh; do bash $$b || exit 1; done

run: deps-test build
	@util/demo

clean:
	rm -rf $(BUILD) t/servroot* fuzz/build
