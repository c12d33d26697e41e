/*
 * The JSON fast path's scanner in C: the same reading as src/pipeline/record-scan.ts, record for
 * record (test/pipeline/record-scan.native.test.ts compares both on generated and mutated
 * records). The JavaScript scanner stays the reference and the fallback: this file only makes
 * the same decisions faster. Any change here must be made there too, and the other way round.
 *
 * It reads a record's bytes into the raw row's typed arrays (tags, from, to, nums) that the
 * JavaScript side created and keeps alive. It never allocates per record and never calls back
 * into JavaScript while scanning.
 *
 * Reads past the end of the record yield END (256), which matches no byte: that is how the
 * JavaScript version's `data[p]` (undefined past the end) behaves in every comparison.
 */
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_STRING = 1, K_TIMESTAMP, K_LONG, K_INT, K_DOUBLE, K_FLOAT, K_BOOLEAN, K_DATE };
/* Raw row tags: data/column-batch.ts. */
enum { RAW_NULL = 0, RAW_UTF8 = 1, RAW_INT64 = 2, RAW_VALUE = 3 };

#define END 256
#define MAX_DEPTH 64
#define FLOAT_MAX 3.4028234663852886e38
#define MAX_SAFE 9007199254740991.0

typedef struct Level Level;

typedef struct {
  const uint8_t *key;
  int32_t len;
  int32_t plain;
  int32_t slot;
  /* Column index of a leaf, or -1 (an object on a path). */
  int32_t index;
  int32_t kind;
  int32_t required;
  Level *child;
} Entry;

struct Level {
  Entry *entries;
  int32_t count;
  int32_t next;
};

typedef struct {
  Level *levels;
  int32_t level_count;
  Entry *entries;
  int32_t entry_count;
  uint8_t *keys;
  uint32_t *seen;
  uint32_t generation;
  /* The raw row's arrays (owned by JavaScript; the references keep them alive). */
  uint8_t *tags;
  int32_t *from;
  int32_t *to;
  double *nums;
  napi_ref refs[4];
  /*
   * The stage (optional): rows of accepted records in columns, `capacity` rows, column-major
   * (column c's row r at c * capacity + r); strings' bytes back to back in column c's region of
   * `stage_bytes` (region_bytes each). stage_state[0] is the row count, stage_state[1 + c] the
   * bytes used by column c. JavaScript reads them in bulk (ColumnBatchBuilder.appendStaged) and
   * resets the state; it also writes the computed columns (scanStagedRun writes the values it is
   * given).
   */
  int32_t capacity;
  int32_t region_bytes;
  int32_t columns;
  uint8_t *stage_tags;
  double *stage_nums;
  int32_t *stage_lengths;
  uint8_t *stage_bytes;
  int32_t *stage_state;
  napi_ref stage_refs[5];
  /* 1: a key the tree does not hold declines the record (transform.unmapped other than ignore). */
  int32_t strict_keys;
  /* The record being scanned. */
  const uint8_t *data;
  int32_t n;
} Scanner;

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const int DAYS_IN_MONTH[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static inline int at(const Scanner *s, int32_t p) { return p >= 0 && p < s->n ? s->data[p] : END; }

static inline int32_t ws(const Scanner *s, int32_t p) {
  for (;;) {
    int c = at(s, p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return p;
    p++;
  }
}

static int is_hex(int c) { return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66); }

/* Length of the valid UTF-8 sequence starting with a non-ASCII byte at p, or 0. */
static int utf8_sequence(const Scanner *s, int32_t p) {
  int b = at(s, p);
  int c1 = at(s, p + 1);
  if (b < 0xc2) return 0;
  if (b < 0xe0) return (c1 & 0xc0) == 0x80 && c1 != END ? 2 : 0;
  int c2 = at(s, p + 2);
  if (b < 0xf0) {
    int lo = b == 0xe0 ? 0xa0 : 0x80;
    int hi = b == 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) == 0x80 && c2 != END ? 3 : 0;
  }
  if (b < 0xf5) {
    int c3 = at(s, p + 3);
    int lo = b == 0xf0 ? 0x90 : 0x80;
    int hi = b == 0xf4 ? 0x8f : 0xbf;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) == 0x80 && c2 != END && (c3 & 0xc0) == 0x80 && c3 != END ? 4 : 0;
  }
  return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * The high bit of each byte of w that needs a look inside a string: a quote, a backslash, a
 * control character (below 0x20) or a non-ASCII byte. Eight bytes at a time (SWAR); exact for
 * every byte, since a byte with its high bit set is flagged by itself and the others cannot borrow.
 */
