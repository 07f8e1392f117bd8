
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "ngx_live_quic.h"


#define NGX_LIVE_QUIC_CHUNK    16384
#define NGX_LIVE_QUIC_CID_LEN  18
#define NGX_LIVE_QUIC_IOV      16

/* TLS 1.3 only; no middlebox compatibility mode in QUIC (RFC 9001 8.4) */
#define NGX_LIVE_QUIC_PRIORITY                                              \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE"


typedef struct ngx_live_quic_chunk_s  ngx_live_quic_chunk_t;

struct ngx_live_quic_chunk_s {
    ngx_live_quic_chunk_t   *next;
    size_t                   pos;
    size_t                   last;
    uint8_t                  data[NGX_LIVE_QUIC_CHUNK];
};


typedef struct {
    ngx_live_quic_chunk_t   *head;
    ngx_live_quic_chunk_t   *tail;
    size_t                   size;      /* bytes held */
} ngx_live_quic_buf_t;


struct ngx_live_quic_stream_s {
    ngx_live_quic_stream_t  *next;
    int64_t                  id;
    void                    *data;

    ngx_live_quic_buf_t      in;
    ngx_live_quic_buf_t      out;
    size_t                   unsent;    /* bytes of "out" not yet framed */

    unsigned                 in_fin:1;
    unsigned                 out_fin:1;     /* FIN queued */
    unsigned                 fin_sent:1;
    unsigned                 blocked:1;     /* in this flush */
    unsigned                 full:1;        /* the user saw no room */
    unsigned                 reset:1;
};


struct ngx_live_quic_conn_s {
    ngtcp2_crypto_conn_ref   ref;
    ngtcp2_conn             *conn;
    gnutls_session_t         tls;
    ngx_live_quic_conf_t    *conf;
    ngx_live_quic_handler_t *handler;
    void                    *data;
    const char              *reason;
    char                     reason_buf[80];

    ngx_live_quic_stream_t  *streams;

    ngtcp2_path_storage      ps;
    size_t                   pending;   /* bytes of a datagram not sent */
    uint8_t                  pkt[NGX_LIVE_QUIC_MAX_PKT];

    unsigned                 closing:1;
    unsigned                 handshake:1;
};


static uint64_t ngx_live_quic_now(void);
static int ngx_live_quic_conn_start(ngx_live_quic_conn_t *qc,
    ngtcp2_cid *dcid, ngtcp2_cid *odcid, ngtcp2_pkt_hd *retried,
    uint32_t version, const char **reason);
static ngx_live_quic_conn_t *ngx_live_quic_write_retry(
    ngx_live_quic_conf_t *conf, ngtcp2_pkt_hd *hd,
    const struct sockaddr *remote, socklen_t remotelen, uint8_t *retry,
    size_t *retrylen, const char **reason);
static int ngx_live_quic_tls_init(ngx_live_quic_conn_t *qc);
static int ngx_live_quic_alpn_hook(gnutls_session_t session,
    unsigned int htype, unsigned when, unsigned int incoming,
    const gnutls_datum_t *msg);
static ngtcp2_conn *ngx_live_quic_get_conn(ngtcp2_crypto_conn_ref *ref);
static void ngx_live_quic_callbacks(ngx_live_quic_conn_t *qc,
    ngtcp2_callbacks *cb);
static void ngx_live_quic_settings(ngx_live_quic_conf_t *conf,
    ngtcp2_settings *s, ngtcp2_transport_params *p);
static ngx_live_quic_conn_t *ngx_live_quic_conn_alloc(
    ngx_live_quic_conf_t *conf, ngx_live_quic_handler_t *handler,
    void *data, const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen);

static void ngx_live_quic_rand_cb(uint8_t *dest, size_t destlen,
    const ngtcp2_rand_ctx *rand_ctx);
static int ngx_live_quic_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid,
    uint8_t *token, size_t cidlen, void *user_data);
static int ngx_live_quic_handshake_cb(ngtcp2_conn *conn, void *user_data);
static int ngx_live_quic_recv_cb(ngtcp2_conn *conn, uint32_t flags,
    int64_t id, uint64_t offset, const uint8_t *data, size_t datalen,
    void *user_data, void *stream_user_data);
static int ngx_live_quic_acked_cb(ngtcp2_conn *conn, int64_t id,
    uint64_t offset, uint64_t datalen, void *user_data,
    void *stream_user_data);
static int ngx_live_quic_open_cb(ngtcp2_conn *conn, int64_t id,
    void *user_data);
static int ngx_live_quic_close_cb(ngtcp2_conn *conn, uint32_t flags,
    int64_t id, uint64_t code, void *user_data, void *stream_user_data);
static int ngx_live_quic_reset_cb(ngtcp2_conn *conn, int64_t id,
    uint64_t final_size, uint64_t code, void *user_data,
    void *stream_user_data);
static int ngx_live_quic_sreset_cb(ngtcp2_conn *conn,
    const ngtcp2_pkt_stateless_reset *sr, void *user_data);
static int ngx_live_quic_stop_cb(ngtcp2_conn *conn, int64_t id,
    uint64_t code, void *user_data, void *stream_user_data);

static ngx_live_quic_stream_t *ngx_live_quic_stream_new(
    ngx_live_quic_conn_t *qc, int64_t id);
static void ngx_live_quic_stream_free(ngx_live_quic_stream_t *st);
static int ngx_live_quic_buf_append(ngx_live_quic_buf_t *b, const uint8_t *p,
    size_t len);
static void ngx_live_quic_buf_drop(ngx_live_quic_buf_t *b, size_t n);
static void ngx_live_quic_buf_free(ngx_live_quic_buf_t *b);
static int ngx_live_quic_send_pending(ngx_live_quic_conn_t *qc);
static int ngx_live_quic_write_close(ngx_live_quic_conn_t *qc,
    ngtcp2_connection_close_error *ccerr);
static ngx_live_quic_stream_t *ngx_live_quic_next_stream(
    ngx_live_quic_conn_t *qc, ngtcp2_vec *vec, size_t *nvec, uint32_t *flags);


static const gnutls_datum_t  ngx_live_quic_alpn = {
    (unsigned char *) NGX_LIVE_QUIC_ALPN, sizeof(NGX_LIVE_QUIC_ALPN) - 1
};


