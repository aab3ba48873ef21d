/*
 * moat-oci-front: moat-runtime's `create` without Node (the fast path; issue 18).
 *
 *   moat-oci-front NODE_ENTRY [runc's global flags] create [create flags] ID
 *
 * bin/moat-runtime (the /bin/sh front door) runs this for `create`. When moat-runtime's
 * configuration (found as src/oci/config.ts finds it: $MOAT_OCI_CONFIG, else
 * $XDG_CONFIG_HOME/moat/oci.json, else $HOME/.config/moat/oci.json) names a running
 * `moat system service` ("service": SOCKET), the service reads the bundle, decides `oci.create`
 * with moat's policy and writes <bundle>/.moat-runtime/config.json (POST /v1/oci/create-bundle,
 * src/oci/bundle-route.ts); this program appends the decision lines to the caller's logs and
 * execs runc with the caller's flags and --bundle=<bundle>/.moat-runtime, so runc is the
 * caller's child with the caller's fds (console socket, --preserve-fds), as if called directly.
 *
 * Never looser than the Node program (bin/moat-runtime.js), which parses strictly: anything this
 * program does not fully understand -- a flag or form it does not know, an ID runc would refuse,
 * a configuration that is missing, names no service or is not in the small strict JSON subset
 * read here, a path it would have to escape -- is handed to the Node program (exec), which
 * validates everything and fails closed. Once the configuration names a service, the service
 * decides: a service that cannot be reached, refuses, or answers anything but a well-formed
 * answer fails the create (runc's log format: the error line in --log, the message on stderr);
 * there is no fallback to deciding in-process.
 *
 * Every read is bounded: the configuration at 64 KiB (as config.ts), the service's answer at
 * 1 MiB (headers at 8 KiB), its strings decoded within that buffer, nesting at 32 levels.
 *
 * A create that runc fails (after the exec) leaves <bundle>/.moat-runtime behind: it holds the
 * hardened copy of the caller's own spec (0600 in a 0700 directory), inside the caller's bundle,
 * which the caller removes with the container; the next create of that bundle replaces it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIG_BYTES (64 << 10)
#define MAX_HEADER_BYTES (8 << 10)
#define MAX_ANSWER_BYTES (1 << 20)
#define MAX_MESSAGE_BYTES 4096
#define MAX_DEPTH 32
#define MAX_CAPS 64
#define MAX_FLAGS 16
#define TIMEOUT_MS 30000
#define BUNDLE_DIR "/.moat-runtime"

static char **g_argv;       /* the runtime arguments (after NODE_ENTRY) */
static int g_argc;
static const char *g_entry; /* bin/moat-runtime.js */

/* ---- hand-off to the Node program ---------------------------------------------------------- */

static void node_program(void) __attribute__((noreturn));
static void node_program(void)
{
	char **av = calloc((size_t)g_argc + 3, sizeof(char *));
	if (!av) {
		fputs("moat-runtime: out of memory\n", stderr);
		_exit(1);
	}
	av[0] = "node";
	av[1] = (char *)g_entry;
	for (int i = 0; i < g_argc; i++)
		av[i + 2] = g_argv[i];
	execvp("node", av);
	fprintf(stderr, "moat-runtime: cannot start node: %s\n", strerror(errno));
	_exit(1);
}

/* ---- runc's command line (the subset taken here) ------------------------------------------- */

struct flag {
	const char *name;  /* canonical */
	const char *value; /* NULL: a boolean set */
};

struct inv {
	struct flag global[MAX_FLAGS];
	int nglobal;
	struct flag create[MAX_FLAGS];
	int ncreate;
	const char *id;
	const char *bundle; /* --bundle, else "." */
	const char *log;
	const char *log_format; /* "text" or "json" */
	int debug;
};

struct def {
	const char *name;
	const char *alias;
	int takes_value;
};

