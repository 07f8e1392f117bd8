
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_stream.h>
#include "ngx_live_quic.h"


#define NGX_STREAM_RTMPQ_RETRY     10      /* ms, a send that would block */
#define NGX_STREAM_RTMPQ_BUFFER    16384   /* one read from nginx-rtmp */


typedef struct {
    ngx_addr_t                  *pass;
    ngx_flag_t                   proxy_protocol;
    ngx_flag_t                   retry;
    ngx_str_t                    certificate;
    ngx_str_t                    certificate_key;
    ngx_str_t                    host_key;
    ngx_msec_t                   idle_timeout;
    ngx_msec_t                   handshake_timeout;
    ngx_msec_t                   connect_timeout;
    size_t                       stream_window;
    size_t                       conn_window;
    size_t                       send_buffer;
    ngx_uint_t                   max_streams;
    ngx_uint_t                   congestion_control;
    ngx_uint_t                   max_handshakes;

    ngx_uint_t                   handshakes;    /* in this worker */
    ngx_live_quic_conf_t         quic;
} ngx_stream_rtmpq_srv_conf_t;


typedef struct ngx_stream_rtmpq_relay_s  ngx_stream_rtmpq_relay_t;

typedef struct {
    ngx_stream_session_t        *session;
    ngx_stream_rtmpq_srv_conf_t *conf;
    ngx_live_quic_conn_t        *qc;
    ngx_stream_rtmpq_relay_t    *relays;
    const char                  *reason;
    ngx_event_t                  timer;
    unsigned                     counted:1;     /* in conf->handshakes */
    unsigned                     closing:1;
} ngx_stream_rtmpq_ctx_t;


/* one QUIC stream piped to one TCP connection to nginx-rtmp */

struct ngx_stream_rtmpq_relay_s {
    ngx_stream_rtmpq_relay_t    *next;
    ngx_stream_rtmpq_ctx_t      *ctx;
    ngx_live_quic_stream_t      *stream;
    ngx_peer_connection_t        peer;
    u_char                      *header;        /* PROXY line not yet sent */
    size_t                       header_len;
    unsigned                     connected:1;
    unsigned                     shut_wr:1;     /* QUIC FIN passed on */
    unsigned                     tcp_eof:1;     /* TCP EOF passed on */
    u_char                       buf[NGX_STREAM_RTMPQ_BUFFER];
};


static void ngx_stream_rtmpq_handler(ngx_stream_session_t *s);
static void ngx_stream_rtmpq_first(ngx_stream_session_t *s,
    ngx_stream_rtmpq_ctx_t *ctx);
static void ngx_stream_rtmpq_stray(ngx_stream_session_t *s,
    ngx_stream_rtmpq_srv_conf_t *conf, u_char *pkt, size_t len);
static void ngx_stream_rtmpq_read_handler(ngx_event_t *rev);
static void ngx_stream_rtmpq_timer_handler(ngx_event_t *ev);
static void ngx_stream_rtmpq_flush(ngx_stream_rtmpq_ctx_t *ctx, int rc);
static void ngx_stream_rtmpq_finalize(ngx_stream_rtmpq_ctx_t *ctx);
static void ngx_stream_rtmpq_cleanup(void *data);
static void ngx_stream_rtmpq_uncount(ngx_stream_rtmpq_ctx_t *ctx);
static ssize_t ngx_stream_rtmpq_send(ngx_live_quic_conn_t *qc,
    const uint8_t *pkt, size_t len);
static ssize_t ngx_stream_rtmpq_send_raw(ngx_connection_t *c, u_char *pkt,
    size_t len);

