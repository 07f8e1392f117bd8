
/*
 * Copyright (C) nginx-live-cdn authors
 */


/*
 * rtmpq-tunnel: RTMP over QUIC for stock encoders and players.  Each TCP
 * connection accepted on --listen gets its own QUIC connection (its own
 * UDP socket) to the server and is piped over one bidirectional stream;
 * the server side is ngx_stream_rtmpq_module.  A connection that cannot be
 * made is tried again, then optionally carried over plain TCP.
 */


#define _GNU_SOURCE  /* accept4() */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "ngx_live_quic.h"


#define RTMPQ_MAX_SESSIONS  64
#define RTMPQ_BUFFER        16384


typedef struct rtmpq_session_s  rtmpq_session_t;

typedef struct {
    ngx_live_quic_conf_t     quic;
    char                     host[256];
    char                     path[1024];
    unsigned                 port;
    unsigned                 retries;
    const char              *bind;          /* local UDP address */
    unsigned                 fallback:1;
    unsigned                 verbose:1;
    int                      listen;
    rtmpq_session_t         *sessions;
    unsigned                 nsessions;
    unsigned                 serial;
} rtmpq_tunnel_t;


struct rtmpq_session_s {
    rtmpq_session_t         *next;
    rtmpq_tunnel_t          *tunnel;
    unsigned                 id;
    int                      tcp;           /* from the encoder */
    int                      udp;
    int                      direct;        /* fallback TCP to the server */
    ngx_live_quic_conn_t    *qc;
    ngx_live_quic_stream_t  *stream;
    unsigned                 attempts;
    uint64_t                 retry_at;      /* ms; 0: none */
    uint64_t                 timer_at;      /* ms; 0: none */

    unsigned                 again:1;       /* the UDP send would block */
    unsigned                 established:1;
    unsigned                 connecting:1;  /* fallback connect() */
    unsigned                 tcp_eof:1;     /* encoder EOF passed on */
    unsigned                 shut_wr:1;     /* server EOF passed on */
    unsigned                 done:1;

    size_t                   up_len;        /* fallback buffers */
    size_t                   down_len;
    uint8_t                  up[RTMPQ_BUFFER];
    uint8_t                  down[RTMPQ_BUFFER];
};


static size_t rtmpq_poll_set(rtmpq_tunnel_t *t, struct pollfd *fds,
    uint64_t *next);
static void rtmpq_log(rtmpq_session_t *s, const char *fmt, ...);
static void rtmpq_usage(void);
static int rtmpq_parse_args(rtmpq_tunnel_t *t, int argc, char **argv);
static int rtmpq_listen(const char *addr);
static int rtmpq_resolve(rtmpq_tunnel_t *t, int type,
    struct sockaddr_storage *sa, socklen_t *len);
static uint64_t rtmpq_now(void);
static void rtmpq_accept(rtmpq_tunnel_t *t);
static int rtmpq_connect(rtmpq_session_t *s);
static void rtmpq_failed(rtmpq_session_t *s, const char *why);
static int rtmpq_direct(rtmpq_session_t *s);
static void rtmpq_pump(rtmpq_session_t *s, short udp, short tcp,
    short direct);
static void rtmpq_pump_quic(rtmpq_session_t *s, short udp);
static void rtmpq_pump_direct(rtmpq_session_t *s, short direct);
static int rtmpq_to_tcp(rtmpq_session_t *s);
static int rtmpq_from_tcp(rtmpq_session_t *s);
static void rtmpq_schedule(rtmpq_session_t *s, int rc);
static void rtmpq_close(rtmpq_session_t *s, int reset);
static void rtmpq_quic_free(rtmpq_session_t *s);