static const struct def GLOBALS[] = {
	{"root", NULL, 1},	{"log", NULL, 1},      {"log-format", NULL, 1}, {"rootless", NULL, 1},
	{"criu", NULL, 1},	{"debug", NULL, 0},    {"systemd-cgroup", NULL, 0}, {NULL, NULL, 0},
};

static const struct def CREATE[] = {
	{"bundle", "b", 1},	  {"console-socket", NULL, 1}, {"pid-file", NULL, 1},
	{"preserve-fds", NULL, 1}, {"no-pivot", NULL, 0},      {"no-new-keyring", NULL, 0},
	{NULL, NULL, 0},
};

static const struct def *lookup(const struct def *t, const char *name, size_t n)
{
	for (; t->name; t++) {
		if (strlen(t->name) == n && !strncmp(t->name, name, n))
			return t;
		if (t->alias && strlen(t->alias) == n && !strncmp(t->alias, name, n))
			return t;
	}
	return NULL;
}

/*
 * One flag at args[*i] into out[*n]; anything unusual (unknown, `=value` on a boolean, a missing
 * value, a repeated flag, bad syntax) hands off to the Node program.
 */
static void take_flag(const struct def *table, struct flag *out, int *n, int *i)
{
	const char *t = g_argv[*i];
	const char *body = t[1] == '-' ? t + 2 : t + 1;
	if (!*body || *body == '-' || *body == '=')
		node_program();
	const char *eq = strchr(body, '=');
	size_t len = eq ? (size_t)(eq - body) : strlen(body);
	const struct def *d = lookup(table, body, len);
	if (!d)
		node_program();
	const char *value = NULL;
	if (d->takes_value) {
		if (eq)
			value = eq + 1;
		else if (*i + 1 < g_argc)
			value = g_argv[++*i];
		else
			node_program();
	} else if (eq) {
		node_program();
	}
	for (int k = 0; k < *n; k++)
		if (!strcmp(out[k].name, d->name))
			node_program();
	if (*n >= MAX_FLAGS)
		node_program();
	out[*n].name = d->name;
	out[*n].value = value;
	++*n;
}

/* runc 1.1's ID check (argv.ts validateId): ^[\w+,\-.]+$, not . or .., no leading -, <= 1024. */
static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || id[0] == '-' || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (const char *p = id; *p; p++)
		if (!(isascii((unsigned char)*p) && (isalnum((unsigned char)*p) || strchr("_+,-.", *p))))
			return 0;
	return 1;
}

static void parse(struct inv *v)
{
	int i = 0;
	for (; i < g_argc; i++) {
		const char *t = g_argv[i];
		if (t[0] != '-' || !strcmp(t, "-"))
			break;
		if (!strcmp(t, "--"))
			node_program();
		take_flag(GLOBALS, v->global, &v->nglobal, &i);
	}
	if (i >= g_argc || strcmp(g_argv[i], "create"))
		node_program();
	int npos = 0;
	for (i++; i < g_argc; i++) {
		const char *t = g_argv[i];
		if (t[0] != '-' || !strcmp(t, "-")) {
			if (npos++)
				node_program();
			v->id = t;
			continue;
		}
		if (!strcmp(t, "--"))
			node_program();
		take_flag(CREATE, v->create, &v->ncreate, &i);
	}
	if (npos != 1 || !valid_id(v->id))
		node_program();
	v->bundle = ".";
	v->log_format = "text";
	for (int k = 0; k < v->nglobal; k++) {
		const struct flag *f = &v->global[k];
		if (!strcmp(f->name, "log"))
			v->log = f->value;
		else if (!strcmp(f->name, "log-format"))
			v->log_format = f->value;
		else if (!strcmp(f->name, "debug"))
			v->debug = 1;
		else if (!strcmp(f->name, "systemd-cgroup")) {
			/* Refused by the Node program where systemd is not running. */
			struct stat st;
			if (stat("/run/systemd/system", &st) || !S_ISDIR(st.st_mode))
				node_program();
		}
	}
	if (strcmp(v->log_format, "text") && strcmp(v->log_format, "json"))
		node_program();
	for (int k = 0; k < v->ncreate; k++)
		if (!strcmp(v->create[k].name, "bundle"))
			v->bundle = v->create[k].value;
}