static int ngx_stream_rtmpq_stream_open(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void ngx_stream_rtmpq_stream_readable(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void ngx_stream_rtmpq_stream_writable(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void ngx_stream_rtmpq_stream_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code);
static void ngx_stream_rtmpq_stream_close(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void ngx_stream_rtmpq_handshake_done(ngx_live_quic_conn_t *qc);

static void ngx_stream_rtmpq_backend_write(ngx_event_t *wev);
static void ngx_stream_rtmpq_backend_read(ngx_event_t *rev);
static ngx_int_t ngx_stream_rtmpq_downstream(ngx_stream_rtmpq_relay_t *r);
static ngx_int_t ngx_stream_rtmpq_upstream(ngx_stream_rtmpq_relay_t *r);
static void ngx_stream_rtmpq_relay_fail(ngx_stream_rtmpq_relay_t *r,
    const char *what);
static void ngx_stream_rtmpq_relay_close(ngx_stream_rtmpq_relay_t *r);

static void *ngx_stream_rtmpq_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_rtmpq_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_rtmpq_load_keys(ngx_conf_t *cf,
    ngx_stream_rtmpq_srv_conf_t *conf);
static void ngx_stream_rtmpq_cred_cleanup(void *data);
static char *ngx_stream_rtmpq_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_stream_rtmpq_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_stream_rtmpq_cc[] = {
    { ngx_string("cubic"), ngx_live_quic_cc_cubic },
    { ngx_string("reno"), ngx_live_quic_cc_reno },
    { ngx_string("bbr"), ngx_live_quic_cc_bbr },
    { ngx_string("bbr2"), ngx_live_quic_cc_bbr2 },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_stream_rtmpq_streams_bounds = {
    ngx_conf_check_num_bounds, 1, 64
};


static ngx_command_t  ngx_stream_rtmpq_commands[] = {

    { ngx_string("rtmpq_pass"),
      NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_rtmpq_pass,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("rtmpq_proxy_protocol"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, proxy_protocol),
      NULL },

    { ngx_string("rtmpq_retry"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, retry),
      NULL },

    { ngx_string("rtmpq_certificate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, certificate),
      NULL },

    { ngx_string("rtmpq_certificate_key"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, certificate_key),
      NULL },

    { ngx_string("rtmpq_host_key"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, host_key),
      NULL },

    { ngx_string("rtmpq_idle_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, idle_timeout),
      NULL },

    { ngx_string("rtmpq_handshake_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, handshake_timeout),
      NULL },

    { ngx_string("rtmpq_connect_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, connect_timeout),
      NULL },

    { ngx_string("rtmpq_stream_window"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, stream_window),
      NULL },

    { ngx_string("rtmpq_connection_window"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, conn_window),
      NULL },

    { ngx_string("rtmpq_send_buffer"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, send_buffer),
      NULL },

    { ngx_string("rtmpq_max_streams"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, max_streams),
      &ngx_stream_rtmpq_streams_bounds },

    { ngx_string("rtmpq_congestion_control"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, congestion_control),
      &ngx_stream_rtmpq_cc },

    { ngx_string("rtmpq_max_handshakes"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_rtmpq_srv_conf_t, max_handshakes),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_rtmpq_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_stream_rtmpq_init,                 /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_rtmpq_create_srv_conf,      /* create server configuration */
    ngx_stream_rtmpq_merge_srv_conf        /* merge server configuration */
};


ngx_module_t  ngx_stream_rtmpq_module = {
    NGX_MODULE_V1,
    &ngx_stream_rtmpq_module_ctx,          /* module context */
    ngx_stream_rtmpq_commands,             /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_live_quic_handler_t  ngx_stream_rtmpq_quic_handler = {
    ngx_stream_rtmpq_stream_open,
    ngx_stream_rtmpq_stream_readable,
    ngx_stream_rtmpq_stream_writable,
    ngx_stream_rtmpq_stream_reset,
    ngx_stream_rtmpq_stream_close,
    ngx_stream_rtmpq_handshake_done,
    ngx_stream_rtmpq_send
};


/*
 * A UDP "session" of nginx is one client address: one QUIC connection
 * (the tunnel uses one UDP socket per connection).  Its first datagram is
 * in c->buffer; later ones arrive through the read handler.
 */

static void
ngx_stream_rtmpq_handler(ngx_stream_session_t *s)
{
    ngx_connection_t             *c;
    ngx_pool_cleanup_t           *cln;
    ngx_stream_rtmpq_ctx_t       *ctx;
    ngx_stream_rtmpq_srv_conf_t  *conf;

    c = s->connection;
    conf = ngx_stream_get_module_srv_conf(s, ngx_stream_rtmpq_module);

    if (c->type != SOCK_DGRAM || c->buffer == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "rtmpq: \"rtmpq_pass\" needs a \"listen ... udp\"");
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    c->log->action = "serving RTMP over QUIC";

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_rtmpq_ctx_t));
    if (ctx == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->session = s;
    ctx->conf = conf;

    ctx->timer.handler = ngx_stream_rtmpq_timer_handler;
    ctx->timer.data = ctx;
    ctx->timer.log = c->log;
    ctx->timer.cancelable = 1;

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_stream_rtmpq_cleanup;
    cln->data = ctx;

    ngx_stream_set_ctx(s, ctx, ngx_stream_rtmpq_module);

    ngx_stream_rtmpq_first(s, ctx);
}


static void
ngx_stream_rtmpq_first(ngx_stream_session_t *s, ngx_stream_rtmpq_ctx_t *ctx)
{
    int                           type;
    size_t                        len, n;
    u_char                       *pkt;
    const char                   *reason;
    ngx_connection_t             *c;
    ngx_stream_rtmpq_srv_conf_t  *conf;
    u_char                        retry[NGX_LIVE_QUIC_MAX_PKT];

    c = s->connection;
    conf = ctx->conf;
    pkt = c->buffer->pos;
    len = c->buffer->last - c->buffer->pos;

    type = ngx_live_quic_classify(pkt, len);

    if (type != NGX_LIVE_QUIC_DGRAM_INITIAL) {
        ngx_stream_rtmpq_stray(s, conf, pkt, len);
        return;
    }

    if (conf->handshakes >= conf->max_handshakes) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "rtmpq: %ui handshakes in progress, "
                      "new connection dropped", conf->handshakes);
        ngx_stream_finalize_session(s, NGX_STREAM_SERVICE_UNAVAILABLE);
        return;
    }

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->qc = ngx_live_quic_server_new(&conf->quic,
                                       &ngx_stream_rtmpq_quic_handler, ctx,
                                       c->local_sockaddr, c->local_socklen,
                                       c->sockaddr, c->socklen, pkt, len,
                                       retry, &n, &reason);
    if (ctx->qc == NULL) {
        if (n) {
            /* a Retry, or a CONNECTION_CLOSE for a bad Retry token */
            ngx_stream_rtmpq_send_raw(c, retry, n);
        }

        if (reason == NULL) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0, "rtmpq: Retry sent");
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "rtmpq: connection refused: %s", reason);
        ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
        return;
    }

    conf->handshakes++;
    ctx->counted = 1;

    ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0, "rtmpq: new connection");

    c->read->handler = ngx_stream_rtmpq_read_handler;

    /* a worker that shuts down closes it (ngx_close_idle_connections) */
    c->idle = 1;

    ngx_stream_rtmpq_flush(ctx, ngx_live_quic_read(ctx->qc, pkt, len));
}


/* a datagram that is no client Initial and matches no connection */

static void
ngx_stream_rtmpq_stray(ngx_stream_session_t *s,
    ngx_stream_rtmpq_srv_conf_t *conf, u_char *pkt, size_t len)
{
    ssize_t            n;
    ngx_connection_t  *c;
    u_char             out[NGX_LIVE_QUIC_MAX_PKT];

    c = s->connection;

    switch (ngx_live_quic_classify(pkt, len)) {

    case NGX_LIVE_QUIC_DGRAM_SHORT:
        n = ngx_live_quic_stateless_reset(&conf->quic, pkt, len, out,
                                          sizeof(out));
        if (n > 0) {
            ngx_stream_rtmpq_send_raw(c, out, n);
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "rtmpq: packet for an unknown connection, %s",
                      n > 0 ? "stateless reset sent" : "dropped");
        break;

    case NGX_LIVE_QUIC_DGRAM_VERSION:
        n = ngx_live_quic_version_negotiation(pkt, len, out, sizeof(out));
        if (n > 0) {
            ngx_stream_rtmpq_send_raw(c, out, n);
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "rtmpq: unsupported QUIC version, %s",
                      n > 0 ? "version negotiation sent" : "dropped");
        break;

    default:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "rtmpq: invalid datagram of %uz bytes, dropped", len);
    }

    ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
}


static void
ngx_stream_rtmpq_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_stream_session_t    *s;
    ngx_stream_rtmpq_ctx_t  *ctx;
    u_char                   pkt[65536];

    c = rev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_rtmpq_module);

    if (c->close) {
        /*
         * a reload or a stop: the listening socket is already closed, so
         * no CONNECTION_CLOSE can leave; the client learns of it from a
         * stateless reset of the new workers
         */
        ctx->reason = "worker shutting down";
        ngx_stream_rtmpq_finalize(ctx);
        return;
    }

    n = c->recv(c, pkt, sizeof(pkt));

    if (n == NGX_AGAIN) {
        return;
    }

    if (n == NGX_ERROR || n == 0) {
        ngx_stream_rtmpq_finalize(ctx);
        return;
    }

    ngx_stream_rtmpq_flush(ctx, ngx_live_quic_read(ctx->qc, pkt, n));
}


static void
ngx_stream_rtmpq_timer_handler(ngx_event_t *ev)
{
    ngx_stream_rtmpq_ctx_t  *ctx = ev->data;

    ngx_stream_rtmpq_flush(ctx, ngx_live_quic_expire(ctx->qc));
}


/* after every event: send what is due, arm the one timer, or close */

static void
ngx_stream_rtmpq_flush(ngx_stream_rtmpq_ctx_t *ctx, int rc)
{
    int64_t  ms;

    if (rc == NGX_LIVE_QUIC_OK) {
        rc = ngx_live_quic_flush(ctx->qc);
    }

    if (rc == NGX_LIVE_QUIC_ERROR || rc == NGX_LIVE_QUIC_DONE) {
        ngx_stream_rtmpq_finalize(ctx);
        return;
    }

    if (rc == NGX_LIVE_QUIC_AGAIN) {
        /* never a write event on the shared socket: retry on a timer */
        ngx_add_timer(&ctx->timer, NGX_STREAM_RTMPQ_RETRY);
        return;
    }

    ms = ngx_live_quic_timeout(ctx->qc);

    if (ms < 0) {
        if (ctx->timer.timer_set) {
            ngx_del_timer(&ctx->timer);
        }

        return;
    }

    ngx_add_timer(&ctx->timer, (ngx_msec_t) ms);
}


static void
ngx_stream_rtmpq_finalize(ngx_stream_rtmpq_ctx_t *ctx)
{
    ngx_connection_t  *c;

    c = ctx->session->connection;

    if (ctx->closing) {
        return;
    }

    ctx->closing = 1;

    ngx_log_error(NGX_LOG_INFO, c->log, 0, "rtmpq: connection closed: %s",
                  ctx->reason ? ctx->reason : ngx_live_quic_reason(ctx->qc));

    ngx_stream_finalize_session(ctx->session, NGX_STREAM_OK);
}


static void
ngx_stream_rtmpq_cleanup(void *data)
{
    ngx_stream_rtmpq_ctx_t  *ctx = data;

    ngx_stream_rtmpq_relay_t  *r;

    ctx->closing = 1;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    while (ctx->relays) {
        r = ctx->relays;
        ctx->relays = r->next;
        r->stream = NULL;
        ngx_stream_rtmpq_relay_close(r);
    }

    ngx_stream_rtmpq_uncount(ctx);

    if (ctx->qc) {
        ngx_live_quic_free(ctx->qc);
        ctx->qc = NULL;
    }
}


static void
ngx_stream_rtmpq_uncount(ngx_stream_rtmpq_ctx_t *ctx)
{
    if (ctx->counted) {
        ctx->counted = 0;
        ctx->conf->handshakes--;
    }
}


static ssize_t
ngx_stream_rtmpq_send(ngx_live_quic_conn_t *qc, const uint8_t *pkt,
    size_t len)
{
    ngx_stream_rtmpq_ctx_t  *ctx = ngx_live_quic_data(qc);

    return ngx_stream_rtmpq_send_raw(ctx->session->connection, (u_char *) pkt,
                                     len);
}


/* one datagram on the shared socket, from the listen address */

static ssize_t
ngx_stream_rtmpq_send_raw(ngx_connection_t *c, u_char *pkt, size_t len)
{
    ngx_buf_t     b;
    ngx_chain_t   cl, *rc;

    ngx_memzero(&b, sizeof(ngx_buf_t));
    b.pos = pkt;
    b.last = pkt + len;
    b.memory = 1;
    b.flush = 1;
    cl.buf = &b;
    cl.next = NULL;

    /* never a write event on the shared socket: the caller retries */
    c->write->ready = 1;

    rc = c->send_chain(c, &cl, 0);

    if (rc == NULL) {
        return len;
    }

    ngx_set_errno(rc == NGX_CHAIN_ERROR ? EIO : NGX_EAGAIN);

    return -1;
}


/* QUIC streams */

static void
ngx_stream_rtmpq_handshake_done(ngx_live_quic_conn_t *qc)
{
    ngx_stream_rtmpq_ctx_t  *ctx = ngx_live_quic_data(qc);

    ngx_log_debug0(NGX_LOG_DEBUG_STREAM, ctx->session->connection->log, 0,
                   "rtmpq: handshake done");

    ngx_stream_rtmpq_uncount(ctx);
}


static int
ngx_stream_rtmpq_stream_open(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    ngx_stream_rtmpq_ctx_t  *ctx = ngx_live_quic_data(qc);

    u_char                       *p;
    ngx_int_t                     rc;
    ngx_connection_t             *c, *pc;
    ngx_stream_rtmpq_relay_t     *r;
    ngx_stream_rtmpq_srv_conf_t  *conf;

    c = ctx->session->connection;
    conf = ctx->conf;

    r = ngx_calloc(sizeof(ngx_stream_rtmpq_relay_t), c->log);
    if (r == NULL) {
        return -1;
    }

    r->ctx = ctx;
    r->stream = st;

    if (conf->proxy_protocol) {
        r->header = ngx_alloc(NGX_PROXY_PROTOCOL_MAX_HEADER, c->log);
        if (r->header == NULL) {
            ngx_free(r);
            return -1;
        }

        p = ngx_proxy_protocol_write(c, r->header,
                                     r->header + NGX_PROXY_PROTOCOL_MAX_HEADER);
        if (p == NULL) {
            ngx_free(r->header);
            ngx_free(r);
            return -1;
        }

        r->header_len = p - r->header;
    }

    r->peer.sockaddr = conf->pass->sockaddr;
    r->peer.socklen = conf->pass->socklen;
    r->peer.name = &conf->pass->name;
    r->peer.get = ngx_event_get_peer;
    r->peer.log = c->log;
    r->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&r->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "rtmpq: backend %V is unreachable, stream %L refused",
                      &conf->pass->name, ngx_live_quic_stream_id(st));

        if (r->peer.connection) {
            ngx_close_connection(r->peer.connection);
        }

        ngx_free(r->header);
        ngx_free(r);
        return -1;
    }

    pc = r->peer.connection;
    pc->data = r;
    pc->log = c->log;
    pc->read->log = c->log;
    pc->write->log = c->log;
    pc->read->handler = ngx_stream_rtmpq_backend_read;
    pc->write->handler = ngx_stream_rtmpq_backend_write;

    ngx_live_quic_stream_set_data(st, r);

    r->next = ctx->relays;
    ctx->relays = r;

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "rtmpq: stream %L to backend", ngx_live_quic_stream_id(st));

    if (rc == NGX_AGAIN) {
        ngx_add_timer(pc->write, conf->connect_timeout);
        return 0;
    }

    r->connected = 1;

    return 0;
}