static int rtmpq_stream_open(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void rtmpq_stream_nop(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void rtmpq_stream_reset(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st, uint64_t code);
static void rtmpq_stream_close(ngx_live_quic_conn_t *qc,
    ngx_live_quic_stream_t *st);
static void rtmpq_handshake_done(ngx_live_quic_conn_t *qc);
static ssize_t rtmpq_send(ngx_live_quic_conn_t *qc, const uint8_t *pkt,
    size_t len);


static volatile sig_atomic_t  rtmpq_stop;

static ngx_live_quic_handler_t  rtmpq_handler = {
    rtmpq_stream_open,
    rtmpq_stream_nop,
    rtmpq_stream_nop,
    rtmpq_stream_reset,
    rtmpq_stream_close,
    rtmpq_handshake_done,
    rtmpq_send
};


static void
rtmpq_signal(int signo)
{
    rtmpq_stop = 1;
}


int
main(int argc, char **argv)
{
    int               n, timeout;
    short             ev[3];
    size_t            i, nfds;
    uint64_t          now, next;
    rtmpq_tunnel_t    tunnel;
    rtmpq_session_t  *s, **ps;
    struct pollfd     fds[1 + 3 * RTMPQ_MAX_SESSIONS];
    struct sigaction  sa;

    memset(&tunnel, 0, sizeof(rtmpq_tunnel_t));

    if (rtmpq_parse_args(&tunnel, argc, argv) != 0) {
        rtmpq_usage();
        return 2;
    }

    memset(&sa, 0, sizeof(struct sigaction));
    sa.sa_handler = rtmpq_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fprintf(stderr, "rtmpq-tunnel: listening, QUIC to %s port %u%s\n",
            tunnel.host, tunnel.port,
            tunnel.fallback ? ", TCP fallback on" : "");

    while (!rtmpq_stop) {
        now = rtmpq_now();
        next = now + 1000;
        nfds = rtmpq_poll_set(&tunnel, fds, &next);

        timeout = next > now ? (int) (next - now) : 0;

        n = poll(fds, nfds, timeout);

        if (n == -1 && errno != EINTR) {
            perror("rtmpq-tunnel: poll");
            return 1;
        }

        if (n > 0 && (fds[0].revents & POLLIN)) {
            rtmpq_accept(&tunnel);
        }

        i = 1;
        now = rtmpq_now();

        for (s = tunnel.sessions; s; s = s->next) {
            ev[0] = ev[1] = ev[2] = 0;

            /* a session accepted in this round has no poll entry yet */

            if (i < nfds && fds[i].fd == s->udp && fds[i + 1].fd == s->tcp) {
                ev[0] = n > 0 ? fds[i].revents : 0;
                ev[1] = n > 0 ? fds[i + 1].revents : 0;
                ev[2] = n > 0 ? fds[i + 2].revents : 0;
                i += 3;
            }

            if (s->retry_at && s->retry_at <= now) {
                s->retry_at = 0;

                if (rtmpq_connect(s) != 0) {
                    rtmpq_failed(s, "cannot start a QUIC connection");
                }
            }

            rtmpq_pump(s, ev[0], ev[1], ev[2]);
        }

        for (ps = &tunnel.sessions; *ps; /* void */) {
            s = *ps;

            if (!s->done) {
                ps = &s->next;
                continue;
            }

            *ps = s->next;
            tunnel.nsessions--;
            rtmpq_log(s, "closed");
            free(s);
        }
    }

    fprintf(stderr, "rtmpq-tunnel: exiting on signal\n");

    while (tunnel.sessions) {
        s = tunnel.sessions;
        tunnel.sessions = s->next;
        rtmpq_close(s, 0);
        free(s);
    }

    close(tunnel.listen);
    ngx_live_quic_cred_free(&tunnel.quic);

    return 0;
}


/* what to wait for: the listener, then per session UDP, TCP, fallback */

static size_t
rtmpq_poll_set(rtmpq_tunnel_t *t, struct pollfd *fds, uint64_t *next)
{
    size_t            n;
    rtmpq_session_t  *s;

    n = 0;
    fds[n].fd = t->listen;
    fds[n++].events = POLLIN;

    for (s = t->sessions; s; s = s->next) {
        fds[n].fd = s->udp;
        fds[n].events = POLLIN | (s->again ? POLLOUT : 0);
        n++;

        /*
         * up_len: bytes from the encoder not yet passed on (QUIC:
         * non-zero while the stream has no room); down_len: bytes
         * for the encoder that wait for it to read
         */

        fds[n].fd = s->tcp;
        fds[n].events = 0;

        if ((s->stream || (s->direct != -1 && !s->connecting))
            && !s->tcp_eof && s->up_len == 0)
        {
            fds[n].events |= POLLIN;
        }

        if (s->down_len) {
            fds[n].events |= POLLOUT;
        }

        n++;

        fds[n].fd = s->direct;
        fds[n].events = (s->connecting || s->up_len ? POLLOUT : 0)
                        | (s->down_len || s->shut_wr ? 0 : POLLIN);
        n++;

        if (s->timer_at && s->timer_at < *next) {
            *next = s->timer_at;
        }

        if (s->retry_at && s->retry_at < *next) {
            *next = s->retry_at;
        }
    }

    return n;
}


static void
rtmpq_log(rtmpq_session_t *s, const char *fmt, ...)
{
    va_list  args;

    if (s) {
        fprintf(stderr, "rtmpq-tunnel: #%u: ", s->id);

    } else {
        fprintf(stderr, "rtmpq-tunnel: ");
    }

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


static void
rtmpq_usage(void)
{
    fprintf(stderr,
        "usage: rtmpq-tunnel --listen ADDR:PORT [--cafile FILE | --insecure]\n"
        "                    [--fallback] [--retries N] [--cc ALGO]\n"
        "                    [--bind LOCAL-IP] [--alpn PROTO] URI\n"
        "  URI: rtmpq://host[:port]/app or "
        "rtmp://host[:port]/app?transport=quic\n"
        "  (UDP port 1935 by default; --fallback uses TCP on that port)\n");
}


static int
rtmpq_parse_args(rtmpq_tunnel_t *t, int argc, char **argv)
{
    int          i, insecure;
    char         err[256];
    const char  *listen, *cafile, *uri, *cc, *alpn;

    listen = cafile = uri = cc = alpn = NULL;
    insecure = 0;
    t->retries = 3;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen = argv[++i];

        } else if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc) {
            cafile = argv[++i];

        } else if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc) {
            alpn = argv[++i];

        } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            t->bind = argv[++i];

        } else if (strcmp(argv[i], "--insecure") == 0) {
            insecure = 1;

        } else if (strcmp(argv[i], "--fallback") == 0) {
            t->fallback = 1;

        } else if (strcmp(argv[i], "--retries") == 0 && i + 1 < argc) {
            t->retries = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--cc") == 0 && i + 1 < argc) {
            cc = argv[++i];

        } else if (argv[i][0] != '-' && uri == NULL) {
            uri = argv[i];

        } else {
            fprintf(stderr, "rtmpq-tunnel: unknown argument \"%s\"\n",
                    argv[i]);
            return -1;
        }
    }

    if (listen == NULL || uri == NULL || t->retries < 1) {
        return -1;
    }

    if (cafile && insecure) {
        /* a CA file given means verification is wanted: never skip it */
        fprintf(stderr, "rtmpq-tunnel: --cafile and --insecure "
                "exclude each other\n");
        return -1;
    }

    if (ngx_live_quic_parse_uri(uri, t->host, sizeof(t->host), &t->port,
                                t->path, sizeof(t->path))
        != 0)
    {
        fprintf(stderr, "rtmpq-tunnel: \"%s\" is no rtmpq:// URI nor "
                "rtmp://...?transport=quic\n", uri);
        return -1;
    }

    ngx_live_quic_conf_init(&t->quic, 0);
    t->quic.sni = t->host;
    t->quic.alpn = alpn;

    t->quic.handshake_timeout = 5000;

    if (cc) {
        if (strcmp(cc, "cubic") == 0) {
            t->quic.cc = ngx_live_quic_cc_cubic;

        } else if (strcmp(cc, "reno") == 0) {
            t->quic.cc = ngx_live_quic_cc_reno;

        } else if (strcmp(cc, "bbr") == 0) {
            t->quic.cc = ngx_live_quic_cc_bbr;

        } else if (strcmp(cc, "bbr2") == 0) {
            t->quic.cc = ngx_live_quic_cc_bbr2;

        } else {
            fprintf(stderr, "rtmpq-tunnel: unknown --cc \"%s\"\n", cc);
            return -1;
        }
    }

    if (ngx_live_quic_client_cred(&t->quic, cafile, insecure, err,
                                  sizeof(err))
        != 0)
    {
        fprintf(stderr, "rtmpq-tunnel: certificates: %s\n", err);
        return -1;
    }

    t->listen = rtmpq_listen(listen);

    return t->listen == -1 ? -1 : 0;
}