/* ---- runc's log lines (src/oci/log.ts) ------------------------------------------------------ */

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256);
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			fputs("moat-runtime: out of memory\n", stderr);
			_exit(1);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* JSON.stringify of a string of bytes (non-ASCII bytes as they are). */
static void put_json_string(struct buf *b, const char *s)
{
	puts_(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[8];
		switch (*p) {
		case '"': puts_(b, "\\\""); break;
		case '\\': puts_(b, "\\\\"); break;
		case '\b': puts_(b, "\\b"); break;
		case '\f': puts_(b, "\\f"); break;
		case '\n': puts_(b, "\\n"); break;
		case '\r': puts_(b, "\\r"); break;
		case '\t': puts_(b, "\\t"); break;
		default:
			if (*p < 0x20) {
				snprintf(e, sizeof e, "\\u%04x", *p);
				puts_(b, e);
			} else {
				put(b, (const char *)p, 1);
			}
		}
	}
	puts_(b, "\"");
}

/* logfmt's value: bare when /^[\w./:-]+$/, else JSON-quoted. */
static void put_logfmt(struct buf *b, const char *s)
{
	int bare = *s != 0;
	for (const char *p = s; *p && bare; p++)
		bare = isascii((unsigned char)*p) && (isalnum((unsigned char)*p) || strchr("_./:-", *p));
	if (bare)
		puts_(b, s);
	else
		put_json_string(b, s);
}

static void append_file(const char *file, const char *text, size_t n)
{
	int fd = file ? open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644) : -1;
	int out = fd >= 0 ? fd : 2; /* an unwritable log: stderr, as logrus falls back */
	while (n > 0) {
		ssize_t w = write(out, text, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		text += w;
		n -= (size_t)w;
	}
	if (fd >= 0)
		close(fd);
}

/* runc's fatal(): the error line to --log (stderr without one), its message alone on stderr. */
static void fatal(const struct inv *v, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fatal(const struct inv *v, const char *fmt, ...)
{
	char msg[MAX_MESSAGE_BYTES + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct buf b = {0};
	if (v && !strcmp(v->log_format, "json")) {
		puts_(&b, "{\"level\":\"error\",\"msg\":");
		put_json_string(&b, msg);
		puts_(&b, ",\"time\":\"");
		puts_(&b, when);
		puts_(&b, "\"}\n");
	} else {
		puts_(&b, "time=\"");
		puts_(&b, when);
		puts_(&b, "\" level=error msg=");
		put_logfmt(&b, msg);
		puts_(&b, "\n");
	}
	append_file(v ? v->log : NULL, b.p, b.n);
	/* The message alone on stderr, its control characters shown as '?'. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "%s\n", msg);
	exit(1);
}

/* ---- oci.json, in a strict subset of JSON ------------------------------------------------- */

struct config {
	const char *mode;
	const char *caps[MAX_CAPS];
	int ncaps;
	int have_caps;
	const char *pids; /* digits */
	const char *service;
};

struct cur {
	char *p, *end;
};

static void ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* A string of printable ASCII without escapes, terminated in place; NULL: not one. */
static const char *simple_string(struct cur *c)
{
	if (c->p >= c->end || *c->p != '"')
		return NULL;
	char *s = ++c->p;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return NULL;
		c->p++;
	}
	if (c->p >= c->end)
		return NULL;
	*c->p++ = 0;
	return s;
}

static int cap_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '_'))
			return 0;
	return 1;
}