static void
ngx_stream_rtmpq_stream_readable(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    ngx_stream_rtmpq_relay_t  *r = ngx_live_quic_stream_data(st);

    if (r == NULL || !r->connected) {
        return;
    }

    if (ngx_stream_rtmpq_downstream(r) != NGX_OK) {
        ngx_stream_rtmpq_relay_fail(r, "send to backend failed");
    }
}


static void
ngx_stream_rtmpq_stream_writable(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    ngx_stream_rtmpq_relay_t  *r = ngx_live_quic_stream_data(st);

    if (r == NULL || !r->connected) {
        return;
    }

    /* called from inside ngtcp2: read on from the backend later */

    ngx_post_event(r->peer.connection->read, &ngx_posted_events);
}


static void
ngx_stream_rtmpq_stream_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code)
{
    ngx_stream_rtmpq_relay_t  *r = ngx_live_quic_stream_data(st);

    if (r == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->ctx->session->connection->log, 0,
                  "rtmpq: stream %L reset by client (code %uL)",
                  ngx_live_quic_stream_id(st), code);

    ngx_stream_rtmpq_relay_close(r);
}


static void
ngx_stream_rtmpq_stream_close(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st)
{
    ngx_stream_rtmpq_relay_t  *r = ngx_live_quic_stream_data(st);

    if (r == NULL) {
        return;
    }

    r->stream = NULL;
    ngx_stream_rtmpq_relay_close(r);
}