static int
rtmpq_listen(const char *addr)
{
    int                 fd, one;
    char                host[64];
    const char         *colon;
    struct sockaddr_in  sin;

    colon = strrchr(addr, ':');

    if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
        fprintf(stderr, "rtmpq-tunnel: --listen wants IPv4:PORT\n");
        return -1;
    }

    memcpy(host, addr, colon - addr);
    host[colon - addr] = '\0';

    memset(&sin, 0, sizeof(struct sockaddr_in));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(atoi(colon + 1));

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || sin.sin_port == 0) {
        fprintf(stderr, "rtmpq-tunnel: --listen wants IPv4:PORT\n");
        return -1;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        perror("rtmpq-tunnel: socket");
        return -1;
    }

    one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(int));

    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || listen(fd, 64) == -1)
    {
        fprintf(stderr, "rtmpq-tunnel: cannot listen on %s: %s\n", addr,
                strerror(errno));
        close(fd);
        return -1;
    }

    return fd;
}


/* the name is looked up for every connection: a moved server is found */

static int
rtmpq_resolve(rtmpq_tunnel_t *t, int type, struct sockaddr_storage *sa,
    socklen_t *len)
{
    int               rc;
    char              port[8];
    struct addrinfo   hints, *res;

    memset(&hints, 0, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;

    snprintf(port, sizeof(port), "%u", t->port);

    rc = getaddrinfo(t->host, port, &hints, &res);
    if (rc != 0) {
        rtmpq_log(NULL, "cannot resolve \"%s\": %s", t->host,
                  gai_strerror(rc));
        return -1;
    }

    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);

    return 0;
}


