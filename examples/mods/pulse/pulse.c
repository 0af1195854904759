/*
 * pulse: a mod for the modding example, written in plain C11 against wasi-libc.
 *
 * Every 30th `game.tick` it calls `game.set_background` with a dark colour whose hue
 * advances 24 degrees per pulse, so the arena's floor cycles through the colours
 * every half second. Its method `stats` answers
 * `{"pulses": <calls the host answered OK>, "last": [r, g, b]}`, and its count
 * survives a hot reload through the state of `plugin.shutdown` and `plugin.init`.
 *
 * It was written from docs/protocol.md alone. The mod is one event loop: it reads
 * stdin into a fixed buffer, splits it at '\n' and handles each line as it comes, so
 * answers to its own calls, game requests and events may arrive in any order and
 * several to a read. Its calls to the host are kept in a small table until answered.
 *
 * Everything is bounded: a line longer than MAX_LINE bytes is refused without being
 * stored, JSON nested deeper than MAX_DEPTH is refused, and the JSON scanner
 * below only validates and slices the line (no allocation, bounded recursion).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINE 65536   /* longest input line handled, without its '\n' */
#define MAX_DEPTH 64     /* deepest JSON nesting accepted */
#define MAX_PENDING 16   /* set_background calls waiting for their answer */
#define PULSE_EVERY 30   /* frames between pulses: half a second at 60 fps */
#define HUE_STEP 24      /* degrees the hue advances per pulse (divides 360) */
#define SATURATION 0.55f /* of the floor colour, 0..1 */
#define BRIGHTNESS 0.22f /* the HSV value: dark, so critters stay visible */

/* Keeps rarely taken code out of hot loops: wasmi charges fuel for all the operators
 * at a loop body's level on every turn, whichever branches the turn takes. */
#ifdef __GNUC__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define STRINGIFY(x) #x
#define TEXT(x) STRINGIFY(x) /* TEXT(MAX_LINE) is "65536" */

/* ------------------------------------------------------------------------------ */
/* JSON scanning: validate a line, then pick values out of it as spans of its text. */

/* The raw text [p, end) of one JSON value; p == NULL when absent. */
typedef struct {
    const char *p, *end;
} Span;

static const Span NONE = {NULL, NULL};

static bool too_deep; /* the last skip_value failed on nesting, not on syntax */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *skip_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The value of the 4 hex digits at p, or -1. */
static long hex4(const char *p) {
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The length (1 to 4) of the well-formed UTF-8 sequence at p, or 0. */
static int utf8_len(const unsigned char *p, const unsigned char *e) {
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    int n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (e - p < n || p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Skips the escape (p at its '\\') or the multi-byte UTF-8 sequence at p in a string:
 * the byte after it, or NULL if it is not valid. */
NOINLINE static const char *skip_special(const char *p, const char *e) {
    if (*p != '\\') {
        int n = utf8_len((const unsigned char *)p, (const unsigned char *)e);
        return n ? p + n : NULL;
    }
    if (++p >= e)
        return NULL;
    if (*p != 'u')
        return memchr("\"\\/bfnrt", *p, 8) ? p + 1 : NULL;
    /* \uXXXX: a surrogate must come as a high-low pair. */
    long u = e - p >= 5 ? hex4(p + 1) : -1;
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return NULL;
    p += 5;
    if (u >= 0xD800 && u <= 0xDBFF) {
        long low = e - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return NULL;
        p += 6;
    }
    return p;
}

/* Skips the string starting at the '"' at p; NULL if it is not valid JSON. */
static const char *skip_string(const char *p, const char *e) {
    for (p++; p < e;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c >= 0x20 && c < 0x80 && c != '\\')
            p++;
        else if (c < 0x20 || !(p = skip_special(p, e)))
            return NULL;
    }
    return NULL;
}

/* Skips a number (JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?). */
static const char *skip_number(const char *p, const char *e) {
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < e && is_digit(*p))
            p++;
    if (p < e && *p == '.') {
        if (++p >= e || !is_digit(*p))
            return NULL;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return NULL;
        while (p < e && is_digit(*p))
            p++;
    }
    return p;
}

static bool is_kind(Span s, char first) { return s.p && *s.p == first; }

/* Whether the raw text of s is exactly `text`. */
static bool span_is(Span s, const char *text) {
    size_t n = strlen(text);
    return s.p && (size_t)(s.end - s.p) == n && !memcmp(s.p, text, n);
}

/* Whether s is a string whose raw contents are `text` (names with escapes in them,
 * like "st\u0061ts", do not match; the host never writes those). */
static bool str_is(Span s, const char *text) {
    size_t n = strlen(text);
    return is_kind(s, '"') && (size_t)(s.end - s.p) == n + 2 && !memcmp(s.p + 1, text, n);
}

/* Whether s is an empty array or object. */
static bool is_empty(Span s) {
    return (is_kind(s, '[') || is_kind(s, '{')) && skip_ws(s.p + 1, s.end) == s.end - 1;
}

static const char *skip_value(const char *p, const char *e, int depth);

/* Scans the object at p (its '{', at nesting `depth`): the byte after it, or NULL if
 * it is not valid. On the way, out[i] gets the value of the first member named
 * names[i] (NONE if none): those before the error, when it is not valid. */
static const char *scan_object(const char *p, const char *e, int depth, int n,
                               const char *const names[], Span out[]) {
    for (int i = 0; i < n; i++)
        out[i] = NONE;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}')
        return p + 1;
    for (;;) {
        if (p >= e || *p != '"')
            return NULL;
        Span key = {p, skip_string(p, e)};
        if (!key.end || (p = skip_ws(key.end, e)) >= e || *p != ':')
            return NULL;
        p = skip_ws(p + 1, e);
        Span value = {p, skip_value(p, e, depth + 1)};
        if (!value.end)
            return NULL;
        for (int i = 0; i < n; i++)
            if (!out[i].p && str_is(key, names[i]))
                out[i] = value;
        p = skip_ws(value.end, e);
        if (p < e && *p == '}')
            return p + 1;
        if (p >= e || *p != ',')
            return NULL;
        p = skip_ws(p + 1, e);
    }
}