/* 1: parsed into cfg; 0: not understood here (the Node program decides what it is). */
static int parse_config(char *text, size_t n, struct config *cfg)
{
	struct cur c = {text, text + n};
	int seen[4] = {0};
	ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return 0;
	ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			ws(&c);
			const char *key = simple_string(&c);
			if (!key)
				return 0;
			ws(&c);
			if (c.p >= c.end || *c.p++ != ':')
				return 0;
			ws(&c);
			int k = !strcmp(key, "mode")           ? 0
				: !strcmp(key, "capabilities") ? 1
				: !strcmp(key, "pidsLimit")    ? 2
				: !strcmp(key, "service")      ? 3
							       : -1;
			if (k < 0 || seen[k]++)
				return 0;
			if (k == 0) {
				cfg->mode = simple_string(&c);
				if (!cfg->mode || (strcmp(cfg->mode, "enforce") && strcmp(cfg->mode, "audit") &&
						   strcmp(cfg->mode, "off")))
					return 0;
			} else if (k == 1) {
				cfg->have_caps = 1;
				if (c.p >= c.end || *c.p++ != '[')
					return 0;
				ws(&c);
				if (c.p < c.end && *c.p == ']') {
					c.p++;
				} else {
					for (;;) {
						ws(&c);
						const char *s = simple_string(&c);
						if (!s || !cap_name(s) || cfg->ncaps >= MAX_CAPS)
							return 0;
						cfg->caps[cfg->ncaps++] = s;
						ws(&c);
						if (c.p < c.end && *c.p == ',') {
							c.p++;
							continue;
						}
						if (c.p < c.end && *c.p == ']') {
							c.p++;
							break;
						}
						return 0;
					}
				}
			} else if (k == 2) {
				char *d = c.p;
				while (c.p < c.end && *c.p >= '0' && *c.p <= '9')
					c.p++;
				size_t len = (size_t)(c.p - d);
				if (len == 0 || len > 15 || (len > 1 && *d == '0'))
					return 0;
				/* Terminated below, after the delimiter is checked. */
				cfg->pids = d;
			} else {
				cfg->service = simple_string(&c);
				if (!cfg->service || cfg->service[0] != '/' ||
				    strlen(cfg->service) >= sizeof(((struct sockaddr_un *)0)->sun_path))
					return 0;
			}
			char *after = c.p;
			ws(&c);
			if (c.p >= c.end)
				return 0;
			char delim = *c.p++;
			if (k == 2)
				*after = 0; /* the digits' end: whitespace or the delimiter, now read */
			if (delim == '}')
				break;
			if (delim != ',')
				return 0;
		}
	}
	ws(&c);
	return c.p == c.end && cfg->service != NULL;
}

/* The configuration file as config.ts names it; NULL (with *none) when it cannot be named here. */
static int config_path(char *out, size_t n)
{
	const char *f = getenv("MOAT_OCI_CONFIG");
	if (f && *f)
		return snprintf(out, n, "%s", f) < (int)n;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *base;
	const char *sub;
	if (xdg && xdg[0] == '/') {
		base = xdg;
		sub = "/moat/oci.json";
	} else {
		base = getenv("HOME");
		sub = "/.config/moat/oci.json";
		if (!base || base[0] != '/')
			return 0; /* node's homedir() decides */
	}
	/* path.join normalises lexically; the kernel resolves: take only paths where they agree. */
	size_t len = strlen(base);
	while (len > 1 && base[len - 1] == '/')
		len--;
	for (size_t i = 0; i < len; i++)
		if (base[i] == '/' && (base[i + 1] == '/' || (base[i + 1] == '.' && (i + 2 >= len || base[i + 2] == '/' ||
									     (base[i + 2] == '.' && (i + 3 >= len || base[i + 3] == '/'))))))
			return 0;
	return snprintf(out, n, "%.*s%s", (int)len, base, sub) < (int)n;
}

static char config_text[MAX_CONFIG_BYTES + 1];