static uint64_t
rtmpq_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
rtmpq_accept(rtmpq_tunnel_t *t)
{
    int               fd, one;
    rtmpq_session_t  *s;

    for ( ;; ) {
        fd = accept4(t->listen, NULL, NULL, SOCK_NONBLOCK);
        if (fd == -1) {
            return;
        }

        if (t->nsessions == RTMPQ_MAX_SESSIONS) {
            rtmpq_log(NULL, "%d connections already, refused",
                      RTMPQ_MAX_SESSIONS);
            close(fd);
            continue;
        }

        s = calloc(1, sizeof(rtmpq_session_t));
        if (s == NULL) {
            close(fd);
            continue;
        }

        one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));

        s->tunnel = t;
        s->id = ++t->serial;
        s->tcp = fd;
        s->udp = -1;
        s->direct = -1;
        s->next = t->sessions;
        t->sessions = s;
        t->nsessions++;

        rtmpq_log(s, "accepted");

        if (rtmpq_connect(s) != 0) {
            rtmpq_failed(s, "cannot start a QUIC connection");
        }
    }
}


static int
rtmpq_connect(rtmpq_session_t *s)
{
    int                       rc;
    socklen_t                 rlen, llen;
    const char               *reason;
    rtmpq_tunnel_t           *t;
    struct sockaddr_storage   remote, local;

    t = s->tunnel;
    s->attempts++;

    if (rtmpq_resolve(t, SOCK_DGRAM, &remote, &rlen) != 0) {
        return -1;
    }

    s->udp = socket(remote.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s->udp == -1) {
        return -1;
    }

    if (t->bind) {
        memset(&local, 0, sizeof(local));
        local.ss_family = remote.ss_family;

        if (remote.ss_family == AF_INET) {
            llen = sizeof(struct sockaddr_in);
            rc = inet_pton(AF_INET, t->bind,
                           &((struct sockaddr_in *) &local)->sin_addr);

        } else {
            llen = sizeof(struct sockaddr_in6);
            rc = inet_pton(AF_INET6, t->bind,
                           &((struct sockaddr_in6 *) &local)->sin6_addr);
        }

        if (rc != 1 || bind(s->udp, (struct sockaddr *) &local, llen) == -1)
        {
            rtmpq_log(s, "cannot bind to \"%s\"", t->bind);
            return -1;
        }
    }

    llen = sizeof(local);

    if (connect(s->udp, (struct sockaddr *) &remote, rlen) == -1
        || getsockname(s->udp, (struct sockaddr *) &local, &llen) == -1)
    {
        return -1;
    }

    s->qc = ngx_live_quic_client_new(&t->quic, &rtmpq_handler, s,
                                     (struct sockaddr *) &local, llen,
                                     (struct sockaddr *) &remote, rlen,
                                     &reason);
    if (s->qc == NULL) {
        rtmpq_log(s, "QUIC: %s", reason);
        return -1;
    }

    rtmpq_log(s, "QUIC connecting to %s port %u (attempt %u)", t->host,
              t->port, s->attempts);

    rtmpq_schedule(s, ngx_live_quic_flush(s->qc));

    return 0;
}