void
ngx_live_quic_conf_init(ngx_live_quic_conf_t *conf, int server)
{
    memset(conf, 0, sizeof(ngx_live_quic_conf_t));

    conf->server = server ? 1 : 0;
    conf->verify = 1;
    conf->cc = ngx_live_quic_cc_bbr;      /* CUBIC and random loss: README */
    conf->idle_timeout = 30000;
    conf->handshake_timeout = 10000;

    /*
     * 6 Mbit/s at 200 ms RTT is ~150 KB in flight; loss recovery holds
     * about one more RTT: start at 1 MiB and let ngtcp2 grow it to 6 MiB
     */
    conf->stream_window = 1024 * 1024;
    conf->conn_window = 1536 * 1024;
    conf->max_stream_window = 6 * 1024 * 1024;
    conf->max_window = 8 * 1024 * 1024;
    conf->max_streams = 4;
    conf->send_buffer = 1024 * 1024;
}


int
ngx_live_quic_random(uint8_t *buf, size_t len)
{
    return gnutls_rnd(GNUTLS_RND_RANDOM, buf, len) == 0 ? 0 : -1;
}


int
ngx_live_quic_server_cred(ngx_live_quic_conf_t *conf, const char *cert,
    const char *key, char *err, size_t errlen)
{
    int                               rc;
    gnutls_certificate_credentials_t  cred;

    rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gnutls_strerror(rc));
        return -1;
    }

    rc = gnutls_certificate_set_x509_key_file(cred, cert, key,
                                              GNUTLS_X509_FMT_PEM);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gnutls_strerror(rc));
        gnutls_certificate_free_credentials(cred);
        return -1;
    }

    conf->cred = cred;

    return 0;
}


int
ngx_live_quic_client_cred(ngx_live_quic_conf_t *conf, const char *cafile,
    int insecure, char *err, size_t errlen)
{
    int                               rc;
    gnutls_certificate_credentials_t  cred;

    rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gnutls_strerror(rc));
        return -1;
    }

    if (insecure) {
        conf->verify = 0;
        rc = 1;

    } else if (cafile) {
        rc = gnutls_certificate_set_x509_trust_file(cred, cafile,
                                                    GNUTLS_X509_FMT_PEM);
    } else {
        rc = gnutls_certificate_set_x509_system_trust(cred);
    }

    if (rc <= 0) {
        snprintf(err, errlen, "%s", rc == 0 ? "no CA certificate found"
                                            : gnutls_strerror(rc));
        gnutls_certificate_free_credentials(cred);
        return -1;
    }

    conf->cred = cred;

    return 0;
}


/*
 * The host key signs stateless resets: the same key in every worker and
 * after a reload, or a client could not tell a reset from garbage.  It is
 * a hash of a file: the operator's own key file, or the certificate key.
 */

int
ngx_live_quic_host_key(ngx_live_quic_conf_t *conf, const char *file,
    char *err, size_t errlen)
{
    int       rc;
    FILE     *f;
    size_t    n;
    uint8_t   buf[65536];

    static const char  label[] = "rtmpq host key";

    f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }

    memcpy(buf, label, sizeof(label));
    n = fread(buf + sizeof(label), 1, sizeof(buf) - sizeof(label), f);
    fclose(f);

    if (n < NGX_LIVE_QUIC_KEY_LEN) {
        snprintf(err, errlen, "fewer than %d bytes", NGX_LIVE_QUIC_KEY_LEN);
        return -1;
    }

    rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, sizeof(label) + n,
                          conf->key);

    memset(buf, 0, sizeof(buf));

    if (rc != 0) {
        snprintf(err, errlen, "%s", gnutls_strerror(rc));
        return -1;
    }

    return 0;
}


void
ngx_live_quic_cred_free(ngx_live_quic_conf_t *conf)
{
    if (conf->cred) {
        gnutls_certificate_free_credentials(conf->cred);
        conf->cred = NULL;
    }
}


/* what a datagram that matches no connection is, by its header alone */

int
ngx_live_quic_classify(const uint8_t *pkt, size_t len)
{
    int                  rc;
    ngtcp2_version_cid   vc;

    if (len == 0) {
        /* ngtcp2 asserts on an empty datagram (found by fuzz/) */
        return NGX_LIVE_QUIC_DGRAM_INVALID;
    }

    rc = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, NGX_LIVE_QUIC_CID_LEN);

    if (rc == NGTCP2_ERR_VERSION_NEGOTIATION) {
        return NGX_LIVE_QUIC_DGRAM_VERSION;
    }

    if (rc != 0) {
        return NGX_LIVE_QUIC_DGRAM_INVALID;
    }

    if (!(pkt[0] & 0x80)) {
        return NGX_LIVE_QUIC_DGRAM_SHORT;
    }

    /* RFC 9000 14.1: a client Initial is padded to 1200 bytes */

    if (((pkt[0] & 0x30) >> 4) != 0 || len < 1200) {
        return NGX_LIVE_QUIC_DGRAM_INVALID;
    }

    return NGX_LIVE_QUIC_DGRAM_INITIAL;
}


/*
 * RFC 9000 6.1: a Version Negotiation packet for a long-header datagram
 * of a version we do not speak.  ngx_live_quic_classify() says so only
 * for datagrams of 1200 bytes or more with a non-zero version (5.2.2), so
 * the answer is never larger than what triggered it, and never answers
 * another Version Negotiation packet.
 */

ssize_t
ngx_live_quic_version_negotiation(const uint8_t *pkt, size_t len,
    uint8_t *out, size_t size)
{
    uint8_t             rnd;
    ngtcp2_ssize        n;
    ngtcp2_version_cid  vc;

    static const uint32_t  versions[] = { NGTCP2_PROTO_VER_V1 };

    if (ngx_live_quic_classify(pkt, len) != NGX_LIVE_QUIC_DGRAM_VERSION) {
        return -1;
    }

    (void) ngtcp2_pkt_decode_version_cid(&vc, pkt, len,
                                         NGX_LIVE_QUIC_CID_LEN);

    if (ngx_live_quic_random(&rnd, 1) != 0) {
        return -1;
    }

    /* the client's source CID is our destination CID, and back */

    n = ngtcp2_pkt_write_version_negotiation(out, size, rnd, vc.scid,
                                             vc.scidlen, vc.dcid, vc.dcidlen,
                                             versions, 1);

    return n < 0 ? -1 : n;
}


/*
 * RFC 9000 10.3: a stateless reset for a short-header packet of a
 * connection we do not know (a worker restarted, or the client's NAT
 * moved it to another worker); smaller than what triggered it, so that
 * two endpoints never loop, and never more than 3x of it
 */

