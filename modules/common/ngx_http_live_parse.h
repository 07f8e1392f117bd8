
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_PARSE_H_INCLUDED_
#define _NGX_HTTP_LIVE_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Shared helpers for the parsers of outside input.  Like the parsers, they
 * use nginx types and macros only, so that fuzz/ builds them without
 * linking nginx; hence no ngx_http.h here.
 *
 * The shared code is linked into every .so of the suite; nginx loads
 * modules with RTLD_GLOBAL, so these symbols are kept out of the dynamic
 * symbol table to avoid interposition between our modules.
 */

#if (__GNUC__ >= 4)
#define NGX_HTTP_LIVE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_LIVE_HIDDEN
#endif


NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_unescape(u_char *dst, size_t size, ngx_str_t *src);


#endif /* _NGX_HTTP_LIVE_PARSE_H_INCLUDED_ */