/* no QUIC connection: again later, or over TCP, or give up */

static void
rtmpq_failed(rtmpq_session_t *s, const char *why)
{
    rtmpq_tunnel_t  *t;

    t = s->tunnel;

    rtmpq_log(s, "QUIC connection failed: %s", why);
    rtmpq_quic_free(s);

    if (s->attempts < t->retries) {
        s->retry_at = rtmpq_now() + (250 << (s->attempts - 1));
        return;
    }

    if (t->fallback && rtmpq_direct(s) == 0) {
        return;
    }

    rtmpq_close(s, 1);
}


static int
rtmpq_direct(rtmpq_session_t *s)
{
    socklen_t                len;
    struct sockaddr_storage  sa;

    if (rtmpq_resolve(s->tunnel, SOCK_STREAM, &sa, &len) != 0) {
        return -1;
    }

    s->direct = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->direct == -1) {
        return -1;
    }

    if (connect(s->direct, (struct sockaddr *) &sa, len) == -1
        && errno != EINPROGRESS)
    {
        rtmpq_log(s, "TCP fallback: connect: %s", strerror(errno));
        close(s->direct);
        s->direct = -1;
        return -1;
    }

    s->connecting = 1;
    rtmpq_log(s, "falling back to RTMP over TCP, port %u", s->tunnel->port);

    return 0;
}


static void
rtmpq_pump(rtmpq_session_t *s, short udp, short tcp, short direct)
{
    if (s->done) {
        return;
    }

    if (s->direct != -1) {
        rtmpq_pump_direct(s, direct);
        return;
    }

    if (s->qc) {
        rtmpq_pump_quic(s, udp);
    }
}


static void
rtmpq_pump_quic(rtmpq_session_t *s, short udp)
{
    int       rc;
    ssize_t   n;
    uint8_t   pkt[65536];

    rc = NGX_LIVE_QUIC_OK;

    if (udp & (POLLIN | POLLERR)) {
        for ( ;; ) {
            n = recv(s->udp, pkt, sizeof(pkt), 0);

            if (n == -1) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }

                /* ICMP unreachable: nobody serves QUIC there */
                if (!s->established) {
                    rtmpq_failed(s, strerror(errno));
                    return;
                }

                break;
            }

            rc = ngx_live_quic_read(s->qc, pkt, n);
            if (rc != NGX_LIVE_QUIC_OK) {
                break;
            }
        }
    }

    if (udp & POLLOUT) {
        s->again = 0;
    }

    if (rc == NGX_LIVE_QUIC_OK && s->timer_at && s->timer_at <= rtmpq_now())
    {
        s->timer_at = 0;
        rc = ngx_live_quic_expire(s->qc);
    }

    if (rc == NGX_LIVE_QUIC_OK && s->stream) {
        if (rtmpq_to_tcp(s) != 0 || rtmpq_from_tcp(s) != 0) {
            rtmpq_log(s, "encoder connection failed: %s", strerror(errno));
            /* RESET_STREAM first, so the server knows why */
            ngx_live_quic_stream_reset(s->qc, s->stream,
                                       NGX_LIVE_QUIC_APP_BACKEND);
            (void) ngx_live_quic_flush(s->qc);
            ngx_live_quic_close(s->qc, NGX_LIVE_QUIC_APP_BACKEND,
                                "encoder connection failed");
            rtmpq_close(s, 1);
            return;
        }
    }

    if (s->tcp == -1 && s->qc) {
        /* the stream ended in a callback: say goodbye to the server */
        ngx_live_quic_close(s->qc, NGX_LIVE_QUIC_APP_NO_ERROR, "done");
        rtmpq_close(s, 0);
        return;
    }

    if (rc == NGX_LIVE_QUIC_OK) {
        rc = ngx_live_quic_flush(s->qc);
    }

    rtmpq_schedule(s, rc);
}