ssize_t
ngx_live_quic_stateless_reset(ngx_live_quic_conf_t *conf,
    const uint8_t *pkt, size_t len, uint8_t *out, size_t size)
{
    size_t              n;
    ssize_t             rc;
    ngtcp2_cid          cid;
    ngtcp2_version_cid  vc;
    uint8_t             token[NGTCP2_STATELESS_RESET_TOKENLEN];
    uint8_t             rnd[NGX_LIVE_QUIC_MAX_PKT];

    if (len == 0
        || ngtcp2_pkt_decode_version_cid(&vc, pkt, len, NGX_LIVE_QUIC_CID_LEN)
           != 0
        || (pkt[0] & 0x80)
        || len < NGTCP2_MIN_STATELESS_RESET_RANDLEN
                 + NGTCP2_STATELESS_RESET_TOKENLEN + 1)
    {
        return -1;
    }

    ngtcp2_cid_init(&cid, vc.dcid, vc.dcidlen);

    if (ngtcp2_crypto_generate_stateless_reset_token(token, conf->key,
                                                     sizeof(conf->key), &cid)
        != 0)
    {
        return -1;
    }

    /* one byte shorter (10.3.3), the 21 bytes of the smallest reset on */

    n = len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
    if (n > sizeof(rnd)) {
        n = sizeof(rnd);
    }

    if (ngx_live_quic_random(rnd, n) != 0) {
        return -1;
    }

    rc = ngtcp2_pkt_write_stateless_reset(out, size, token, rnd, n);

    return rc < 0 ? -1 : rc;
}


ngx_live_quic_conn_t *
ngx_live_quic_server_new(ngx_live_quic_conf_t *conf,
    ngx_live_quic_handler_t *handler, void *data,
    const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen,
    const uint8_t *pkt, size_t len, uint8_t *retry, size_t *retrylen,
    const char **reason)
{
    ngtcp2_cid             odcid;
    ngtcp2_ssize           n;
    ngtcp2_pkt_hd          hd;
    ngx_live_quic_conn_t  *qc;

    *retrylen = 0;

    if (ngtcp2_accept(&hd, pkt, len) != 0) {
        *reason = "not a client Initial packet";
        return NULL;
    }

    odcid = hd.dcid;

    if (conf->retry) {
        if (hd.token.len == 0) {
            return ngx_live_quic_write_retry(conf, &hd, remote, remotelen,
                                             retry, retrylen, reason);
        }

        /* the address is validated: the token names this client's first
         * destination CID, and it is at most 10 s old */

        if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base,
                                             hd.token.len, conf->key,
                                             sizeof(conf->key), hd.version,
                                             remote, remotelen, &hd.dcid,
                                             10 * NGTCP2_SECONDS,
                                             ngx_live_quic_now())
            != 0)
        {
            /*
             * 8.1.2: a client that used a Retry token will not take
             * another one; close at once with INVALID_TOKEN rather than
             * let it wait for its handshake timeout
             */

            *reason = "invalid Retry token";

            n = ngtcp2_crypto_write_connection_close(retry,
                                                     NGX_LIVE_QUIC_MAX_PKT,
                                                     hd.version, &hd.scid,
                                                     &hd.dcid,
                                                     NGTCP2_INVALID_TOKEN,
                                                     NULL, 0);
            *retrylen = n > 0 ? n : 0;

            return NULL;
        }
    }

    qc = ngx_live_quic_conn_alloc(conf, handler, data, local, locallen,
                                  remote, remotelen);
    if (qc == NULL) {
        *reason = "out of memory";
        return NULL;
    }

    /* the client's source CID is our destination; we pick our own */

    if (ngx_live_quic_conn_start(qc, &hd.scid, &odcid,
                                 conf->retry ? &hd : NULL, hd.version,
                                 reason)
        != 0)
    {
        ngx_live_quic_free(qc);
        return NULL;
    }

    return qc;
}


/* RFC 9000 8.1.2: a Retry with a token bound to the client's address */

static ngx_live_quic_conn_t *
ngx_live_quic_write_retry(ngx_live_quic_conf_t *conf, ngtcp2_pkt_hd *hd,
    const struct sockaddr *remote, socklen_t remotelen, uint8_t *retry,
    size_t *retrylen, const char **reason)
{
    ngtcp2_cid    scid;
    ngtcp2_ssize  n, tokenlen;
    uint8_t       token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];

    *reason = NULL;

    scid.datalen = NGX_LIVE_QUIC_CID_LEN;
    if (ngx_live_quic_random(scid.data, scid.datalen) != 0) {
        *reason = "no random bytes";
        return NULL;
    }

    tokenlen = ngtcp2_crypto_generate_retry_token(token, conf->key,
                                                  sizeof(conf->key),
                                                  hd->version, remote,
                                                  remotelen, &scid,
                                                  &hd->dcid,
                                                  ngx_live_quic_now());
    if (tokenlen < 0) {
        *reason = "Retry token failed";
        return NULL;
    }

    n = ngtcp2_crypto_write_retry(retry, NGX_LIVE_QUIC_MAX_PKT, hd->version,
                                  &hd->scid, &scid, &hd->dcid, token,
                                  tokenlen);
    if (n < 0) {
        *reason = "Retry packet failed";
        return NULL;
    }

    *retrylen = n;

    return NULL;
}


ngx_live_quic_conn_t *
ngx_live_quic_client_new(ngx_live_quic_conf_t *conf,
    ngx_live_quic_handler_t *handler, void *data,
    const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen,
    const char **reason)
{
    ngtcp2_cid             dcid;
    ngx_live_quic_conn_t  *qc;

    qc = ngx_live_quic_conn_alloc(conf, handler, data, local, locallen,
                                  remote, remotelen);
    if (qc == NULL) {
        *reason = "out of memory";
        return NULL;
    }

    dcid.datalen = NGX_LIVE_QUIC_CID_LEN;

    if (ngx_live_quic_random(dcid.data, dcid.datalen) != 0) {
        *reason = "no random bytes";
        ngx_live_quic_free(qc);
        return NULL;
    }

    if (ngx_live_quic_conn_start(qc, &dcid, NULL, NULL, NGTCP2_PROTO_VER_V1,
                                 reason)
        != 0)
    {
        ngx_live_quic_free(qc);
        return NULL;
    }

    return qc;
}


/*
 * The ngtcp2 connection and its TLS session; odcid is the client's first
 * destination CID on a server, NULL on a client; retried is the header of
 * an Initial that carried a valid Retry token.
 */

