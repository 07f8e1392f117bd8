/* fuzz-srcs: modules/common/ngx_live_quic.c */
/* fuzz-libs: -lngtcp2_crypto_gnutls -lngtcp2 -lgnutls */

/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "ngx_live_quic.h"


/*
 * The server's datagram entry point, as ngx_stream_rtmpq_module drives
 * it: the input is datagrams, each behind a 2-byte length (the first
 * one's top bit: rtmpq_retry on).  The first is
 * classified; a stray one may get a stateless reset (never larger than
 * it); an Initial makes a connection that reads the rest.  The server
 * certificate is made here, in memory.
 */

static ngx_live_quic_conf_t  ngx_live_quic_fuzz_conf;


static ssize_t
ngx_live_quic_fuzz_send(ngx_live_quic_conn_t *qc, const uint8_t *pkt,
    size_t len)
{
    return len;
}


static int
ngx_live_quic_fuzz_open(ngx_live_quic_conn_t *qc, ngx_live_quic_stream_t *st)
{
    return 0;
}


static void
ngx_live_quic_fuzz_readable(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    size_t          n;
    const uint8_t  *p;

    while ((n = ngx_live_quic_stream_peek(st, &p)) > 0) {
        ngx_live_quic_stream_consume(qc, st, n);
    }
}


static void
ngx_live_quic_fuzz_stream(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
}


static void
ngx_live_quic_fuzz_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code)
{
}


static ngx_live_quic_handler_t  ngx_live_quic_fuzz_handler = {
    ngx_live_quic_fuzz_open,
    ngx_live_quic_fuzz_readable,
    ngx_live_quic_fuzz_stream,
    ngx_live_quic_fuzz_reset,
    ngx_live_quic_fuzz_stream,
    NULL,
    ngx_live_quic_fuzz_send
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    time_t                            now;
    gnutls_x509_crt_t                 crt;
    gnutls_x509_privkey_t             key;
    gnutls_certificate_credentials_t  cred;

    now = time(NULL);

    if (gnutls_x509_privkey_init(&key) != 0
        || gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
               GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) != 0
        || gnutls_x509_crt_init(&crt) != 0
        || gnutls_x509_crt_set_version(crt, 3) != 0
        || gnutls_x509_crt_set_serial(crt, "\x01", 1) != 0
        || gnutls_x509_crt_set_activation_time(crt, now - 60) != 0
        || gnutls_x509_crt_set_expiration_time(crt, now + 86400) != 0
        || gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                         "localhost", 9) != 0
        || gnutls_x509_crt_set_key(crt, key) != 0
        || gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) != 0
        || gnutls_certificate_allocate_credentials(&cred) != 0
        || gnutls_certificate_set_x509_key(cred, &crt, 1, key) != 0)
    {
        abort();
    }

    /* the credentials hold copies */
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);

    ngx_live_quic_conf_init(&ngx_live_quic_fuzz_conf, 1);
    ngx_live_quic_fuzz_conf.cred = cred;
    memset(ngx_live_quic_fuzz_conf.key, 7, NGX_LIVE_QUIC_KEY_LEN);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    type;
    size_t                 len, rlen;
    ssize_t                n;
    const char            *reason;
    struct sockaddr_in     local, remote;
    ngx_live_quic_conn_t  *qc;
    uint8_t                out[NGX_LIVE_QUIC_MAX_PKT];

    if (size < 2) {
        return 0;
    }

    /* the top bit of the first length turns on address validation */

    ngx_live_quic_fuzz_conf.retry = data[0] >> 7;
    len = ((data[0] & 0x7f) << 8) | data[1];
    data += 2;
    size -= 2;

    if (len > size) {
        len = size;
    }

    type = ngx_live_quic_classify(data, len);

    if (type == NGX_LIVE_QUIC_DGRAM_SHORT) {
        n = ngx_live_quic_stateless_reset(&ngx_live_quic_fuzz_conf, data,
                                          len, out, sizeof(out));
        if (n > 0 && (size_t) n >= len) {
            abort();
        }

        return 0;
    }

    if (type == NGX_LIVE_QUIC_DGRAM_VERSION) {
        n = ngx_live_quic_version_negotiation(data, len, out, sizeof(out));
        if (n > 0 && (size_t) n > len) {
            abort();
        }

        return 0;
    }

    if (type != NGX_LIVE_QUIC_DGRAM_INITIAL) {
        return 0;
    }

    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET;
    local.sin_port = htons(1935);
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    remote = local;
    remote.sin_port = htons(40000);

    qc = ngx_live_quic_server_new(&ngx_live_quic_fuzz_conf,
                                  &ngx_live_quic_fuzz_handler, NULL,
                                  (struct sockaddr *) &local, sizeof(local),
                                  (struct sockaddr *) &remote,
                                  sizeof(remote), data, len, out, &rlen,
                                  &reason);
    if (qc == NULL) {
        /* a Retry never amplifies */
        if (rlen >= len) {
            abort();
        }

        return 0;
    }

    for ( ;; ) {
        if (ngx_live_quic_read(qc, data, len) != NGX_LIVE_QUIC_OK
            || ngx_live_quic_flush(qc) != NGX_LIVE_QUIC_OK)
        {
            break;
        }

        data += len;
        size -= len;

        if (size < 2) {
            break;
        }

        len = (data[0] << 8) | data[1];
        data += 2;
        size -= 2;

        if (len > size) {
            len = size;
        }
    }

    ngx_live_quic_free(qc);

    return 0;
}