static void
rtmpq_schedule(rtmpq_session_t *s, int rc)
{
    int64_t  ms;

    if (rc == NGX_LIVE_QUIC_AGAIN) {
        s->again = 1;

    } else if (rc != NGX_LIVE_QUIC_OK) {
        if (!s->established) {
            rtmpq_failed(s, ngx_live_quic_reason(s->qc));
            return;
        }

        rtmpq_log(s, "QUIC connection lost: %s", ngx_live_quic_reason(s->qc));
        rtmpq_close(s, 1);
        return;
    }

    ms = ngx_live_quic_timeout(s->qc);
    s->timer_at = ms < 0 ? 0 : rtmpq_now() + ms;
}


/* QUIC stream -> encoder */

static int
rtmpq_to_tcp(rtmpq_session_t *s)
{
    size_t          len;
    ssize_t         n;
    const uint8_t  *p;

    s->down_len = 0;

    while (s->stream) {
        len = ngx_live_quic_stream_peek(s->stream, &p);

        if (len == 0) {
            if (ngx_live_quic_stream_eof(s->stream) && !s->shut_wr) {
                s->shut_wr = 1;
                shutdown(s->tcp, SHUT_WR);
            }

            return 0;
        }

        n = send(s->tcp, p, len, 0);

        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->down_len = len;
                return 0;
            }

            return -1;
        }

        ngx_live_quic_stream_consume(s->qc, s->stream, n);
    }

    return 0;
}


/* encoder -> QUIC stream, as far as the send buffer takes */

static int
rtmpq_from_tcp(rtmpq_session_t *s)
{
    size_t   room;
    ssize_t  n;
    uint8_t  buf[RTMPQ_BUFFER];

    s->up_len = RTMPQ_BUFFER;

    while (s->stream && !s->tcp_eof) {
        room = ngx_live_quic_stream_room(s->qc, s->stream);
        if (room == 0) {
            return 0;
        }

        n = recv(s->tcp, buf, room < sizeof(buf) ? room : sizeof(buf), 0);

        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->up_len = 0;
                return 0;
            }

            return -1;
        }

        if (n == 0) {
            s->tcp_eof = 1;
            ngx_live_quic_stream_finish(s->qc, s->stream);
            return 0;
        }

        ngx_live_quic_stream_write(s->qc, s->stream, buf, n);
    }

    return 0;
}


/* plain TCP both ways, when QUIC cannot be had: one step per event */

static void
rtmpq_pump_direct(rtmpq_session_t *s, short ev)
{
    int        err;
    ssize_t    n;
    socklen_t  len;

    if (s->connecting) {
        if (!(ev & (POLLOUT | POLLERR | POLLHUP))) {
            return;
        }

        err = 0;
        len = sizeof(int);

        if (getsockopt(s->direct, SOL_SOCKET, SO_ERROR, &err, &len) == -1
            || err)
        {
            rtmpq_log(s, "TCP fallback failed: %s", strerror(err));
            rtmpq_close(s, 1);
            return;
        }

        s->connecting = 0;
        rtmpq_log(s, "carried over TCP");
    }

    if (s->up_len == 0 && !s->tcp_eof) {
        n = recv(s->tcp, s->up, sizeof(s->up), 0);

        if (n == 0) {
            s->tcp_eof = 1;
            shutdown(s->direct, SHUT_WR);

        } else if (n > 0) {
            s->up_len = n;

        } else if (errno != EAGAIN) {
            goto failed;
        }
    }

    if (s->up_len) {
        n = send(s->direct, s->up, s->up_len, 0);

        if (n > 0) {
            memmove(s->up, s->up + n, s->up_len - n);
            s->up_len -= n;

        } else if (errno != EAGAIN) {
            goto failed;
        }
    }

    if (s->down_len == 0 && !s->shut_wr) {
        n = recv(s->direct, s->down, sizeof(s->down), 0);

        if (n == 0) {
            s->shut_wr = 1;
            shutdown(s->tcp, SHUT_WR);

        } else if (n > 0) {
            s->down_len = n;

        } else if (errno != EAGAIN) {
            goto failed;
        }
    }

    if (s->down_len) {
        n = send(s->tcp, s->down, s->down_len, 0);

        if (n > 0) {
            memmove(s->down, s->down + n, s->down_len - n);
            s->down_len -= n;

        } else if (errno != EAGAIN) {
            goto failed;
        }
    }

    if (s->tcp_eof && s->shut_wr && !s->up_len && !s->down_len) {
        rtmpq_close(s, 0);
    }

    return;

failed:

    rtmpq_log(s, "TCP relay failed: %s", strerror(errno));
    rtmpq_close(s, 1);
}