static inline uint64_t special_bytes(uint64_t w) {
  uint64_t ascii = ~w & HIGHS;
  uint64_t low7 = w & ~HIGHS;
  uint64_t control = ~(low7 + (0x80 - 0x20) * ONES) & HIGHS;     /* byte < 0x20 */
  uint64_t q = low7 ^ (0x22 * ONES), b = low7 ^ (0x5c * ONES);
  uint64_t quote = ~(q + 0x7f * ONES) & HIGHS;                     /* byte == 0x22 */
  uint64_t backslash = ~(b + 0x7f * ONES) & HIGHS;                 /* byte == 0x5c */
  return ((control | quote | backslash) & ascii) | (w & HIGHS);
}

/* String content from p (after the opening quote) to its closing quote: that quote's position, or -1. */
static int32_t scan_string(const Scanner *s, int32_t p, int plain) {
  const uint8_t *data = s->data;
  int32_t n = s->n;
  while (p < n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (p + 8 <= n) {
      uint64_t w;
      memcpy(&w, data + p, 8);
      uint64_t m = special_bytes(w);
      if (m == 0) {
        p += 8;
        continue;
      }
      p += __builtin_ctzll(m) >> 3; /* little-endian: the first byte in memory is the lowest */
      break;
    }
#endif
    if (p >= n) break;
    int c = data[p];
    if (c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80) {
      p++;
      continue;
    }
    if (c == 0x22) return p;
    if (c < 0x20) return -1;
    if (c == 0x5c) {
      if (plain) return -1;
      int e = at(s, p + 1);
      if (e == 0x75) {
        for (int k = 2; k < 6; k++)
          if (!is_hex(at(s, p + k))) return -1;
        p += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        p += 2;
      } else
        return -1;
    } else {
      int len = utf8_sequence(s, p);
      if (len == 0) return -1;
      p += len;
    }
  }
  return -1;
}

static int32_t literal(const Scanner *s, int32_t p, const char *word, int len) {
  for (int k = 0; k < len; k++)
    if (at(s, p + k) != (uint8_t)word[k]) return -1;
  return p + len;
}

typedef struct {
  int32_t end;
  double value;
  int integer;
} Number;

/* A JSON number at p: its end (-1 when none), its value when exact by construction (else NaN). */
static Number scan_number(const Scanner *s, int32_t p) {
  Number r = {-1, NAN, 0};
  int32_t i = p;
  int negative = at(s, i) == 0x2d;
  if (negative) i++;
  /* Accumulated in doubles, as the JavaScript version does: the same operations, the same value. */
  double mantissa = 0;
  int first = at(s, i);
  if (first == 0x30) {
    i++;
  } else if (first > 0x30 && first <= 0x39) {
    for (;;) {
      int d = at(s, i) - 0x30;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      i++;
    }
  } else
    return r;
  int scale = 0;
  int integer = 1;
  if (at(s, i) == 0x2e) {
    integer = 0;
    i++;
    int32_t start = i;
    for (;;) {
      int d = at(s, i) - 0x30;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      scale--;
      i++;
    }
    if (i == start) return r;
  }
  int e = at(s, i);
  if (e == 0x65 || e == 0x45) {
    integer = 0;
    i++;
    int exp_negative = 0;
    int sign = at(s, i);
    if (sign == 0x2d || sign == 0x2b) {
      exp_negative = sign == 0x2d;
      i++;
    }
    int32_t start = i;
    int exp = 0;
    for (;;) {
      int d = at(s, i) - 0x30;
      if (d < 0 || d > 9) break;
      if (exp < 100000) exp = exp * 10 + d;
      i++;
    }
    if (i == start) return r;
    scale += exp_negative ? -exp : exp;
  }
  r.end = i;
  r.integer = integer;
  if (mantissa < 9007199254740992.0 && scale >= -22 && scale <= 22) {
    double v = scale >= 0 ? mantissa * POW10[scale] : mantissa / POW10[-scale];
    r.value = negative ? -v : v;
  }
  return r;
}