/* Scans the array at p like scan_object; *out gets its item number `want` (pass -1
 * and NULL for none). */
static const char *scan_array(const char *p, const char *e, int depth, int want,
                              Span *out) {
    if (out)
        *out = NONE;
    p = skip_ws(p + 1, e);
    if (p < e && *p == ']')
        return p + 1;
    for (int i = 0;; i++) {
        Span value = {p, skip_value(p, e, depth + 1)};
        if (!value.end)
            return NULL;
        if (i == want)
            *out = value;
        p = skip_ws(value.end, e);
        if (p < e && *p == ']')
            return p + 1;
        if (p >= e || *p != ',')
            return NULL;
        p = skip_ws(p + 1, e);
    }
}

/* Skips the JSON value at p (no leading whitespace); NULL if it is invalid or nested
 * deeper than MAX_DEPTH. The recursion is bounded by that depth. */
static const char *skip_value(const char *p, const char *e, int depth) {
    if (p >= e)
        return NULL;
    if ((*p == '{' || *p == '[') && depth >= MAX_DEPTH) {
        too_deep = true;
        return NULL;
    }
    switch (*p) {
    case '"':
        return skip_string(p, e);
    case '{':
        return scan_object(p, e, depth, 0, NULL, NULL);
    case '[':
        return scan_array(p, e, depth, -1, NULL);
    case 't':
        return e - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
    case 'f':
        return e - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
    case 'n':
        return e - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
    default:
        return skip_number(p, e);
    }
}

/* The value of member `name` of an object, or NONE. */
static Span member(Span obj, const char *name) {
    Span value = NONE;
    if (is_kind(obj, '{'))
        scan_object(obj.p, obj.end, 0, 1, &name, &value);
    return value;
}

/* Item number n of an array, or NONE. */
static Span item(Span array, int n) {
    Span value = NONE;
    if (is_kind(array, '['))
        scan_array(array.p, array.end, 0, n, &value);
    return value;
}