/* the TCP side: nginx-rtmp */

static void
ngx_stream_rtmpq_backend_write(ngx_event_t *wev)
{
    int                        err;
    socklen_t                  len;
    ngx_connection_t          *pc;
    ngx_stream_rtmpq_ctx_t    *ctx;
    ngx_stream_rtmpq_relay_t  *r;

    pc = wev->data;
    r = pc->data;
    ctx = r->ctx;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_ERR, wev->log, NGX_ETIMEDOUT,
                      "rtmpq: backend %V is unreachable, stream %L reset",
                      r->peer.name, ngx_live_quic_stream_id(r->stream));
        ngx_stream_rtmpq_relay_fail(r, NULL);
        ngx_stream_rtmpq_flush(ctx, NGX_LIVE_QUIC_OK);
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (!r->connected) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_log_error(NGX_LOG_ERR, wev->log, err,
                          "rtmpq: backend %V is unreachable, stream %L reset",
                          r->peer.name, ngx_live_quic_stream_id(r->stream));
            ngx_stream_rtmpq_relay_fail(r, NULL);
            ngx_stream_rtmpq_flush(ctx, NGX_LIVE_QUIC_OK);
            return;
        }

        r->connected = 1;
        ngx_post_event(pc->read, &ngx_posted_events);
    }

    if (ngx_stream_rtmpq_downstream(r) != NGX_OK) {
        ngx_stream_rtmpq_relay_fail(r, "send to backend failed");
    }

    ngx_stream_rtmpq_flush(ctx, NGX_LIVE_QUIC_OK);
}