static int32_t skip(Scanner *s, int32_t p, int depth);

static int32_t skip(Scanner *s, int32_t p, int depth) {
  int c = at(s, p);
  if (c == 0x22) {
    int32_t q = scan_string(s, p + 1, 0);
    return q < 0 ? -1 : q + 1;
  }
  if (c == 0x7b || c == 0x5b) {
    if (depth >= MAX_DEPTH) return -1;
    int close = c == 0x7b ? 0x7d : 0x5d;
    p = ws(s, p + 1);
    if (at(s, p) == close) return p + 1;
    for (;;) {
      if (c == 0x7b) {
        if (at(s, p) != 0x22) return -1;
        int32_t q = scan_string(s, p + 1, 0);
        if (q < 0) return -1;
        p = ws(s, q + 1);
        if (at(s, p) != 0x3a) return -1;
        p = ws(s, p + 1);
      }
      p = skip(s, p, depth + 1);
      if (p < 0) return -1;
      p = ws(s, p);
      int d = at(s, p);
      if (d == close) return p + 1;
      if (d != 0x2c) return -1;
      p = ws(s, p + 1);
    }
  }
  if (c == 0x74) return literal(s, p, "true", 4);
  if (c == 0x66) return literal(s, p, "false", 5);
  if (c == 0x6e) return literal(s, p, "null", 4);
  return scan_number(s, p).end;
}