/* Parses the digits [p, end) (at least one, nothing else) into a number up to max. */
static bool parse_digits(const char *p, const char *end, uint64_t max, uint64_t *out) {
    uint64_t v = 0;
    if (p >= end)
        return false;
    for (; p < end; p++) {
        if (!is_digit(*p) || v > (max - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* Parses a non-negative integer that fits in 64 bits. */
static bool parse_u64(Span s, uint64_t *out) {
    return s.p && parse_digits(s.p, s.end, UINT64_MAX, out);
}

/* Parses an integer without fraction or exponent into [-2^63, 2^63 - 1]. */
static bool parse_i64(Span s, int64_t *out) {
    uint64_t v;
    bool minus = s.p && *s.p == '-';
    if (!s.p || !parse_digits(s.p + minus, s.end, (uint64_t)INT64_MAX + minus, &v))
        return false;
    *out = minus ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Parses a number into 0..1. */
static bool parse_unit(Span s, float *out) {
    char text[40];
    size_t n = s.p ? (size_t)(s.end - s.p) : 0;
    if (!s.p || !(*s.p == '-' || is_digit(*s.p)) || n >= sizeof text)
        return false;
    memcpy(text, s.p, n);
    text[n] = '\0';
    double v = strtod(text, NULL);
    if (!(v >= 0.0 && v <= 1.0))
        return false;
    *out = (float)v;
    return true;
}

/* An id the protocol allows: a string or a 64-bit integer. */
static bool valid_id(Span id) {
    int64_t n;
    return is_kind(id, '"') || parse_i64(id, &n);
}

/* ------------------------------------------------------------------------------ */
/* Output: each message is built in one buffer and written whole with its '\n'. */

static char out_buf[MAX_LINE + 512]; /* fits any answer, even one quoting a method */
static size_t out_len;
static bool out_overflow;

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done <= 0)
            return;
        p += done, n -= (size_t)done;
    }
}

/* One line on stderr, the mod's log. Lines may start with a level like "WARN ". */
static void log_line(const char *format, ...) {
    char line[640];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n] = '\n';
    write_all(2, line, (size_t)n + 1);
}

static void out_raw(const char *p, size_t n) {
    if (out_len + n > sizeof out_buf) {
        out_overflow = true;
        return;
    }
    memcpy(out_buf + out_len, p, n);
    out_len += n;
}

static void out_str(const char *s) { out_raw(s, strlen(s)); }

static void out_fmt(const char *format, ...) {
    char text[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof text)
        out_overflow = true;
    else
        out_raw(text, (size_t)n);
}

/* Ends the message and writes it to stdout (the host reads it when we next wait). */
static void out_send(void) {
    out_raw("\n", 1);
    if (out_overflow)
        log_line("ERROR pulse: a message did not fit in %zu bytes; it was dropped",
                 sizeof out_buf);
    else
        write_all(1, out_buf, out_len);
    out_len = 0;
    out_overflow = false;
}

/* Starts a response to the request with this id (NONE: id null). */
static void begin_response(Span id) {
    out_str("{\"jsonrpc\":\"2.0\",\"id\":");
    if (id.p)
        out_raw(id.p, (size_t)(id.end - id.p));
    else
        out_str("null");
}

/* Sends an error response; `quoted` is a string whose contents end the message. */
static void send_error(Span id, int code, const char *message, Span quoted) {
    begin_response(id);
    out_fmt(",\"error\":{\"code\":%d,\"message\":\"%s", code, message);
    if (quoted.p)
        out_raw(quoted.p + 1, (size_t)(quoted.end - quoted.p) - 2);
    out_str("\"}}");
    out_send();
}

/* ------------------------------------------------------------------------------ */
/* The mod. */

static uint64_t pulses;      /* set_background calls the host answered OK */
static float last[3];        /* the colour of the latest of them */
static int64_t last_id;      /* the id of that call (answers may come in any order) */
static uint64_t hue_index;   /* pulses sent, which picks the next hue */
static int64_t next_call_id = 1;
static bool warned_tick;     /* a bad game.tick was logged once already */

/* Our calls waiting for an answer, with the colour each asked for. */
static struct {
    bool used;
    int64_t id;
    float rgb[3];
} pending[MAX_PENDING];

/* HSV to RGB; hue in whole degrees 0..359. */
static void hsv_to_rgb(unsigned hue, float s, float v, float rgb[3]) {
    float f = (float)(hue % 60) / 60.0f;
    float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    float table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(rgb, table[(hue / 60) % 6], sizeof table[0]);
}

/* game.tick {"frame": u64, ...}: every PULSE_EVERY frames, ask for a new floor colour. */
static void on_tick(Span params) {
    uint64_t frame;
    if (!parse_u64(member(params, "frame"), &frame)) {
        if (!warned_tick)
            log_line("WARN pulse: ignoring game.tick events without a whole \"frame\"");
        warned_tick = true;
        return;
    }
    if (frame % PULSE_EVERY != 0)
        return;
    int slot = 0;
    while (slot < MAX_PENDING && pending[slot].used)
        slot++;
    if (slot == MAX_PENDING) {
        log_line("WARN pulse: %d calls are still unanswered; skipping a pulse", MAX_PENDING);
        return;
    }
    float *rgb = pending[slot].rgb;
    hsv_to_rgb((unsigned)(hue_index++ % (360 / HUE_STEP)) * HUE_STEP, SATURATION, BRIGHTNESS,
               rgb);
    pending[slot].used = true;
    pending[slot].id = next_call_id++;
    out_fmt("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"game.set_background\",",
            (long long)pending[slot].id);
    out_fmt("\"params\":{\"r\":%.4f,\"g\":%.4f,\"b\":%.4f}}", rgb[0], rgb[1], rgb[2]);
    out_send();
}

/* An answer to one of our calls (or an error the host reports with id null). */
static void on_response(Span id, Span error) {
    int64_t n = 0;
    int slot = -1;
    if (parse_i64(id, &n))
        for (int i = 0; i < MAX_PENDING; i++)
            if (pending[i].used && pending[i].id == n)
                slot = i;
    if (error.p) { /* log it as "... failed: <message> (<code>)" */
        Span message = member(error, "message"), code = member(error, "code");
        const char *text = is_kind(message, '"') ? message.p + 1 : "";
        int len = is_kind(message, '"') ? (int)(message.end - message.p) - 2 : 0;
        if (len > 300) /* keep the log line short; cut at a character boundary */
            for (len = 300; (text[len] & 0xC0) == 0x80; len--) {}
        log_line("WARN pulse: %s failed: %.*s (%.*s)",
                 slot >= 0 ? "game.set_background" : "a call to the host", len, text,
                 code.p ? (int)(code.end - code.p) : 1, code.p ? code.p : "?");
    } else if (slot >= 0) {
        pulses++;
        if (pending[slot].id > last_id) {
            last_id = pending[slot].id;
            memcpy(last, pending[slot].rgb, sizeof last);
        }
    }
    if (slot >= 0)
        pending[slot].used = false;
    else if (!error.p)
        log_line("WARN pulse: an answer to id %.*s, which it never asked",
                 (int)(id.end - id.p), id.p);
}

/* Takes the state a previous instance returned from plugin.shutdown. */
static bool restore(Span state) {
    uint64_t n;
    float rgb[3];
    if (!parse_u64(member(state, "pulses"), &n))
        return false;
    pulses = n;
    Span colour = member(state, "last");
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok = ok && parse_unit(item(colour, i), &rgb[i]);
    if (ok && !item(colour, 3).p) /* exactly three */
        memcpy(last, rgb, sizeof last);
    return true;
}

/* plugin.init {"api_version": 1, "config": ..., "state": ...} -> the manifest. */
static void on_init(Span id, Span params) {
    if (!is_kind(params, '{')) {
        send_error(id, -32602, "Invalid params for plugin.init: expected an object", NONE);
        return;
    }
    Span state = member(params, "state");
    pulses = 0;
    memset(last, 0, sizeof last);
    last_id = 0;
    if (state.p && !span_is(state, "null") && !restore(state))
        log_line("WARN pulse: ignoring a state it does not understand");
    hue_index = pulses; /* the colours carry on where the last instance stopped */
    log_line("pulse: started, %llu pulses so far", (unsigned long long)pulses);
    begin_response(id);
    out_str(",\"result\":{\"name\":\"pulse\",\"version\":\"0.1.0\",\"methods\":[\"stats\"],"
            "\"events\":[\"game.tick\"]}}");
    out_send();
}

/* The count and the last colour, as `stats` answers and plugin.shutdown saves them. */
static void out_stats(void) {
    out_fmt("{\"pulses\":%llu,\"last\":[%.4f,%.4f,%.4f]}", (unsigned long long)pulses,
            last[0], last[1], last[2]);
}

static void on_request(Span id, Span method, Span params) {
    if (str_is(method, "plugin.init")) {
        on_init(id, params);
    } else if (str_is(method, "plugin.shutdown")) {
        begin_response(id);
        out_str(",\"result\":{\"state\":");
        out_stats();
        out_str("}}");
        out_send(); /* and keep running: the host drops the instance itself */
    } else if (str_is(method, "stats")) {
        if (params.p && !is_empty(params)) {
            send_error(id, -32602, "Invalid params for stats: it takes none", NONE);
            return;
        }
        begin_response(id);
        out_str(",\"result\":");
        out_stats();
        out_str("}");
        out_send();
    } else {
        send_error(id, -32601, "Method not found: ", method);
    }
}

/* The members of a message the mod looks at. */
enum { M_JSONRPC, M_ID, M_METHOD, M_PARAMS, M_RESULT, M_ERROR, M_COUNT };
static const char *const MESSAGE_MEMBERS[M_COUNT] = {"jsonrpc", "id",     "method",
                                                      "params",  "result", "error"};

/* Validates the value at p (no leading whitespace) and, when it is an object, picks
 * its members into m, all in one pass: the end of the value, or NULL. */
static const char *scan_message(const char *p, const char *e, Span m[M_COUNT]) {
    too_deep = false;
    if (p < e && *p == '{')
        return scan_object(p, e, 0, M_COUNT, MESSAGE_MEMBERS, m);
    for (int i = 0; i < M_COUNT; i++)
        m[i] = NONE;
    return skip_value(p, e, 0);
}

/* Answers a line that cannot be handled whole (too long or too deep) with an error.
 * m holds the members read before the point where it failed, which may include the
 * id: the host writes "id" before "method". A line with a method and no id is a
 * notification and gets no answer. */
static void refuse(const Span m[M_COUNT], int code, const char *message) {
    log_line("WARN pulse: refused a line: %s", message);
    if (m[M_ID].p || !m[M_METHOD].p)
        send_error(valid_id(m[M_ID]) ? m[M_ID] : NONE, code, message, NONE);
}

/* One line from stdin, without its '\n'. */
static void handle_line(const char *line, size_t len) {
    const char *e = line + len;
    if (len > 0 && e[-1] == '\r')
        e--;
    const char *p = skip_ws(line, e);
    if (p == e)
        return; /* blank lines are ignored */
    Span m[M_COUNT];
    const char *end = scan_message(p, e, m);
    if (!end && too_deep) {
        refuse(m, -32600,
               "Invalid Request: JSON nested deeper than " TEXT(MAX_DEPTH) " levels");
        return;
    }
    if (!end || skip_ws(end, e) != e) {
        send_error(NONE, -32700, "Parse error", NONE);
        return;
    }
    if (*p == '[') { /* the host sends batches only to answer ours, and we send none */
        send_error(NONE, -32600, "Invalid Request: pulse does not accept batches", NONE);
        return;
    }
    Span id = m[M_ID], method = m[M_METHOD], params = m[M_PARAMS], error = m[M_ERROR];
    bool v2 = span_is(m[M_JSONRPC], "\"2.0\"");
    if (*p != '{' || (id.p && !valid_id(id) && method.p)) {
        send_error(NONE, -32600, "Invalid Request", NONE);
    } else if (method.p) { /* a request or a notification */
        bool bad_params = params.p && !is_kind(params, '{') && !is_kind(params, '[');
        if (!v2 || !is_kind(method, '"') || bad_params)
            send_error(id, -32600, "Invalid Request", NONE);
        else if (id.p)
            on_request(id, method, params);
        else if (str_is(method, "game.tick"))
            on_tick(params); /* other notifications are ignored */
    } else if (id.p && !m[M_RESULT].p != !error.p) { /* a response */
        if (v2 && (!error.p || is_kind(error, '{')))
            on_response(id, error);
        else
            log_line("WARN pulse: ignoring a malformed answer");
    } else {
        send_error(valid_id(id) ? id : NONE, -32600, "Invalid Request", NONE);
    }
}

static char in_buf[MAX_LINE + 1]; /* one line and its '\n' */

int main(void) {
    size_t len = 0;        /* bytes in in_buf */
    bool skipping = false; /* dropping the rest of a line that was too long */
    for (;;) {
        /* Handle every complete line in the buffer. */
        size_t start = 0;
        char *newline;
        while ((newline = memchr(in_buf + start, '\n', len - start))) {
            if (!skipping)
                handle_line(in_buf + start, (size_t)(newline - in_buf) - start);
            skipping = false;
            start = (size_t)(newline - in_buf) + 1;
        }
        /* Keep the partial line; refuse it once it cannot fit. */
        if (skipping)
            start = len;
        memmove(in_buf, in_buf + start, len - start);
        len -= start;
        if (len == sizeof in_buf) {
            Span m[M_COUNT];
            scan_message(skip_ws(in_buf, in_buf + len), in_buf + len, m);
            refuse(m, -32004,
                   "Message too large: a line was longer than " TEXT(MAX_LINE) " bytes");
            skipping = true;
            len = 0;
        }
        /* Wait for more: the host suspends the mod here while stdin is empty. */
        ssize_t n = read(0, in_buf + len, sizeof in_buf - len);
        if (n == 0)
            return 0; /* stdin closed (tools only, never in a game) */
        if (n < 0) {
            log_line("ERROR pulse: reading stdin failed");
            return 1;
        }
        len += (size_t)n;
    }
}
