
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_LIVE_QUIC_H_INCLUDED_
#define _NGX_LIVE_QUIC_H_INCLUDED_


/*
 * The QUIC engine of the suite: the one place that speaks ngtcp2 0.12 and
 * gnutls, used by ngx_stream_rtmpq_module and by tools/rtmpq-tunnel.  It
 * depends on libc only (no nginx headers), so that the tunnel links it as
 * is.  A connection carries bidirectional streams that behave like pipes:
 * received bytes are held until the user consumes them (the flow-control
 * windows grow only then), sent bytes are held until the peer acknowledges
 * them.  The user owns the socket: it feeds datagrams in and gives a send
 * function for the datagrams out.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>


#define NGX_LIVE_QUIC_HIDDEN  __attribute__((visibility("hidden")))

#define NGX_LIVE_QUIC_ALPN        "rtmpq-01"
#define NGX_LIVE_QUIC_PORT        1935
#define NGX_LIVE_QUIC_KEY_LEN     32
#define NGX_LIVE_QUIC_MAX_PKT     1500

/* results of read, expiry and flush */
#define NGX_LIVE_QUIC_OK          0
#define NGX_LIVE_QUIC_AGAIN       1    /* the send function would block */
#define NGX_LIVE_QUIC_DONE        2    /* closed: free the connection */
#define NGX_LIVE_QUIC_ERROR      -1    /* closing: flush, then free */

/* what a datagram with no known connection is */
#define NGX_LIVE_QUIC_DGRAM_INITIAL   0
#define NGX_LIVE_QUIC_DGRAM_SHORT     1    /* answer with a stateless reset */
#define NGX_LIVE_QUIC_DGRAM_VERSION   2    /* version negotiation */
#define NGX_LIVE_QUIC_DGRAM_INVALID   3    /* drop */

/* application error codes on the wire */
#define NGX_LIVE_QUIC_APP_NO_ERROR    0
#define NGX_LIVE_QUIC_APP_BACKEND     1    /* the TCP side failed or reset */
#define NGX_LIVE_QUIC_APP_REFUSED     2    /* stream not accepted */


typedef struct ngx_live_quic_conn_s    ngx_live_quic_conn_t;
typedef struct ngx_live_quic_stream_s  ngx_live_quic_stream_t;

typedef enum {
    ngx_live_quic_cc_cubic = 0,
    ngx_live_quic_cc_reno,
    ngx_live_quic_cc_bbr,
    ngx_live_quic_cc_bbr2
} ngx_live_quic_cc_e;


typedef struct {
    /* a peer-initiated bidirectional stream; non-zero refuses it */
    int    (*stream_open)(ngx_live_quic_conn_t *qc,
                          ngx_live_quic_stream_t *st);
    /* new data or the end of the peer's data can be read */
    void   (*stream_readable)(ngx_live_quic_conn_t *qc,
                              ngx_live_quic_stream_t *st);
    /* acknowledged data freed room in the send buffer */
    void   (*stream_writable)(ngx_live_quic_conn_t *qc,
                              ngx_live_quic_stream_t *st);
    /* the peer reset the stream or asked us to stop sending */
    void   (*stream_reset)(ngx_live_quic_conn_t *qc,
                           ngx_live_quic_stream_t *st, uint64_t code);
    /* the stream is gone; its user data must not be used any more */
    void   (*stream_close)(ngx_live_quic_conn_t *qc,
                           ngx_live_quic_stream_t *st);
    void   (*handshake_done)(ngx_live_quic_conn_t *qc);
    /* one datagram out: bytes sent, or -1 with errno (EAGAIN: retry) */
    ssize_t (*send)(ngx_live_quic_conn_t *qc, const uint8_t *pkt,
                    size_t len);
} ngx_live_quic_handler_t;


typedef struct {
    void                *cred;           /* gnutls credentials */
    const char          *sni;            /* client: name to verify */
    const char          *alpn;           /* client: NULL for "rtmpq-01" */
    unsigned             server:1;
    unsigned             verify:1;       /* client: verify the server */
    unsigned             retry:1;        /* server: validate addresses */

    ngx_live_quic_cc_e   cc;
    uint64_t             idle_timeout;       /* ms */
    uint64_t             handshake_timeout;  /* ms */
    uint64_t             stream_window;
    uint64_t             conn_window;
    uint64_t             max_stream_window;
    uint64_t             max_window;
    uint64_t             max_streams;
    size_t               send_buffer;        /* per stream */

    uint8_t              key[NGX_LIVE_QUIC_KEY_LEN];  /* stateless reset */
} ngx_live_quic_conf_t;


NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_conf_init(ngx_live_quic_conf_t *conf, int server);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_server_cred(ngx_live_quic_conf_t *conf, const char *cert,
    const char *key, char *err, size_t errlen);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_client_cred(ngx_live_quic_conf_t *conf, const char *cafile,
    int insecure, char *err, size_t errlen);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_host_key(ngx_live_quic_conf_t *conf, const char *file,
    char *err, size_t errlen);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_cred_free(ngx_live_quic_conf_t *conf);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_random(uint8_t *buf, size_t len);

NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_classify(const uint8_t *pkt, size_t len);
NGX_LIVE_QUIC_HIDDEN
ssize_t ngx_live_quic_version_negotiation(const uint8_t *pkt, size_t len,
    uint8_t *out, size_t size);
NGX_LIVE_QUIC_HIDDEN
ssize_t ngx_live_quic_stateless_reset(ngx_live_quic_conf_t *conf,
    const uint8_t *pkt, size_t len, uint8_t *out, size_t size);

/*
 * A connection for a client Initial.  With conf->retry, an Initial without
 * a token gets NULL, *reason NULL and, in "retry" (NGX_LIVE_QUIC_MAX_PKT
 * bytes), a Retry packet to send: *retrylen > 0; one with an invalid
 * token gets NULL, a *reason and a CONNECTION_CLOSE to send there.
 */
NGX_LIVE_QUIC_HIDDEN
ngx_live_quic_conn_t *ngx_live_quic_server_new(ngx_live_quic_conf_t *conf,
    ngx_live_quic_handler_t *handler, void *data,
    const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen,
    const uint8_t *pkt, size_t len, uint8_t *retry, size_t *retrylen,
    const char **reason);
NGX_LIVE_QUIC_HIDDEN
ngx_live_quic_conn_t *ngx_live_quic_client_new(ngx_live_quic_conf_t *conf,
    ngx_live_quic_handler_t *handler, void *data,
    const struct sockaddr *local, socklen_t locallen,
    const struct sockaddr *remote, socklen_t remotelen,
    const char **reason);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_free(ngx_live_quic_conn_t *qc);

NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_read(ngx_live_quic_conn_t *qc, const uint8_t *pkt,
    size_t len);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_flush(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
int64_t ngx_live_quic_timeout(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_expire(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_close(ngx_live_quic_conn_t *qc, uint64_t code,
    const char *reason);

NGX_LIVE_QUIC_HIDDEN
void *ngx_live_quic_data(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
const char *ngx_live_quic_reason(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_handshake_done(ngx_live_quic_conn_t *qc);

NGX_LIVE_QUIC_HIDDEN
ngx_live_quic_stream_t *ngx_live_quic_stream_open(ngx_live_quic_conn_t *qc);
NGX_LIVE_QUIC_HIDDEN
int64_t ngx_live_quic_stream_id(ngx_live_quic_stream_t *st);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_stream_set_data(ngx_live_quic_stream_t *st, void *data);
NGX_LIVE_QUIC_HIDDEN
void *ngx_live_quic_stream_data(ngx_live_quic_stream_t *st);
NGX_LIVE_QUIC_HIDDEN
size_t ngx_live_quic_stream_peek(ngx_live_quic_stream_t *st,
    const uint8_t **p);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_stream_consume(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, size_t n);
NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_stream_eof(ngx_live_quic_stream_t *st);
NGX_LIVE_QUIC_HIDDEN
size_t ngx_live_quic_stream_room(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
NGX_LIVE_QUIC_HIDDEN
size_t ngx_live_quic_stream_write(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, const uint8_t *p, size_t len);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_stream_finish(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
NGX_LIVE_QUIC_HIDDEN
void ngx_live_quic_stream_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code);

NGX_LIVE_QUIC_HIDDEN
int ngx_live_quic_parse_uri(const char *uri, char *host, size_t hostlen,
    unsigned *port, char *path, size_t pathlen);


#endif /* _NGX_LIVE_QUIC_H_INCLUDED_ */