static void
rtmpq_close(rtmpq_session_t *s, int reset)
{
    struct linger  l;

    if (s->tcp != -1) {
        if (reset) {
            /* a reset tells the encoder at once that the session is gone */
            l.l_onoff = 1;
            l.l_linger = 0;
            setsockopt(s->tcp, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }

        close(s->tcp);
        s->tcp = -1;
    }

    if (s->qc) {
        ngx_live_quic_close(s->qc, NGX_LIVE_QUIC_APP_NO_ERROR, "tunnel done");
        rtmpq_quic_free(s);
    }

    if (s->direct != -1) {
        close(s->direct);
        s->direct = -1;
    }

    s->retry_at = 0;
    s->timer_at = 0;
    s->done = 1;
}


static void
rtmpq_quic_free(rtmpq_session_t *s)
{
    if (s->qc) {
        ngx_live_quic_free(s->qc);
        s->qc = NULL;
    }

    s->stream = NULL;
    s->again = 0;
    s->timer_at = 0;

    if (s->udp != -1) {
        close(s->udp);
        s->udp = -1;
    }
}


/* QUIC callbacks */

static int
rtmpq_stream_open(ngx_live_quic_conn_t *qc, ngx_live_quic_stream_t *st)
{
    rtmpq_session_t  *s = ngx_live_quic_data(qc);

    rtmpq_log(s, "the server opened a stream: refused");

    return -1;
}


static void
rtmpq_stream_nop(ngx_live_quic_conn_t *qc, ngx_live_quic_stream_t *st)
{
    /* rtmpq_pump_quic() moves the data after every event */
}


static void
rtmpq_stream_reset(ngx_live_quic_conn_t *qc, ngx_live_quic_stream_t *st,
    uint64_t code)
{
    rtmpq_session_t  *s = ngx_live_quic_data(qc);
    struct linger     l;

    rtmpq_log(s, "the server reset the stream (code %llu)",
              (unsigned long long) code);

    if (s->tcp != -1) {
        l.l_onoff = 1;
        l.l_linger = 0;
        setsockopt(s->tcp, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        close(s->tcp);
        s->tcp = -1;
    }

    s->stream = NULL;
}


static void
rtmpq_stream_close(ngx_live_quic_conn_t *qc, ngx_live_quic_stream_t *st)
{
    rtmpq_session_t  *s = ngx_live_quic_data(qc);

    s->stream = NULL;

    if (s->tcp != -1) {
        close(s->tcp);
        s->tcp = -1;
    }
}


static void
rtmpq_handshake_done(ngx_live_quic_conn_t *qc)
{
    rtmpq_session_t  *s = ngx_live_quic_data(qc);

    s->established = 1;
    s->stream = ngx_live_quic_stream_open(qc);

    if (s->stream == NULL) {
        rtmpq_log(s, "the server allows no stream");
        return;
    }

    rtmpq_log(s, "QUIC connected, stream %lld",
              (long long) ngx_live_quic_stream_id(s->stream));
}


static ssize_t
rtmpq_send(ngx_live_quic_conn_t *qc, const uint8_t *pkt, size_t len)
{
    rtmpq_session_t  *s = ngx_live_quic_data(qc);

    return send(s->udp, pkt, len, 0);
}