static void
ngx_stream_rtmpq_backend_read(ngx_event_t *rev)
{
    ngx_connection_t          *pc;
    ngx_stream_rtmpq_ctx_t    *ctx;
    ngx_stream_rtmpq_relay_t  *r;

    pc = rev->data;
    r = pc->data;
    ctx = r->ctx;

    if (!r->connected) {
        return;
    }

    if (ngx_stream_rtmpq_upstream(r) != NGX_OK) {
        ngx_stream_rtmpq_relay_fail(r, "read from backend failed");
    }

    ngx_stream_rtmpq_flush(ctx, NGX_LIVE_QUIC_OK);
}


/* QUIC stream -> nginx-rtmp: the PROXY line first, then the stream */

static ngx_int_t
ngx_stream_rtmpq_downstream(ngx_stream_rtmpq_relay_t *r)
{
    size_t                 len;
    ssize_t                n;
    const uint8_t         *p;
    ngx_connection_t      *pc;
    ngx_live_quic_conn_t  *qc;

    pc = r->peer.connection;
    qc = r->ctx->qc;

    while (r->header_len) {
        n = pc->send(pc, r->header, r->header_len);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            return ngx_handle_write_event(pc->write, 0);
        }

        r->header_len -= n;
        ngx_memmove(r->header, r->header + n, r->header_len);
    }

    while (r->stream) {
        len = ngx_live_quic_stream_peek(r->stream, &p);

        if (len == 0) {
            if (ngx_live_quic_stream_eof(r->stream) && !r->shut_wr) {
                /* a FIN is a TCP half-close */
                r->shut_wr = 1;

                if (ngx_shutdown_socket(pc->fd, NGX_WRITE_SHUTDOWN) == -1) {
                    return NGX_ERROR;
                }
            }

            break;
        }

        n = pc->send(pc, (u_char *) p, len);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            return ngx_handle_write_event(pc->write, 0);
        }

        ngx_live_quic_stream_consume(qc, r->stream, n);
    }

    return NGX_OK;
}