static void read_config(struct config *cfg)
{
	char file[PATH_MAX];
	if (!config_path(file, sizeof file))
		node_program();
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		node_program(); /* none: the defaults decide in-process; unreadable: the Node program says */
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		node_program();
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, config_text + n, sizeof config_text - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			node_program();
		if (r == 0)
			break;
		n += (size_t)r;
		if (n >= sizeof config_text)
			node_program(); /* larger than 64 KiB: invalid, the Node program says so */
	}
	close(fd);
	if (!parse_config(config_text, n, cfg))
		node_program();
}

/* ---- the service's answer: a JSON object ---------------------------------------------------- */

/* Decode the JSON string at c->p in place (decoded is never longer); NULL if malformed. */
static char *json_string(struct cur *c)
{
	if (c->p >= c->end || *c->p != '"')
		return NULL;
	char *out = ++c->p, *w = out;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p++;
		if (ch == '"') {
			*w = 0;
			return out;
		}
		if (ch < 0x20)
			return NULL;
		if (ch != '\\') {
			*w++ = (char)ch;
			continue;
		}
		if (c->p >= c->end)
			return NULL;
		ch = (unsigned char)*c->p++;
		switch (ch) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned u = 0;
			for (int k = 0; k < 4; k++) {
				if (c->p >= c->end || !isxdigit((unsigned char)*c->p))
					return NULL;
				char h = *c->p++;
				u = u * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
			}
			if (u >= 0xd800 && u < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
				unsigned lo = 0;
				int ok = 1;
				for (int k = 2; k < 6; k++) {
					char h = c->p[k];
					if (!isxdigit((unsigned char)h)) {
						ok = 0;
						break;
					}
					lo = lo * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
				}
				if (ok && lo >= 0xdc00 && lo < 0xe000) {
					c->p += 6;
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				}
			}
			if (u == 0)
				return NULL; /* a NUL would cut the string short here: not taken */
			if (u >= 0xd800 && u < 0xe000)
				u = 0xfffd; /* a lone surrogate */
			if (u < 0x80) {
				*w++ = (char)u;
			} else if (u < 0x800) {
				*w++ = (char)(0xc0 | (u >> 6));
				*w++ = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				*w++ = (char)(0xe0 | (u >> 12));
				*w++ = (char)(0x80 | ((u >> 6) & 0x3f));
				*w++ = (char)(0x80 | (u & 0x3f));
			} else {
				*w++ = (char)(0xf0 | (u >> 18));
				*w++ = (char)(0x80 | ((u >> 12) & 0x3f));
				*w++ = (char)(0x80 | ((u >> 6) & 0x3f));
				*w++ = (char)(0x80 | (u & 0x3f));
			}
			break;
		}
		default:
			return NULL;
		}
	}
	return NULL;
}

/* Skip one JSON value; 0 if malformed or nested deeper than MAX_DEPTH. */
static int skip_value(struct cur *c, int depth)
{
	if (depth > MAX_DEPTH)
		return 0;
	ws(c);
	if (c->p >= c->end)
		return 0;
	char ch = *c->p;
	if (ch == '"')
		return json_string(c) != NULL;
	if (ch == '{' || ch == '[') {
		char close_ch = ch == '{' ? '}' : ']';
		c->p++;
		ws(c);
		if (c->p < c->end && *c->p == close_ch) {
			c->p++;
			return 1;
		}
		for (;;) {
			if (ch == '{') {
				ws(c);
				if (!json_string(c))
					return 0;
				ws(c);
				if (c->p >= c->end || *c->p++ != ':')
					return 0;
			}
			if (!skip_value(c, depth + 1))
				return 0;
			ws(c);
			if (c->p >= c->end)
				return 0;
			char d = *c->p++;
			if (d == close_ch)
				return 1;
			if (d != ',')
				return 0;
		}
	}
	static const char *const words[] = {"true", "false", "null"};
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(words[k]);
		if ((size_t)(c->end - c->p) >= n && !strncmp(c->p, words[k], n)) {
			c->p += n;
			return 1;
		}
	}
	/* A number: JSON's grammar, loosely (it is skipped, not read). */
	char *start = c->p;
	while (c->p < c->end && strchr("+-0123456789.eE", *c->p))
		c->p++;
	return c->p > start;
}