static int
ngx_live_quic_conn_start(ngx_live_quic_conn_t *qc, ngtcp2_cid *dcid,
    ngtcp2_cid *odcid, ngtcp2_pkt_hd *retried, uint32_t version,
    const char **reason)
{
    int                       rc;
    ngtcp2_cid                scid;
    ngtcp2_settings           settings;
    ngtcp2_callbacks          cb;
    ngx_live_quic_conf_t     *conf;
    ngtcp2_transport_params   params;

    conf = qc->conf;

    scid.datalen = NGX_LIVE_QUIC_CID_LEN;
    if (ngx_live_quic_random(scid.data, scid.datalen) != 0) {
        *reason = "no random bytes";
        return -1;
    }

    ngx_live_quic_callbacks(qc, &cb);
    ngx_live_quic_settings(conf, &settings, &params);

    if (odcid) {
        params.original_dcid = *odcid;
        params.stateless_reset_token_present = 1;

        if (retried) {
            /* after a Retry: its source CID, and the token it carried */
            params.retry_scid = retried->dcid;
            params.retry_scid_present = 1;
            settings.token = retried->token;
        }

        if (ngtcp2_crypto_generate_stateless_reset_token(
                params.stateless_reset_token, conf->key, sizeof(conf->key),
                &scid)
            != 0)
        {
            *reason = "stateless reset token failed";
            return -1;
        }

        rc = ngtcp2_conn_server_new(&qc->conn, dcid, &scid, &qc->ps.path,
                                    version, &cb, &settings, &params, NULL,
                                    qc);
    } else {
        rc = ngtcp2_conn_client_new(&qc->conn, dcid, &scid, &qc->ps.path,
                                    version, &cb, &settings, &params, NULL,
                                    qc);
    }

    if (rc != 0) {
        *reason = ngtcp2_strerror(rc);
        return -1;
    }

    if (ngx_live_quic_tls_init(qc) != 0) {
        *reason = "TLS session setup failed";
        return -1;
    }

    return 0;
}


static ngx_live_quic_conn_t *
ngx_live_quic_conn_alloc(ngx_live_quic_conf_t *conf,
    ngx_live_quic_handler_t *handler, void *data,
    const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen)
{
    ngx_live_quic_conn_t  *qc;

    if (locallen > sizeof(qc->ps.local_addrbuf)
        || remotelen > sizeof(qc->ps.remote_addrbuf))
    {
        return NULL;
    }

    qc = calloc(1, sizeof(ngx_live_quic_conn_t));
    if (qc == NULL) {
        return NULL;
    }

    qc->conf = conf;
    qc->handler = handler;
    qc->data = data;
    qc->ref.get_conn = ngx_live_quic_get_conn;
    qc->ref.user_data = qc;

    ngtcp2_path_storage_init(&qc->ps, local, locallen, remote, remotelen,
                             NULL);

    return qc;
}


void
ngx_live_quic_free(ngx_live_quic_conn_t *qc)
{
    ngx_live_quic_stream_t  *st;

    while (qc->streams) {
        st = qc->streams;
        qc->streams = st->next;
        ngx_live_quic_stream_free(st);
    }

    if (qc->conn) {
        ngtcp2_conn_del(qc->conn);
    }

    if (qc->tls) {
        gnutls_deinit(qc->tls);
    }

    free(qc);
}


static int
ngx_live_quic_tls_init(ngx_live_quic_conn_t *qc)
{
    int                    rc;
    uint8_t                addr[16];
    gnutls_datum_t         alpn;
    ngx_live_quic_conf_t  *conf;

    conf = qc->conf;

    alpn = ngx_live_quic_alpn;

    if (conf->alpn) {
        /* a client may offer another protocol, to test servers */
        alpn.data = (unsigned char *) conf->alpn;
        alpn.size = strlen(conf->alpn);
    }

    /* no GNUTLS_ENABLE_EARLY_DATA: an RTMP publish must not be replayable */

    if (gnutls_init(&qc->tls, (conf->server ? GNUTLS_SERVER : GNUTLS_CLIENT)
                              | GNUTLS_NO_END_OF_EARLY_DATA)
        != 0)
    {
        qc->tls = NULL;
        return -1;
    }

    rc = conf->server ? ngtcp2_crypto_gnutls_configure_server_session(qc->tls)
                      : ngtcp2_crypto_gnutls_configure_client_session(qc->tls);
    if (rc != 0) {
        return -1;
    }

    if (gnutls_priority_set_direct(qc->tls, NGX_LIVE_QUIC_PRIORITY, NULL)
        != 0
        || gnutls_credentials_set(qc->tls, GNUTLS_CRD_CERTIFICATE,
                                  conf->cred)
           != 0
        || gnutls_alpn_set_protocols(qc->tls, &alpn, 1,
                                     GNUTLS_ALPN_MANDATORY)
           != 0)
    {
        return -1;
    }

    gnutls_session_set_ptr(qc->tls, &qc->ref);

    if (conf->server) {
        gnutls_handshake_set_hook_function(qc->tls,
                                           GNUTLS_HANDSHAKE_CLIENT_HELLO,
                                           GNUTLS_HOOK_POST,
                                           ngx_live_quic_alpn_hook);

    } else if (conf->sni) {
        /* RFC 6066 3: no IP address literals in SNI */

        if (inet_pton(AF_INET, conf->sni, addr) != 1
            && inet_pton(AF_INET6, conf->sni, addr) != 1
            && gnutls_server_name_set(qc->tls, GNUTLS_NAME_DNS, conf->sni,
                                      strlen(conf->sni))
               != 0)
        {
            return -1;
        }

        if (conf->verify) {
            gnutls_session_set_verify_cert(qc->tls, conf->sni, 0);
        }

    } else if (conf->verify) {
        return -1;
    }

    ngtcp2_conn_set_tls_native_handle(qc->conn, qc->tls);

    return 0;
}


/* refuse any protocol but ours, with a reason the server can log */

static int
ngx_live_quic_alpn_hook(gnutls_session_t session, unsigned int htype,
    unsigned when, unsigned int incoming, const gnutls_datum_t *msg)
{
    gnutls_datum_t           alpn;
    ngx_live_quic_conn_t    *qc;
    ngtcp2_crypto_conn_ref  *ref;

    ref = gnutls_session_get_ptr(session);
    qc = ref->user_data;

    if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0
        || alpn.size != ngx_live_quic_alpn.size
        || memcmp(alpn.data, ngx_live_quic_alpn.data, alpn.size) != 0)
    {
        qc->reason = "client did not offer ALPN \"" NGX_LIVE_QUIC_ALPN "\"";
        return GNUTLS_E_NO_APPLICATION_PROTOCOL;
    }

    return 0;
}