/* nginx-rtmp -> QUIC stream, as far as the stream's send buffer takes */

static ngx_int_t
ngx_stream_rtmpq_upstream(ngx_stream_rtmpq_relay_t *r)
{
    size_t                 room;
    ssize_t                n;
    ngx_connection_t      *pc;
    ngx_live_quic_conn_t  *qc;

    pc = r->peer.connection;
    qc = r->ctx->qc;

    while (r->stream && !r->tcp_eof) {
        room = ngx_live_quic_stream_room(qc, r->stream);

        if (room == 0) {
            /* back-pressure: the read resumes when the peer acknowledges */
            return NGX_OK;
        }

        n = pc->recv(pc, r->buf, ngx_min(room, sizeof(r->buf)));

        if (n == NGX_AGAIN) {
            return ngx_handle_read_event(pc->read, 0);
        }

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == 0) {
            r->tcp_eof = 1;
            ngx_live_quic_stream_finish(qc, r->stream);
            break;
        }

        (void) ngx_live_quic_stream_write(qc, r->stream, r->buf, n);
    }

    return NGX_OK;
}


/* the TCP side failed: reset the stream and close the connection */

static void
ngx_stream_rtmpq_relay_fail(ngx_stream_rtmpq_relay_t *r, const char *what)
{
    ngx_connection_t  *c;

    c = r->ctx->session->connection;

    if (what) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0, "rtmpq: %s, stream reset",
                      what);
    }

    if (r->stream) {
        ngx_live_quic_stream_reset(r->ctx->qc, r->stream,
                                   NGX_LIVE_QUIC_APP_BACKEND);
    }

    ngx_stream_rtmpq_relay_close(r);
}