struct answer {
	const char *names[3];
	char *values[3];
};

/* The top-level string fields named in a->names; 0 if the body is not one JSON object. */
static int parse_answer(char *text, size_t n, struct answer *a)
{
	struct cur c = {text, text + n};
	ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return 0;
	ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			ws(&c);
			char *key = json_string(&c);
			if (!key)
				return 0;
			ws(&c);
			if (c.p >= c.end || *c.p++ != ':')
				return 0;
			ws(&c);
			int k = -1;
			for (int i = 0; i < 3; i++)
				if (a->names[i] && !strcmp(key, a->names[i]))
					k = i;
			if (k >= 0 && c.p < c.end && *c.p == '"') {
				if (a->values[k]) /* a repeated field: not a well-formed answer */
					return 0;
				if (!(a->values[k] = json_string(&c)))
					return 0;
			} else if (!skip_value(&c, 1)) {
				return 0;
			}
			ws(&c);
			if (c.p >= c.end)
				return 0;
			char d = *c.p++;
			if (d == '}')
				break;
			if (d != ',')
				return 0;
		}
	}
	ws(&c);
	return c.p == c.end;
}

/* ---- asking the service ------------------------------------------------------------------- */

static char answer_buf[MAX_HEADER_BYTES + MAX_ANSWER_BYTES + 1];