static ngtcp2_conn *
ngx_live_quic_get_conn(ngtcp2_crypto_conn_ref *ref)
{
    ngx_live_quic_conn_t  *qc = ref->user_data;

    return qc->conn;
}


static void
ngx_live_quic_callbacks(ngx_live_quic_conn_t *qc, ngtcp2_callbacks *cb)
{
    memset(cb, 0, sizeof(ngtcp2_callbacks));

    if (qc->conf->server) {
        cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;

    } else {
        cb->client_initial = ngtcp2_crypto_client_initial_cb;
        cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }

    cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;

    cb->rand = ngx_live_quic_rand_cb;
    cb->get_new_connection_id = ngx_live_quic_new_cid_cb;
    cb->handshake_completed = ngx_live_quic_handshake_cb;
    cb->recv_stream_data = ngx_live_quic_recv_cb;
    cb->acked_stream_data_offset = ngx_live_quic_acked_cb;
    cb->stream_open = ngx_live_quic_open_cb;
    cb->stream_close = ngx_live_quic_close_cb;
    cb->stream_reset = ngx_live_quic_reset_cb;
    cb->stream_stop_sending = ngx_live_quic_stop_cb;
    cb->recv_stateless_reset = ngx_live_quic_sreset_cb;
}


static void
ngx_live_quic_settings(ngx_live_quic_conf_t *conf, ngtcp2_settings *s,
    ngtcp2_transport_params *p)
{
    static const ngtcp2_cc_algo  cc[] = {
        NGTCP2_CC_ALGO_CUBIC, NGTCP2_CC_ALGO_RENO, NGTCP2_CC_ALGO_BBR,
        NGTCP2_CC_ALGO_BBR2
    };

    ngtcp2_settings_default(s);

    s->initial_ts = ngx_live_quic_now();
    s->cc_algo = cc[conf->cc];
    s->max_window = conf->max_window;
    s->max_stream_window = conf->max_stream_window;
    s->handshake_timeout = conf->handshake_timeout * NGTCP2_MILLISECONDS;

    ngtcp2_transport_params_default(p);

    p->initial_max_stream_data_bidi_local = conf->stream_window;
    p->initial_max_stream_data_bidi_remote = conf->stream_window;
    p->initial_max_data = conf->conn_window;
    p->initial_max_streams_bidi = conf->server ? conf->max_streams : 0;
    p->initial_max_streams_uni = 0;
    p->max_idle_timeout = conf->idle_timeout * NGTCP2_MILLISECONDS;
    p->active_connection_id_limit = 4;
}


static uint64_t
ngx_live_quic_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * NGTCP2_SECONDS + (uint64_t) ts.tv_nsec;
}


/* callbacks from ngtcp2 */

static void
ngx_live_quic_rand_cb(uint8_t *dest, size_t destlen,
    const ngtcp2_rand_ctx *rand_ctx)
{
    (void) ngx_live_quic_random(dest, destlen);
}


static int
ngx_live_quic_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
    size_t cidlen, void *user_data)
{
    ngx_live_quic_conn_t  *qc = user_data;

    if (ngx_live_quic_random(cid->data, cidlen) != 0) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

    cid->datalen = cidlen;

    if (ngtcp2_crypto_generate_stateless_reset_token(token, qc->conf->key,
                                                     NGX_LIVE_QUIC_KEY_LEN,
                                                     cid)
        != 0)
    {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

    return 0;
}


static int
ngx_live_quic_handshake_cb(ngtcp2_conn *conn, void *user_data)
{
    ngx_live_quic_conn_t  *qc = user_data;

    qc->handshake = 1;

    if (qc->handler->handshake_done) {
        qc->handler->handshake_done(qc);
    }

    return 0;
}


static int
ngx_live_quic_recv_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
    uint64_t offset, const uint8_t *data, size_t datalen, void *user_data,
    void *stream_user_data)
{
    ngx_live_quic_conn_t    *qc = user_data;
    ngx_live_quic_stream_t  *st = stream_user_data;

    if (st == NULL || st->reset) {
        /* a refused stream: its data is dropped, credit given back */
        ngtcp2_conn_extend_max_stream_offset(conn, id, datalen);
        ngtcp2_conn_extend_max_offset(conn, datalen);
        return 0;
    }

    /* the window bounds what we hold: flow control is extended on consume */

    if (ngx_live_quic_buf_append(&st->in, data, datalen) != 0) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

    if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) {
        st->in_fin = 1;
    }

    if (datalen || st->in_fin) {
        qc->handler->stream_readable(qc, st);
    }

    return 0;
}


static int
ngx_live_quic_acked_cb(ngtcp2_conn *conn, int64_t id, uint64_t offset,
    uint64_t datalen, void *user_data, void *stream_user_data)
{
    ngx_live_quic_conn_t    *qc = user_data;
    ngx_live_quic_stream_t  *st = stream_user_data;

    if (st == NULL) {
        return 0;
    }

    /* ngtcp2 reports acknowledgements in stream order */

    ngx_live_quic_buf_drop(&st->out, datalen);

    if (st->full && !st->reset) {
        st->full = 0;
        qc->handler->stream_writable(qc, st);
    }

    return 0;
}


static int
ngx_live_quic_open_cb(ngtcp2_conn *conn, int64_t id, void *user_data)
{
    ngx_live_quic_conn_t    *qc = user_data;
    ngx_live_quic_stream_t  *st;

    if (!ngtcp2_is_bidi_stream(id)) {
        ngtcp2_conn_shutdown_stream_read(conn, id, NGX_LIVE_QUIC_APP_REFUSED);
        return 0;
    }

    st = ngx_live_quic_stream_new(qc, id);
    if (st == NULL) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

    if (qc->handler->stream_open(qc, st) != 0) {
        st->reset = 1;
        ngtcp2_conn_shutdown_stream(conn, id, NGX_LIVE_QUIC_APP_REFUSED);
    }

    return 0;
}