static void
ngx_stream_rtmpq_relay_close(ngx_stream_rtmpq_relay_t *r)
{
    ngx_stream_rtmpq_ctx_t     *ctx;
    ngx_stream_rtmpq_relay_t  **pp;

    ctx = r->ctx;

    for (pp = &ctx->relays; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }

    if (r->stream) {
        ngx_live_quic_stream_set_data(r->stream, NULL);
    }

    if (r->peer.connection) {
        ngx_close_connection(r->peer.connection);
    }

    ngx_free(r->header);
    ngx_free(r);
}


static void *
ngx_stream_rtmpq_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_rtmpq_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_rtmpq_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->pass = NULL;
     *     conf->certificate = { 0, NULL };
     *     conf->certificate_key = { 0, NULL };
     *     conf->host_key = { 0, NULL };
     *     conf->handshakes = 0;
     */

    conf->proxy_protocol = NGX_CONF_UNSET;
    conf->retry = NGX_CONF_UNSET;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    conf->connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->stream_window = NGX_CONF_UNSET_SIZE;
    conf->conn_window = NGX_CONF_UNSET_SIZE;
    conf->send_buffer = NGX_CONF_UNSET_SIZE;
    conf->max_streams = NGX_CONF_UNSET_UINT;
    conf->congestion_control = NGX_CONF_UNSET_UINT;
    conf->max_handshakes = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_stream_rtmpq_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_rtmpq_srv_conf_t *prev = parent;
    ngx_stream_rtmpq_srv_conf_t *conf = child;

    ngx_live_quic_conf_t  *q;

    ngx_conf_merge_value(conf->proxy_protocol, prev->proxy_protocol, 0);
    ngx_conf_merge_value(conf->retry, prev->retry, 0);
    ngx_conf_merge_str_value(conf->certificate, prev->certificate, "");
    ngx_conf_merge_str_value(conf->certificate_key, prev->certificate_key,
                             "");
    ngx_conf_merge_str_value(conf->host_key, prev->host_key, "");
    ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout, 30000);
    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout, 10000);
    ngx_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                              5000);
    ngx_conf_merge_size_value(conf->stream_window, prev->stream_window,
                              1024 * 1024);
    ngx_conf_merge_size_value(conf->conn_window, prev->conn_window,
                              1536 * 1024);
    ngx_conf_merge_size_value(conf->send_buffer, prev->send_buffer,
                              1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_streams, prev->max_streams, 4);
    /* BBR: ngtcp2's CUBIC collapses under random loss (bench/rtmpq.sh) */
    ngx_conf_merge_uint_value(conf->congestion_control,
                              prev->congestion_control,
                              ngx_live_quic_cc_bbr);
    ngx_conf_merge_uint_value(conf->max_handshakes, prev->max_handshakes,
                              64);

    if (conf->pass == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->stream_window < 16384 || conf->conn_window < conf->stream_window)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"rtmpq_stream_window\" must be at least 16k "
                           "and not above \"rtmpq_connection_window\"");
        return NGX_CONF_ERROR;
    }

    if (conf->send_buffer < 16384) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"rtmpq_send_buffer\" must be at least 16k");
        return NGX_CONF_ERROR;
    }

    q = &conf->quic;

    ngx_live_quic_conf_init(q, 1);

    q->cc = conf->congestion_control;
    q->idle_timeout = conf->idle_timeout;
    q->handshake_timeout = conf->handshake_timeout;
    q->stream_window = conf->stream_window;
    q->conn_window = conf->conn_window;
    q->max_stream_window = 6 * conf->stream_window;
    q->max_window = 6 * conf->conn_window;
    q->max_streams = conf->max_streams;
    q->send_buffer = conf->send_buffer;
    q->retry = conf->retry ? 1 : 0;

    return ngx_stream_rtmpq_load_keys(cf, conf);
}