static int two_digits(const Scanner *s, int32_t i) {
  int a = at(s, i) - 48;
  int b = at(s, i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/* Floor division, as Math.floor(a / b) for the small integers used here. */
static inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Epoch seconds of a civil date and time: pipeline/civil-time.ts. 0 in *ok when no such time. */
static int64_t civil_seconds(int year, int month, int day, int hour, int minute, int second, int *ok) {
  *ok = 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return 0;
  int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  if (day > (month == 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return 0;
  int64_t y = month <= 2 ? year - 1 : year;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = floor_div(153 * (month + (month > 2 ? -3 : 9)) + 2, 5) + day - 1;
  int64_t doe = yoe * 365 + floor_div(yoe, 4) - floor_div(yoe, 100) + doy;
  int64_t days = era * 146097 + doe - 719468;
  *ok = 1;
  return days * 86400 + (int64_t)hour * 3600 + minute * 60 + second;
}

/* `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` in data[from, to) as epoch microseconds: commonTimestampMicros. */
static int common_timestamp_micros(const Scanner *s, int32_t from, int32_t to, double *out) {
  int32_t n = to - from;
  if (n < 20 || n > 30) return 0;
  int last = at(s, to - 1);
  if (last != 90 && last != 122) return 0;
  int t = at(s, from + 10);
  if (at(s, from + 4) != 45 || at(s, from + 7) != 45 || (t != 84 && t != 32) || at(s, from + 13) != 58 || at(s, from + 16) != 58) return 0;
  int y_hi = two_digits(s, from), y_lo = two_digits(s, from + 2), month = two_digits(s, from + 5), day = two_digits(s, from + 8);
  int hour = two_digits(s, from + 11), minute = two_digits(s, from + 14), second = two_digits(s, from + 17);
  if (y_hi < 0 || y_lo < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return 0;
  int64_t frac = 0;
  if (n > 20) {
    int sep = at(s, from + 19);
    if ((sep != 46 && sep != 44) || n == 21) return 0;
    for (int i = 20; i < n - 1; i++) {
      int d = at(s, from + i) - 48;
      if (d < 0 || d > 9) return 0;
      if (i < 26) frac = frac * 10 + d;
    }
    for (int i = n - 1 < 26 ? n - 1 : 26; i < 26; i++) frac *= 10;
  } else if (at(s, from + 19) != 90 && at(s, from + 19) != 122) {
    return 0;
  }
  int ok;
  int64_t seconds = civil_seconds(y_hi * 100 + y_lo, month, day, hour, minute, second, &ok);
  if (!ok) return 0;
  /* Exact in 64 bits for every four-digit year; beyond 2^53 µs (after 2255) the JavaScript version's
     safe-integer check declines, and so does this one. */
  int64_t micros = seconds * 1000000 + frac;
  if (micros > 9007199254740991LL || micros < -9007199254740991LL) return 0;
  *out = (double)micros;
  return 1;
}

/* A mapped leaf's value at p into the row: the position after it, or -1. */
static int32_t value(Scanner *s, const Entry *f, int32_t p) {
  int i = f->index;
  int c = at(s, p);
  if (c == 0x6e) {
    if (f->required) return -1;
    s->tags[i] = RAW_NULL;
    return literal(s, p, "null", 4);
  }
  switch (f->kind) {
    case K_STRING: {
      if (c != 0x22) return -1;
      int32_t q = scan_string(s, p + 1, 1);
      if (q < 0) return -1;
      s->tags[i] = RAW_UTF8;
      s->from[i] = p + 1;
      s->to[i] = q;
      return q + 1;
    }
    case K_TIMESTAMP: {
      if (c != 0x22) return -1;
      int32_t q = scan_string(s, p + 1, 1);
      if (q < 0) return -1;
      if (!common_timestamp_micros(s, p + 1, q, &s->nums[i])) return -1;
      s->tags[i] = RAW_INT64;
      return q + 1;
    }
    case K_DATE: {
      if (c != 0x22 || at(s, p + 11) != 0x22 || at(s, p + 5) != 0x2d || at(s, p + 8) != 0x2d) return -1;
      int y_hi = two_digits(s, p + 1), y_lo = two_digits(s, p + 3), month = two_digits(s, p + 6), day = two_digits(s, p + 9);
      if (y_hi < 0 || y_lo < 0 || month < 0 || day < 0) return -1;
      int ok;
      int64_t seconds = civil_seconds(y_hi * 100 + y_lo, month, day, 0, 0, 0, &ok);
      if (!ok) return -1;
      /* A number for the JavaScript side to put in `values` (record-scan.ts reads it back). */
      s->tags[i] = RAW_VALUE;
      s->nums[i] = (double)(seconds / 86400);
      return p + 12;
    }
    case K_LONG:
    case K_INT: {
      Number r = scan_number(s, p);
      if (r.end < 0 || !r.integer || isnan(r.value) || r.value != trunc(r.value) || fabs(r.value) > MAX_SAFE) return -1;
      if (f->kind == K_INT) {
        if (r.value < -2147483648.0 || r.value > 2147483647.0) return -1;
        s->tags[i] = RAW_VALUE;
      } else {
        s->tags[i] = RAW_INT64;
      }
      s->nums[i] = r.value;
      return r.end;
    }
    case K_DOUBLE:
    case K_FLOAT: {
      Number r = scan_number(s, p);
      if (r.end < 0 || isnan(r.value)) return -1;
      if (f->kind == K_FLOAT && fabs(r.value) > FLOAT_MAX) return -1;
      s->tags[i] = RAW_VALUE;
      s->nums[i] = r.value;
      return r.end;
    }
    case K_BOOLEAN: {
      int32_t end = c == 0x74 ? literal(s, p, "true", 4) : c == 0x66 ? literal(s, p, "false", 5) : -1;
      if (end < 0) return -1;
      s->tags[i] = RAW_VALUE;
      s->nums[i] = c == 0x74 ? 1 : 0;
      return end;
    }
    default:
      return -1;
  }
}

/* The level's expected entry when the key at `from` is exactly its plain key and a quote, or -1. */
static int expected(const Scanner *s, Level *level, int32_t from) {
  if (level->count == 0) return -1;
  int e = level->next;
  const Entry *entry = &level->entries[e];
  if (!entry->plain) return -1;
  int32_t len = entry->len;
  if (at(s, from + len) != 0x22) return -1;
  /* from + len < n here (a quote was read there), so the key's bytes are all in the record. */
  const uint8_t *key = entry->key, *at_key = s->data + from;
  for (int32_t k = 0; k < len; k++)
    if (key[k] != at_key[k]) return -1;
  level->next = e + 1 == level->count ? 0 : e + 1;
  return e;
}

/* The level's entry whose key is data[from, to), or -1. */
static int match(const Scanner *s, Level *level, int32_t from, int32_t to) {
  int count = level->count;
  int32_t len = to - from;
  for (int k = 0; k < count; k++) {
    int e = level->next + k;
    if (e >= count) e -= count;
    const Entry *entry = &level->entries[e];
    if (entry->len != len) continue;
    if (memcmp(entry->key, s->data + from, (size_t)len) == 0) {
      level->next = e + 1 == count ? 0 : e + 1;
      return e;
    }
  }
  return -1;
}

static int32_t object(Scanner *s, int32_t p, Level *level, int depth) {
  uint32_t gen = s->generation;
  p = ws(s, p + 1);
  if (at(s, p) == 0x7d) return p + 1;
  for (;;) {
    if (at(s, p) != 0x22) return -1;
    int32_t key_from = p + 1;
    int e = expected(s, level, key_from);
    int32_t key_to;
    if (e >= 0)
      key_to = key_from + level->entries[e].len;
    else {
      key_to = scan_string(s, key_from, 1);
      if (key_to < 0) return -1;
      e = match(s, level, key_from, key_to);
    }
    p = ws(s, key_to + 1);
    if (at(s, p) != 0x3a) return -1;
    p = ws(s, p + 1);
    if (e < 0) {
      if (s->strict_keys) return -1;
      p = skip(s, p, depth);
    } else {
      Entry *entry = &level->entries[e];
      if (s->seen[entry->slot] == gen) return -1;
      s->seen[entry->slot] = gen;
      if (entry->index >= 0)
        p = value(s, entry, p);
      else {
        int c = at(s, p);
        if (c == 0x7b && depth + 1 < MAX_DEPTH)
          p = object(s, p, entry->child, depth + 1);
        else if (c == 0x6e)
          p = literal(s, p, "null", 4);
        else
          return -1;
      }
    }
    if (p < 0) return -1;
    p = ws(s, p);
    int c = at(s, p);
    if (c == 0x2c) {
      p = ws(s, p + 1);
      continue;
    }
    return c == 0x7d ? p + 1 : -1;
  }
}

/* Scans one record; 1 when the fast path reads it (then the row holds it). */
static int scan(Scanner *s, const uint8_t *data, int32_t n) {
  s->data = data;
  s->n = n;
  uint32_t gen = s->generation + 1;
  if (gen == 0) {
    memset(s->seen, 0, sizeof(uint32_t) * (size_t)(s->entry_count > 0 ? s->entry_count : 1));
    gen = 1;
  }
  s->generation = gen;
  int32_t p = ws(s, 0);
  if (p >= n || data[p] != 0x7b) return 0;
  p = object(s, p, &s->levels[0], 0);
  if (p < 0 || ws(s, p) != n) return 0;
  for (int k = 0; k < s->entry_count; k++) {
    const Entry *f = &s->entries[k];
    if (f->index < 0 || s->seen[f->slot] == gen) continue;
    if (f->required) return 0;
    s->tags[f->index] = RAW_NULL;
  }
  return 1;
}

/* ---- node-api glue ---- */

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "NATIVE", "record-scan-native: " #call " failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

/*
 * Copies the row just scanned into the stage: 1, or 2 when it has no room (nothing written).
 * Only the mapped leaves are written (computed columns are JavaScript's).
 */
static int stage_row(Scanner *s) {
  int32_t r = s->stage_state[0];
  if (r >= s->capacity) return 2;
  for (int k = 0; k < s->entry_count; k++) {
    const Entry *f = &s->entries[k];
    if (f->index < 0 || s->tags[f->index] != RAW_UTF8) continue;
    int32_t len = s->to[f->index] - s->from[f->index];
    if ((int64_t)s->stage_state[1 + f->index] + len > s->region_bytes) return 2;
  }
  for (int k = 0; k < s->entry_count; k++) {
    const Entry *f = &s->entries[k];
    int32_t c = f->index;
    if (c < 0) continue;
    int32_t at = c * s->capacity + r;
    uint8_t tag = s->tags[c];
    s->stage_tags[at] = tag;
    if (tag == RAW_UTF8) {
      int32_t len = s->to[c] - s->from[c];
      int32_t used = s->stage_state[1 + c];
      memcpy(s->stage_bytes + (size_t)c * (size_t)s->region_bytes + used, s->data + s->from[c], (size_t)len);
      s->stage_lengths[at] = len;
      s->stage_state[1 + c] = used + len;
    } else if (tag != RAW_NULL) {
      s->stage_nums[at] = s->nums[c];
    }
  }
  s->stage_state[0] = r + 1;
  return 1;
}

static void release(napi_env env, void *raw, void *hint) {
  (void)hint;
  Scanner *s = raw;
  for (int k = 0; k < 4; k++)
    if (s->refs[k]) napi_delete_reference(env, s->refs[k]);
  for (int k = 0; k < 5; k++)
    if (s->stage_refs[k]) napi_delete_reference(env, s->stage_refs[k]);
  free(s->levels);
  free(s->entries);
  free(s->keys);
  free(s->seen);
  free(s);
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

/*
 * create(spec: Int32Array, keys: Uint8Array, levels: number, tags: Uint8Array, from: Int32Array,
 *        to: Int32Array, nums: Float64Array[, strictKeys: number]) → scanner
 * strictKeys 1: a key the tree does not hold declines the record instead of being skipped.
 * spec: 8 ints per entry, in order of levels (each level's entries together, level 0 first):
 * level, keyOffset, keyLength, plain, index (-1: object), kind, required, childLevel (-1: leaf).
 * Slots are entry positions.
 */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t strict_keys = 0;
  if (argc >= 8 && napi_get_value_int32(env, argv[7], &strict_keys) != napi_ok) strict_keys = 0;
  if (argc < 7) {
    napi_throw_type_error(env, "NATIVE", "record-scan-native: create takes 7 arguments");
    return NULL;
  }
  int32_t *spec;
  uint8_t *keys;
  size_t spec_len, keys_len, cols, cols2, cols3, cols4;
  int32_t level_count;
  void *tags, *from, *to, *nums;
  if (!typed(env, argv[0], napi_int32_array, (void **)&spec, &spec_len) || !typed(env, argv[1], napi_uint8_array, (void **)&keys, &keys_len) ||
      napi_get_value_int32(env, argv[2], &level_count) != napi_ok || !typed(env, argv[3], napi_uint8_array, &tags, &cols) ||
      !typed(env, argv[4], napi_int32_array, &from, &cols2) || !typed(env, argv[5], napi_int32_array, &to, &cols3) ||
      !typed(env, argv[6], napi_float64_array, &nums, &cols4) || cols2 != cols || cols3 != cols || cols4 != cols || spec_len % 8 != 0 ||
      level_count < 1) {
    napi_throw_type_error(env, "NATIVE", "record-scan-native: create: bad arguments");
    return NULL;
  }
  Scanner *s = calloc(1, sizeof(Scanner));
  int32_t count = (int32_t)(spec_len / 8);
  s->entry_count = count;
  s->level_count = level_count;
  s->levels = calloc((size_t)level_count, sizeof(Level));
  s->entries = calloc((size_t)(count > 0 ? count : 1), sizeof(Entry));
  s->keys = malloc(keys_len > 0 ? keys_len : 1);
  s->seen = calloc((size_t)(count > 0 ? count : 1), sizeof(uint32_t));
  if (keys_len > 0) memcpy(s->keys, keys, keys_len);
  int bad = 0;
  for (int32_t k = 0; k < count && !bad; k++) {
    const int32_t *e = spec + 8 * k;
    int32_t level = e[0];
    if (level < 0 || level >= level_count || e[1] < 0 || e[2] < 0 || (size_t)e[1] + (size_t)e[2] > keys_len || e[4] >= (int32_t)cols ||
        e[7] >= level_count || (e[4] < 0) == (e[7] < 0) || (k > 0 && spec[8 * (k - 1)] > level)) {
      bad = 1;
      break;
    }
    Level *l = &s->levels[level];
    if (l->count == 0) l->entries = &s->entries[k];
    l->count++;
    Entry *entry = &s->entries[k];
    entry->key = s->keys + e[1];
    entry->len = e[2];
    entry->plain = e[3];
    entry->slot = k;
    entry->index = e[4];
    entry->kind = e[5];
    entry->required = e[6];
    entry->child = e[7] >= 0 ? &s->levels[e[7]] : NULL;
  }
  if (bad) {
    release(env, s, NULL);
    napi_throw_type_error(env, "NATIVE", "record-scan-native: create: bad spec");
    return NULL;
  }
  s->strict_keys = strict_keys != 0;
  s->tags = tags;
  s->from = from;
  s->to = to;
  s->nums = nums;
  for (int k = 0; k < 4; k++) CHECK(napi_create_reference(env, argv[3 + k], 1, &s->refs[k]));
  napi_value external;
  CHECK(napi_create_external(env, s, release, NULL, &external));
  return external;
}

/* Scans the record of a call (scanner, data: Uint8Array): 1 when the fast path reads it. */
static int scan_call(napi_env env, napi_callback_info info, Scanner **scanner) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_external(env, argv[0], (void **)scanner) != napi_ok || !typed(env, argv[1], napi_uint8_array, &data, &length) ||
      length > 0x7fffffff)
    return 0;
  return scan(*scanner, data, (int32_t)length);
}

/* scan(scanner, data) → boolean */
static napi_value scan_js(napi_env env, napi_callback_info info) {
  Scanner *s;
  napi_value result;
  napi_get_boolean(env, scan_call(env, info, &s), &result);
  return result;
}

/*
 * stage(scanner, capacity, regionBytes, tags: Uint8Array, nums: Float64Array, lengths: Int32Array,
 *       bytes: Uint8Array, state: Int32Array): gives the scanner its stage (see Scanner).
 */
static napi_value stage_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Scanner *s;
  int32_t capacity, region;
  void *tags, *nums, *lengths, *bytes, *state;
  size_t n_tags, n_nums, n_lengths, n_bytes, n_state;
  if (argc < 8 || napi_get_value_external(env, argv[0], (void **)&s) != napi_ok || napi_get_value_int32(env, argv[1], &capacity) != napi_ok ||
      napi_get_value_int32(env, argv[2], &region) != napi_ok || !typed(env, argv[3], napi_uint8_array, &tags, &n_tags) ||
      !typed(env, argv[4], napi_float64_array, &nums, &n_nums) || !typed(env, argv[5], napi_int32_array, &lengths, &n_lengths) ||
      !typed(env, argv[6], napi_uint8_array, &bytes, &n_bytes) || !typed(env, argv[7], napi_int32_array, &state, &n_state)) {
    napi_throw_type_error(env, "NATIVE", "record-scan-native: stage: bad arguments");
    return NULL;
  }
  size_t columns = n_state - 1;
  if (capacity < 1 || region < 0 || n_state < 1 || s->stage_tags != NULL || n_tags != columns * (size_t)capacity || n_nums != n_tags ||
      n_lengths != n_tags || n_bytes != columns * (size_t)region) {
    napi_throw_type_error(env, "NATIVE", "record-scan-native: stage: sizes do not match");
    return NULL;
  }
  for (int k = 0; k < s->entry_count; k++)
    if (s->entries[k].index >= (int32_t)columns) {
      napi_throw_type_error(env, "NATIVE", "record-scan-native: stage: fewer columns than the scanner's");
      return NULL;
    }
  for (int k = 0; k < 5; k++) CHECK(napi_create_reference(env, argv[3 + k], 1, &s->stage_refs[k]));
  s->capacity = capacity;
  s->region_bytes = region;
  s->columns = (int32_t)columns;
  s->stage_tags = tags;
  s->stage_nums = nums;
  s->stage_lengths = lengths;
  s->stage_bytes = bytes;
  s->stage_state = state;
  return NULL;
}

/* scanStaged(scanner, data) → 0 (declined), 1 (staged) or 2 (read, but the stage has no room). */
static napi_value scan_staged_js(napi_env env, napi_callback_info info) {
  Scanner *s;
  int result = scan_call(env, info, &s) && s->stage_tags != NULL ? stage_row(s) : 0;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

/*
 * scanStagedRun(scanner, data: Uint8Array, ends: Int32Array, starts: Int32Array | null, from, to,
 *               computedIndex: Int32Array, computedTag: Uint8Array, computedNum: Float64Array)
 * → how many records, from `from` on, were staged: record i is data[start, ends[i]), start =
 * starts[i], or ends[i - 1] (0 for the first) without starts. It stops at the first record that
 * is declined or does not fit (the caller reads that one alone, as scanStaged would) and at `to`.
 * The computed columns take the same value in every row staged (what the caller computed once for
 * the whole poll: the processing time), written as the caller would write them. One call for a
 * run of records instead of one per record (bench/notes.md item 36).
 */
static napi_value scan_staged_run_js(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  Scanner *s = NULL;
  void *data, *ends, *starts = NULL, *c_index, *c_tag, *c_num;
  size_t length, n_ends, n_starts = 0, n_index, n_tag, n_num;
  int32_t from, to, count = 0;
  napi_valuetype starts_type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 9 && napi_get_value_external(env, argv[0], (void **)&s) == napi_ok &&
      s->stage_tags != NULL && typed(env, argv[1], napi_uint8_array, &data, &length) && length <= 0x7fffffff &&
      typed(env, argv[2], napi_int32_array, &ends, &n_ends) && napi_typeof(env, argv[3], &starts_type) == napi_ok &&
      (starts_type == napi_null || typed(env, argv[3], napi_int32_array, &starts, &n_starts)) && napi_get_value_int32(env, argv[4], &from) == napi_ok &&
      napi_get_value_int32(env, argv[5], &to) == napi_ok && typed(env, argv[6], napi_int32_array, &c_index, &n_index) &&
      typed(env, argv[7], napi_uint8_array, &c_tag, &n_tag) && typed(env, argv[8], napi_float64_array, &c_num, &n_num) && n_tag >= n_index &&
      n_num >= n_index && from >= 0 && to >= from && (size_t)to <= n_ends && (starts == NULL || (size_t)to <= n_starts)) {
    const int32_t *e = ends, *st = starts, *ci = c_index;
    const uint8_t *ct = c_tag;
    const double *cn = c_num;
    int ok = 1;
    for (size_t k = 0; k < n_index; k++)
      if (ci[k] < 0 || ci[k] >= s->columns) ok = 0;
    for (int32_t i = from; ok && i < to; i++) {
      int32_t a = st != NULL ? st[i] : i == 0 ? 0 : e[i - 1];
      int32_t b = e[i];
      if (a < 0 || b < a || (size_t)b > length) break;
      if (!scan(s, (const uint8_t *)data + a, b - a)) break;
      int32_t r = s->stage_state[0];
      if (r >= s->capacity) break;
      for (size_t k = 0; k < n_index; k++) {
        int32_t at_ = ci[k] * s->capacity + r;
        s->stage_tags[at_] = ct[k];
        s->stage_nums[at_] = cn[k];
      }
      if (stage_row(s) != 1) break;
      count++;
    }
  }
  napi_value out;
  napi_create_int32(env, count, &out);
  return out;
}

/* GetRecords bodies (native/records_page.c): `recordsPage` on the same module. */
void records_page_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "create", fn);
  if (napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan_js, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "scan", fn);
  if (napi_create_function(env, "stage", NAPI_AUTO_LENGTH, stage_js, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "stage", fn);
  if (napi_create_function(env, "scanStaged", NAPI_AUTO_LENGTH, scan_staged_js, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "scanStaged", fn);
  if (napi_create_function(env, "scanStagedRun", NAPI_AUTO_LENGTH, scan_staged_run_js, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "scanStagedRun", fn);
  napi_value yes;
  if (napi_get_boolean(env, 1, &yes) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "strictKeys", yes);
  records_page_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