static int
ngx_live_quic_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
    uint64_t code, void *user_data, void *stream_user_data)
{
    ngx_live_quic_conn_t     *qc = user_data;
    ngx_live_quic_stream_t   *st = stream_user_data;
    ngx_live_quic_stream_t  **pp;

    if (st == NULL) {
        return 0;
    }

    for (pp = &qc->streams; *pp; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }

    if (qc->handler->stream_close) {
        qc->handler->stream_close(qc, st);
    }

    ngx_live_quic_stream_free(st);

    if (!ngtcp2_conn_is_local_stream(conn, id)) {
        ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    }

    return 0;
}


static int
ngx_live_quic_reset_cb(ngtcp2_conn *conn, int64_t id, uint64_t final_size,
    uint64_t code, void *user_data, void *stream_user_data)
{
    ngx_live_quic_conn_t    *qc = user_data;
    ngx_live_quic_stream_t  *st = stream_user_data;

    if (st == NULL || st->reset) {
        return 0;
    }

    st->reset = 1;

    /* RESET_STREAM closes the whole relay: the TCP side is reset too */

    ngtcp2_conn_shutdown_stream(conn, id, NGX_LIVE_QUIC_APP_NO_ERROR);
    qc->handler->stream_reset(qc, st, code);

    return 0;
}


static int
ngx_live_quic_stop_cb(ngtcp2_conn *conn, int64_t id, uint64_t code,
    void *user_data, void *stream_user_data)
{
    return ngx_live_quic_reset_cb(conn, id, 0, code, user_data,
                                  stream_user_data);
}


/* the server lost the connection (a reload, or another worker) */

static int
ngx_live_quic_sreset_cb(ngtcp2_conn *conn,
    const ngtcp2_pkt_stateless_reset *sr, void *user_data)
{
    ngx_live_quic_conn_t  *qc = user_data;

    qc->reason = "stateless reset by the peer";

    return 0;
}


/* datagrams in and out */

int
ngx_live_quic_read(ngx_live_quic_conn_t *qc, const uint8_t *pkt, size_t len)
{
    int                            rc;
    uint8_t                        alert;
    ngtcp2_pkt_info                pi;
    ngtcp2_connection_close_error  ccerr;

    if (qc->closing || len == 0) {
        return NGX_LIVE_QUIC_OK;
    }

    memset(&pi, 0, sizeof(ngtcp2_pkt_info));

    rc = ngtcp2_conn_read_pkt(qc->conn, &qc->ps.path, &pi, pkt, len,
                              ngx_live_quic_now());
    if (rc == 0) {
        return NGX_LIVE_QUIC_OK;
    }

    switch (rc) {

    case NGTCP2_ERR_DRAINING:
        if (qc->reason == NULL) {
            qc->reason = "closed by peer";
        }
        return NGX_LIVE_QUIC_DONE;

    case NGTCP2_ERR_DROP_CONN:
        if (qc->reason == NULL) {
            qc->reason = qc->handshake ? "dropped"
                                       : "invalid Initial packet, dropped";
        }
        return NGX_LIVE_QUIC_DONE;

    case NGTCP2_ERR_DISCARD_PKT:
        return NGX_LIVE_QUIC_OK;

    case NGTCP2_ERR_CRYPTO:
        alert = ngtcp2_conn_get_tls_alert(qc->conn);

        if (qc->reason == NULL) {
            if (alert == GNUTLS_A_NO_APPLICATION_PROTOCOL) {
                qc->reason = "client did not offer ALPN \""
                             NGX_LIVE_QUIC_ALPN "\"";

            } else {
                snprintf(qc->reason_buf, sizeof(qc->reason_buf),
                         "TLS handshake failed: %s",
                         gnutls_alert_get_strname(alert));
                qc->reason = qc->reason_buf;
            }
        }

        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &ccerr, alert, NULL, 0);
        break;

    default:
        if (qc->reason == NULL) {
            qc->reason = ngtcp2_strerror(rc);
        }
        ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rc,
                                                                 NULL, 0);
    }

    (void) ngx_live_quic_write_close(qc, &ccerr);

    return NGX_LIVE_QUIC_ERROR;
}


int
ngx_live_quic_close(ngx_live_quic_conn_t *qc, uint64_t code,
    const char *reason)
{
    ngtcp2_connection_close_error  ccerr;

    if (qc->closing) {
        return NGX_LIVE_QUIC_OK;
    }

    if (qc->reason == NULL) {
        qc->reason = reason;
    }

    ngtcp2_connection_close_error_set_application_error(&ccerr, code, NULL,
                                                        0);

    return ngx_live_quic_write_close(qc, &ccerr);
}


/* the connection enters its closing state: one CONNECTION_CLOSE, then free */

static int
ngx_live_quic_write_close(ngx_live_quic_conn_t *qc,
    ngtcp2_connection_close_error *ccerr)
{
    ngtcp2_ssize     n;
    ngtcp2_pkt_info  pi;

    qc->closing = 1;
    qc->pending = 0;

    if (ngtcp2_conn_is_in_closing_period(qc->conn)
        || ngtcp2_conn_is_in_draining_period(qc->conn))
    {
        return NGX_LIVE_QUIC_OK;
    }

    n = ngtcp2_conn_write_connection_close(qc->conn, &qc->ps.path, &pi,
                                           qc->pkt, sizeof(qc->pkt), ccerr,
                                           ngx_live_quic_now());
    if (n > 0) {
        qc->pending = n;
        return ngx_live_quic_send_pending(qc);
    }

    return NGX_LIVE_QUIC_OK;
}


static int
ngx_live_quic_send_pending(ngx_live_quic_conn_t *qc)
{
    ssize_t  n;

    if (qc->pending == 0) {
        return NGX_LIVE_QUIC_OK;
    }

    n = qc->handler->send(qc, qc->pkt, qc->pending);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return NGX_LIVE_QUIC_AGAIN;
    }

    /* any other error is a lost datagram: loss recovery resends */

    qc->pending = 0;

    return NGX_LIVE_QUIC_OK;
}