/* at configuration time, so that "nginx -t" reports a bad file */

static char *
ngx_stream_rtmpq_load_keys(ngx_conf_t *cf, ngx_stream_rtmpq_srv_conf_t *conf)
{
    ngx_pool_cleanup_t  *cln;
    u_char               err[256];

    if (conf->certificate.len == 0 || conf->certificate_key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"rtmpq_certificate\" or "
                           "\"rtmpq_certificate_key\" for \"rtmpq_pass\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &conf->certificate, 1) != NGX_OK
        || ngx_conf_full_name(cf->cycle, &conf->certificate_key, 1) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_live_quic_server_cred(&conf->quic,
                                  (char *) conf->certificate.data,
                                  (char *) conf->certificate_key.data,
                                  (char *) err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot load \"%V\" and \"%V\": %s",
                           &conf->certificate, &conf->certificate_key, err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_stream_rtmpq_cred_cleanup;
    cln->data = &conf->quic;

    if (conf->host_key.len == 0) {
        conf->host_key = conf->certificate_key;

    } else if (ngx_conf_full_name(cf->cycle, &conf->host_key, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_live_quic_host_key(&conf->quic, (char *) conf->host_key.data,
                               (char *) err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot read host key \"%V\": %s",
                           &conf->host_key, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_stream_rtmpq_cred_cleanup(void *data)
{
    ngx_live_quic_cred_free(data);
}


static char *
ngx_stream_rtmpq_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_rtmpq_srv_conf_t *rcf = conf;

    ngx_url_t                    u;
    ngx_str_t                   *value;
    ngx_stream_core_srv_conf_t  *cscf;

    if (rcf->pass) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"rtmpq_pass\"%s%s",
                           &value[1], u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (u.no_port) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no port in \"rtmpq_pass %V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    rcf->pass = &u.addrs[0];

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);
    cscf->handler = ngx_stream_rtmpq_handler;

    return NGX_CONF_OK;
}


/*
 * A QUIC server needs its datagrams: refuse rtmpq_pass on a TCP listen.
 * nginx 1.25.5 reorganised the stream listens (virtual servers); there
 * the handler refuses a TCP connection at run time instead.
 */

static ngx_int_t
ngx_stream_rtmpq_init(ngx_conf_t *cf)
{
#if (nginx_version < 1025005)

    ngx_uint_t                    i;
    ngx_stream_listen_t          *ls;
    ngx_stream_rtmpq_srv_conf_t  *conf;
    ngx_stream_core_main_conf_t  *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

    ls = cmcf->listen.elts;

    for (i = 0; i < cmcf->listen.nelts; i++) {
        conf = ls[i].ctx->srv_conf[ngx_stream_rtmpq_module.ctx_index];

        if (conf->pass && ls[i].type != SOCK_DGRAM) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"rtmpq_pass\" needs \"listen %V udp\"",
                               &ls[i].addr_text);
            return NGX_ERROR;
        }
    }

#endif

    return NGX_OK;
}