static const char *header_value(char *headers, const char *name)
{
	size_t n = strlen(name);
	for (char *line = strstr(headers, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/*
 * POST `body` to `path` on the unix socket; returns the HTTP status, with the body (terminated,
 * within answer_buf) in *out and its length in *outn. Fails the create on any transport error.
 */
static int ask(const struct inv *v, const char *socket_path, const char *path, const struct buf *body,
	       char **out, size_t *outn)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal(v, "moat-runtime: moat service at %s: socket: %s", socket_path, strerror(errno));
	/* Each connect, send and receive waits at most TIMEOUT_MS (as Node's request timeout). */
	struct timeval tv = {TIMEOUT_MS / 1000, 0};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv))
		fatal(v, "moat-runtime: moat service at %s: setsockopt: %s", socket_path, strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path); /* length checked when read */
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		if (errno != EINTR)
			fatal(v, "moat-runtime: moat service at %s: connect: %s", socket_path,
			      errno == EAGAIN || errno == EINPROGRESS ? "no connection within the timeout" : strerror(errno));
	struct buf req = {0};
	char head[256];
	snprintf(head, sizeof head,
		 "POST %s HTTP/1.1\r\nHost: moat\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 path, body->n);
	puts_(&req, head);
	put(&req, body->p, body->n);
	for (size_t off = 0; off < req.n;) {
		ssize_t w = send(fd, req.p + off, req.n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fatal(v, "moat-runtime: moat service at %s: send: %s", socket_path,
			      w < 0 && errno == EAGAIN ? "no answer within the timeout" : strerror(errno));
		off += (size_t)w;
	}
	free(req.p);
	size_t n = 0;
	char *end_of_headers = NULL;
	long long length = -1;
	int status = 0;
	for (;;) {
		if (end_of_headers && n >= (size_t)(end_of_headers - answer_buf) + (size_t)length)
			break;
		if (n >= sizeof answer_buf - 1)
			fatal(v, "moat-runtime: moat service at %s: answer larger than %d bytes", socket_path,
			      MAX_ANSWER_BYTES);
		ssize_t r = recv(fd, answer_buf + n, sizeof answer_buf - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fatal(v, "moat-runtime: moat service at %s: %s", socket_path,
			      errno == EAGAIN ? "no answer within the timeout" : strerror(errno));
		if (r == 0)
			fatal(v, "moat-runtime: moat service at %s: the answer was cut short", socket_path);
		n += (size_t)r;
		answer_buf[n] = 0;
		if (!end_of_headers) {
			char *e = memmem(answer_buf, n, "\r\n\r\n", 4);
			if (!e) {
				if (n > MAX_HEADER_BYTES)
					fatal(v, "moat-runtime: moat service at %s: headers larger than %d bytes", socket_path,
					      MAX_HEADER_BYTES);
				continue;
			}
			*e = 0; /* the headers as a string */
			if (e - answer_buf > MAX_HEADER_BYTES)
				fatal(v, "moat-runtime: moat service at %s: headers larger than %d bytes", socket_path,
				      MAX_HEADER_BYTES);
			if ((strncmp(answer_buf, "HTTP/1.1 ", 9) && strncmp(answer_buf, "HTTP/1.0 ", 9)) ||
			    !isdigit((unsigned char)answer_buf[9]) || !isdigit((unsigned char)answer_buf[10]) ||
			    !isdigit((unsigned char)answer_buf[11]) || (answer_buf[12] != ' ' && answer_buf[12] != '\r' && answer_buf[12]))
				fatal(v, "moat-runtime: moat service at %s: answered with something that is not HTTP", socket_path);
			status = (answer_buf[9] - '0') * 100 + (answer_buf[10] - '0') * 10 + (answer_buf[11] - '0');
			if (header_value(answer_buf, "transfer-encoding"))
				fatal(v, "moat-runtime: moat service at %s: answered without a content-length", socket_path);
			const char *cl = header_value(answer_buf, "content-length");
			if (!cl || !isdigit((unsigned char)*cl))
				fatal(v, "moat-runtime: moat service at %s: answered without a content-length", socket_path);
			char *stop;
			errno = 0;
			length = strtoll(cl, &stop, 10);
			if (errno || (*stop && *stop != '\r') || length > MAX_ANSWER_BYTES)
				fatal(v, "moat-runtime: moat service at %s: answer larger than %d bytes", socket_path,
				      MAX_ANSWER_BYTES);
			end_of_headers = e + 4;
		}
	}
	close(fd);
	if ((long long)(n - (size_t)(end_of_headers - answer_buf)) != length)
		fatal(v, "moat-runtime: moat service at %s: the answer is longer than its content-length", socket_path);
	*out = end_of_headers;
	*outn = (size_t)length;
	(*out)[*outn] = 0;
	return status;
}

/* ---- create ---------------------------------------------------------------------------------- */

static int plain(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: moat-oci-front NODE_ENTRY [runc's arguments...] (started by bin/moat-runtime)\n", stderr);
		return 1;
	}
	g_entry = argv[1];
	g_argv = argv + 2;
	g_argc = argc - 2;
	const char *nested = getenv("MOAT_RUNTIME_NESTED");
	if (nested && *nested)
		node_program(); /* the Node program reports it */
	static struct inv v;
	parse(&v);
	struct config cfg = {0};
	read_config(&cfg);

	char real[PATH_MAX];
	if (!realpath(v.bundle, real) || !plain(real) || strlen(real) + sizeof BUNDLE_DIR > sizeof real)
		node_program(); /* not found, or a path this program would have to escape */

	/* The request: the same settings the Node program sends (defaults are the route's). */
	struct buf body = {0};
	puts_(&body, "{\"id\":\"");
	puts_(&body, v.id);
	puts_(&body, "\",\"bundle\":\"");
	puts_(&body, real);
	puts_(&body, "\",\"logFormat\":\"");
	puts_(&body, v.log_format);
	puts_(&body, "\"");
	if (cfg.mode) {
		puts_(&body, ",\"mode\":\"");
		puts_(&body, cfg.mode);
		puts_(&body, "\"");
	}
	if (cfg.have_caps) {
		puts_(&body, ",\"capabilities\":[");
		for (int i = 0; i < cfg.ncaps; i++) {
			puts_(&body, i ? ",\"" : "\"");
			if (strncmp(cfg.caps[i], "CAP_", 4))
				puts_(&body, "CAP_");
			puts_(&body, cfg.caps[i]);
			puts_(&body, "\"");
		}
		puts_(&body, "]");
	}
	if (cfg.pids) {
		puts_(&body, ",\"pidsLimit\":");
		puts_(&body, cfg.pids);
	}
	puts_(&body, "}");

	char *answer;
	size_t answer_n;
	int status = ask(&v, cfg.service, "/v1/oci/create-bundle", &body, &answer, &answer_n);
	if (status != 200) {
		struct answer a = {{"message", NULL, NULL}, {NULL, NULL, NULL}};
		if (!parse_answer(answer, answer_n, &a) || !a.values[0])
			fatal(&v, "moat-runtime: moat service at %s: answered %d", cfg.service, status);
		/* A denial: "oci.create denied by ...: reasons" */
		fatal(&v, "moat-runtime: %.*s", MAX_MESSAGE_BYTES, a.values[0]);
	}
	struct answer a = {{"dir", "log", "decisions"}, {NULL, NULL, NULL}};
	if (!parse_answer(answer, answer_n, &a) || !a.values[0] || !a.values[1] || !a.values[2])
		fatal(&v, "moat-runtime: moat service at %s: answered with a result that is not an oci.create result",
		      cfg.service);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s%s", real, BUNDLE_DIR);
	if (strcmp(a.values[0], dir))
		fatal(&v, "moat-runtime: moat service at %s: wrote another bundle directory than %s", cfg.service, dir);

	/* The decision lines, where the Node program's decisionLog puts them. */
	const char *decisions = getenv("MOAT_OCI_LOG");
	if (decisions && *decisions)
		append_file(decisions, a.values[2], strlen(a.values[2]));
	if (v.log || v.debug)
		append_file(v.log, a.values[1], strlen(a.values[1]));

	/* runc [globals] create [flags but --bundle] --bundle=DIR ID */
	const char *runtime = getenv("MOAT_RUNTIME");
	if (!runtime || !*runtime)
		runtime = "runc";
	char **av = calloc((size_t)(v.nglobal + v.ncreate) + 5, sizeof(char *));
	if (!av)
		fatal(&v, "moat-runtime: out of memory");
	int k = 0;
	av[k++] = (char *)runtime;
	struct flag *sets[2] = {v.global, v.create};
	int counts[2] = {v.nglobal, v.ncreate};
	for (int s = 0; s < 2; s++) {
		if (s == 1)
			av[k++] = "create";
		for (int i = 0; i < counts[s]; i++) {
			const struct flag *f = &sets[s][i];
			if (!strcmp(f->name, "bundle") && s == 1)
				continue;
			char *arg;
			if ((f->value ? asprintf(&arg, "--%s=%s", f->name, f->value) : asprintf(&arg, "--%s", f->name)) < 0)
				fatal(&v, "moat-runtime: out of memory");
			av[k++] = arg;
		}
	}
	char *bundle_arg;
	if (asprintf(&bundle_arg, "--bundle=%s", dir) < 0)
		fatal(&v, "moat-runtime: out of memory");
	av[k++] = bundle_arg;
	av[k++] = (char *)v.id;
	av[k] = NULL;
	/* A runtime that is moat-runtime again would loop: the Node program refuses it. */
	setenv("MOAT_RUNTIME_NESTED", "1", 1);
	execvp(runtime, av);
	int err = errno;
	char cfgfile[PATH_MAX + 32];
	snprintf(cfgfile, sizeof cfgfile, "%s/config.json", dir);
	unlink(cfgfile);
	rmdir(dir);
	fatal(&v, "moat-runtime: cannot run the OCI runtime %s: %s", runtime, strerror(err));
}