int
ngx_live_quic_flush(ngx_live_quic_conn_t *qc)
{
    int                      rc;
    size_t                   nvec;
    uint32_t                 flags;
    uint64_t                 now;
    ngtcp2_vec               vec[NGX_LIVE_QUIC_IOV];
    ngtcp2_ssize             n, written;
    ngtcp2_pkt_info          pi;
    ngx_live_quic_stream_t  *st;

    rc = ngx_live_quic_send_pending(qc);
    if (rc != NGX_LIVE_QUIC_OK || qc->closing) {
        return rc;
    }

    for (st = qc->streams; st; st = st->next) {
        st->blocked = 0;
    }

    now = ngx_live_quic_now();

    for ( ;; ) {
        st = ngx_live_quic_next_stream(qc, vec, &nvec, &flags);

        written = -1;

        n = ngtcp2_conn_writev_stream(qc->conn, &qc->ps.path, &pi, qc->pkt,
                                      sizeof(qc->pkt), &written, flags,
                                      st ? st->id : -1, vec, nvec, now);

        if (st && written >= 0) {
            st->unsent -= written;

            if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && st->unsent == 0) {
                st->fin_sent = 1;
            }
        }

        if (n < 0) {
            switch (n) {

            case NGTCP2_ERR_WRITE_MORE:
                continue;

            case NGTCP2_ERR_STREAM_DATA_BLOCKED:
            case NGTCP2_ERR_STREAM_SHUT_WR:
            case NGTCP2_ERR_STREAM_NOT_FOUND:
                if (st) {
                    st->blocked = 1;
                }
                continue;
            }

            qc->reason = ngtcp2_strerror((int) n);
            ngx_live_quic_close(qc, 0, NULL);
            return NGX_LIVE_QUIC_ERROR;
        }

        if (n == 0) {
            break;
        }

        qc->pending = n;

        rc = ngx_live_quic_send_pending(qc);
        if (rc != NGX_LIVE_QUIC_OK) {
            ngtcp2_conn_update_pkt_tx_time(qc->conn, now);
            return rc;
        }
    }

    ngtcp2_conn_update_pkt_tx_time(qc->conn, now);

    return NGX_LIVE_QUIC_OK;
}


/* the first stream with something to frame, and its unsent bytes */

static ngx_live_quic_stream_t *
ngx_live_quic_next_stream(ngx_live_quic_conn_t *qc, ngtcp2_vec *vec,
    size_t *nvec, uint32_t *flags)
{
    size_t                  skip, n;
    ngx_live_quic_chunk_t  *c;
    ngx_live_quic_stream_t *st;

    *nvec = 0;
    *flags = NGTCP2_WRITE_STREAM_FLAG_MORE;

    for (st = qc->streams; st; st = st->next) {
        if (!st->blocked && !st->reset
            && (st->unsent || (st->out_fin && !st->fin_sent)))
        {
            break;
        }
    }

    if (st == NULL) {
        return NULL;
    }

    skip = st->out.size - st->unsent;

    for (c = st->out.head; c && *nvec < NGX_LIVE_QUIC_IOV; c = c->next) {
        n = c->last - c->pos;

        if (skip >= n) {
            skip -= n;
            continue;
        }

        vec[*nvec].base = c->data + c->pos + skip;
        vec[*nvec].len = n - skip;
        (*nvec)++;
        skip = 0;
    }

    if (st->out_fin && (c == NULL)) {
        *flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }

    return st;
}


int64_t
ngx_live_quic_timeout(ngx_live_quic_conn_t *qc)
{
    uint64_t  expiry, now;

    expiry = ngtcp2_conn_get_expiry(qc->conn);
    if (expiry == UINT64_MAX) {
        return -1;
    }

    now = ngx_live_quic_now();
    if (expiry <= now) {
        return 0;
    }

    /* round up: a timer that fires early would only be armed again */

    return (int64_t) ((expiry - now + NGTCP2_MILLISECONDS - 1)
                      / NGTCP2_MILLISECONDS);
}


int
ngx_live_quic_expire(ngx_live_quic_conn_t *qc)
{
    int                            rc;
    ngtcp2_connection_close_error  ccerr;

    if (qc->closing) {
        return NGX_LIVE_QUIC_DONE;
    }

    rc = ngtcp2_conn_handle_expiry(qc->conn, ngx_live_quic_now());
    if (rc == 0) {
        return ngx_live_quic_flush(qc);
    }

    if (rc == NGTCP2_ERR_IDLE_CLOSE) {
        qc->reason = qc->handshake ? "idle timeout"
                                   : "handshake timed out (idle timeout)";
        return NGX_LIVE_QUIC_DONE;
    }

    if (rc == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        qc->reason = "handshake timed out";
        return NGX_LIVE_QUIC_DONE;
    }

    qc->reason = ngtcp2_strerror(rc);
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rc,
                                                             NULL, 0);
    (void) ngx_live_quic_write_close(qc, &ccerr);

    return NGX_LIVE_QUIC_ERROR;
}


void *
ngx_live_quic_data(ngx_live_quic_conn_t *qc)
{
    return qc->data;
}


const char *
ngx_live_quic_reason(ngx_live_quic_conn_t *qc)
{
    return qc->reason ? qc->reason : "closed";
}


int
ngx_live_quic_handshake_done(ngx_live_quic_conn_t *qc)
{
    return qc->handshake;
}


/* streams */

ngx_live_quic_stream_t *
ngx_live_quic_stream_open(ngx_live_quic_conn_t *qc)
{
    int64_t                  id;
    ngx_live_quic_stream_t  *st;

    if (ngtcp2_conn_get_streams_bidi_left(qc->conn) == 0) {
        return NULL;
    }

    if (ngtcp2_conn_open_bidi_stream(qc->conn, &id, NULL) != 0) {
        return NULL;
    }

    st = ngx_live_quic_stream_new(qc, id);
    if (st == NULL) {
        ngtcp2_conn_shutdown_stream(qc->conn, id, NGX_LIVE_QUIC_APP_REFUSED);
        return NULL;
    }

    return st;
}


static ngx_live_quic_stream_t *
ngx_live_quic_stream_new(ngx_live_quic_conn_t *qc, int64_t id)
{
    ngx_live_quic_stream_t  *st, **pp;

    st = calloc(1, sizeof(ngx_live_quic_stream_t));
    if (st == NULL) {
        return NULL;
    }

    st->id = id;

    if (ngtcp2_conn_set_stream_user_data(qc->conn, id, st) != 0) {
        free(st);
        return NULL;
    }

    /* appended: the oldest stream is served first */

    for (pp = &qc->streams; *pp; pp = &(*pp)->next) { /* void */ }
    *pp = st;

    return st;
}


static void
ngx_live_quic_stream_free(ngx_live_quic_stream_t *st)
{
    ngx_live_quic_buf_free(&st->in);
    ngx_live_quic_buf_free(&st->out);
    free(st);
}


int64_t
ngx_live_quic_stream_id(ngx_live_quic_stream_t *st)
{
    return st->id;
}


void
ngx_live_quic_stream_set_data(ngx_live_quic_stream_t *st, void *data)
{
    st->data = data;
}


void *
ngx_live_quic_stream_data(ngx_live_quic_stream_t *st)
{
    return st->data;
}


size_t
ngx_live_quic_stream_peek(ngx_live_quic_stream_t *st, const uint8_t **p)
{
    ngx_live_quic_chunk_t  *c;

    c = st->in.head;
    if (c == NULL) {
        return 0;
    }

    *p = c->data + c->pos;

    return c->last - c->pos;
}


/* bytes written on: now, and only now, the peer may send as many again */

void
ngx_live_quic_stream_consume(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, size_t n)
{
    ngx_live_quic_buf_drop(&st->in, n);

    ngtcp2_conn_extend_max_stream_offset(qc->conn, st->id, n);
    ngtcp2_conn_extend_max_offset(qc->conn, n);
}


int
ngx_live_quic_stream_eof(ngx_live_quic_stream_t *st)
{
    return st->in_fin && st->in.size == 0;
}


size_t
ngx_live_quic_stream_room(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    if (st->reset || st->out_fin) {
        return 0;
    }

    if (st->out.size >= qc->conf->send_buffer) {
        /* stream_writable() will say when acknowledgements made room */
        st->full = 1;
        return 0;
    }

    return qc->conf->send_buffer - st->out.size;
}


size_t
ngx_live_quic_stream_write(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, const uint8_t *p, size_t len)
{
    size_t  room;

    if (st->reset || st->out_fin) {
        return 0;
    }

    room = qc->conf->send_buffer > st->out.size
           ? qc->conf->send_buffer - st->out.size : 0;

    if (len > room) {
        len = room;
    }

    if (len == 0) {
        st->full = 1;
        return 0;
    }

    if (ngx_live_quic_buf_append(&st->out, p, len) != 0) {
        st->full = 1;
        return 0;
    }

    st->unsent += len;

    return len;
}


void
ngx_live_quic_stream_finish(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    st->out_fin = 1;
}


void
ngx_live_quic_stream_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code)
{
    if (st->reset) {
        return;
    }

    st->reset = 1;
    ngtcp2_conn_shutdown_stream(qc->conn, st->id, code);
}


/* byte queues in 16 KB chunks */

static int
ngx_live_quic_buf_append(ngx_live_quic_buf_t *b, const uint8_t *p, size_t len)
{
    size_t                  n;
    ngx_live_quic_chunk_t  *c;

    while (len) {
        c = b->tail;

        if (c == NULL || c->last == NGX_LIVE_QUIC_CHUNK) {
            c = malloc(sizeof(ngx_live_quic_chunk_t));
            if (c == NULL) {
                return -1;
            }

            c->next = NULL;
            c->pos = 0;
            c->last = 0;

            if (b->tail) {
                b->tail->next = c;

            } else {
                b->head = c;
            }

            b->tail = c;
        }

        n = NGX_LIVE_QUIC_CHUNK - c->last;
        if (n > len) {
            n = len;
        }

        memcpy(c->data + c->last, p, n);
        c->last += n;
        b->size += n;
        p += n;
        len -= n;
    }

    return 0;
}


static void
ngx_live_quic_buf_drop(ngx_live_quic_buf_t *b, size_t n)
{
    size_t                  k;
    ngx_live_quic_chunk_t  *c;

    while (n && b->head) {
        c = b->head;
        k = c->last - c->pos;

        if (n < k) {
            c->pos += n;
            b->size -= n;
            return;
        }

        n -= k;
        b->size -= k;
        b->head = c->next;

        if (b->head == NULL) {
            b->tail = NULL;
        }

        free(c);
    }
}


static void
ngx_live_quic_buf_free(ngx_live_quic_buf_t *b)
{
    ngx_live_quic_buf_drop(b, b->size);
}


/*
 * "rtmpq://host[:port]/app..." or "rtmp://host[:port]/app...?transport=quic"
 * (the argument is dropped from the path, with its "&" or the "?" if it was
 * the only one); host may be "[v6]".  Default port 1935 for both.
 */

int
ngx_live_quic_parse_uri(const char *uri, char *host, size_t hostlen,
    unsigned *port, char *path, size_t pathlen)
{
    int          quic;
    char         sep;
    size_t       n;
    unsigned     v;
    const char  *p, *h, *e, *q, *arg;

    if (strncmp(uri, "rtmpq://", 8) == 0) {
        p = uri + 8;
        quic = 1;

    } else if (strncmp(uri, "rtmp://", 7) == 0) {
        p = uri + 7;
        quic = 0;

    } else {
        return -1;
    }

    if (*p == '[') {
        h = ++p;
        while (*p && *p != ']') {
            p++;
        }

        if (*p != ']') {
            return -1;
        }

        e = p++;

    } else {
        h = p;
        while (*p && *p != ':' && *p != '/' && *p != '?') {
            p++;
        }

        e = p;
    }

    n = e - h;
    if (n == 0 || n >= hostlen) {
        return -1;
    }

    for (q = h; q < e; q++) {
        if (*q <= ' ' || *q == '@' || *q == '[' || (unsigned char) *q >= 0x7f)
        {
            return -1;
        }
    }

    memcpy(host, h, n);
    host[n] = '\0';

    *port = NGX_LIVE_QUIC_PORT;

    if (*p == ':') {
        p++;
        v = 0;
        n = 0;

        while (*p >= '0' && *p <= '9' && n < 6) {
            v = v * 10 + (*p++ - '0');
            n++;
        }

        if (n == 0 || n == 6 || v == 0 || v > 65535) {
            return -1;
        }

        *port = v;
    }

    if (*p != '\0' && *p != '/' && *p != '?') {
        return -1;
    }

    /* the path, then the arguments but transport=quic */

    q = strchr(p, '?');
    n = q ? (size_t) (q - p) : strlen(p);

    if (n >= pathlen) {
        return -1;
    }

    memcpy(path, p, n);
    sep = '?';

    while (q && *q) {
        arg = q + 1;
        q = strchr(arg, '&');
        e = q ? q : arg + strlen(arg);

        if (e - arg == 14 && strncmp(arg, "transport=quic", 14) == 0) {
            quic = 1;
            continue;
        }

        if (e == arg) {
            continue;
        }

        if (n + 1 + (e - arg) >= pathlen) {
            return -1;
        }

        path[n++] = sep;
        memcpy(path + n, arg, e - arg);
        n += e - arg;
        sep = '&';
    }

    path[n] = '\0';

    return quic ? 0 : -1;
}
