/*
 * GetRecords response bodies (JSON 1.1) read in C: the usual response, and only it, read into the
 * same columns as src/source/kinesis/records-page.ts (`parseRecordsPage`), which stays the
 * reference, the fallback and the judge (test/source/kinesis-records-page.differential.test.ts
 * runs every generated and mutated body through both). This file never decides an error: on
 * anything it does not read exactly as the JavaScript parser would (a JSON escape in a string,
 * null, a member it does not know, a member twice, a record without one of its four usual
 * members, unpadded base64, a number outside the exact fast path, a non-empty `ChildShards`,
 * malformed JSON, too many records for the arrays given) it declines, and the JavaScript parser
 * reads the body from the start, giving the page or the exact error. So it may decline more than
 * it must, never accept differently.
 *
 * What it writes (arrays owned by JavaScript, sized by it: `data` and `text` at least the body's
 * length, `rec_cap` records):
 *   data    each record's `Data` base64-decoded, back to back;
 *   text    per record its sequence number's digits then its partition key's bytes (raw, as the
 *           JavaScript parser copies them: no UTF-8 check there either);
 *   ends    per record its data end (in data);
 *   texts   2 per record: its sequence number's end and its partition key's end (in text);
 *   enc     2 per record: the `EncryptionType` string's byte range in the body (-1, -1: absent);
 *   arrival `ApproximateArrivalTimestamp` × 1000 rounded as JavaScript's Math.round;
 *   flags   the record's members (records-page.ts: HAS_SEQ 1, HAS_DATA 2, HAS_ARRIVAL 4,
 *           HAS_KEY 8, HAS_ENCRYPTION 16);
 *   out     [count, data bytes, text bytes, Records present, NextShardIterator start, its end
 *           (-1: absent), MillisBehindLatest (NaN: absent), ChildShards (-1 absent, 0 empty),
 *           records with an EncryptionType].
 * Nothing is allocated, nothing calls back into JavaScript, every read is bounded by the body.
 */
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define RP_END 256
#define RP_HAS_SEQ 1
#define RP_HAS_DATA 2
#define RP_HAS_ARRIVAL 4
#define RP_HAS_KEY 8
#define RP_HAS_ENCRYPTION 16
/* Base64 table: digit values; 64 '=', 65 '"', 255 anything else. */
static uint8_t RP_B64[256];
/* The same digits placed for a group of four (RP_D0[a] | RP_D1[b] | RP_D2[c] | RP_D3[d] = 24 bits); RP_BAD: not a digit. */
#define RP_BAD 0x01000000u
static uint32_t RP_D0[256], RP_D1[256], RP_D2[256], RP_D3[256];
static int rp_b64_ready = 0;
static const double RP_POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};


/*
 * Base64 decoding 32 digits at a time with AVX2, where the CPU has it (checked once at run time;
 * the build needs no flag): the digits of a GetRecords `Data` string were about 40% of this
 * reader's time, one table lookup per digit (bench/notes.md item 36). A block of 32 digits is
 * decoded only when all 32 are digits; the block with the closing quote, padding or anything
 * else is left to the scalar loops below, so what is read (and declined) is the same byte for
 * byte (native/fuzz/pages_fuzz.c compares both ways on every body it reads).
 *
 * Per byte c (high nibble h, low nibble l): a digit iff (LO[l] & HI[h]) == 0, where HI gives h's
 * class (hi nibbles with the same set of valid low nibbles share one) and LO[l] the classes l is
 * not valid in; its value is c + ROLL[h - (c == '/')] mod 256. Two multiply-adds join four 6-bit
 * values into 24 bits, a byte shuffle and a lane permutation put the 24 bytes together. The
 * tables are computed from RP_B64 at start-up and checked against it for all 256 bytes; any
 * mismatch turns the vector path off.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RP_SIMD 1
static uint8_t RP_V_LO[16], RP_V_HI[16], RP_V_ROLL[16];
/* 1: AVX2 decoding in use (the fuzz harness turns it off and on to compare). */
static int rp_simd = 0;

static int rp_class(int h) { return h == 2 ? 1 : h == 3 ? 2 : (h == 4 || h == 6) ? 4 : (h == 5 || h == 7) ? 8 : 16; }

static void rp_simd_init(void) {
  memset(RP_V_LO, 0, sizeof RP_V_LO);
  memset(RP_V_ROLL, 0, sizeof RP_V_ROLL);
  uint8_t set[16] = {0};
  for (int h = 0; h < 16; h++) RP_V_HI[h] = (uint8_t)rp_class(h);
  for (int c = 0; c < 256; c++) {
    int h = c >> 4, l = c & 15;
    if (RP_B64[c] >= 64) {
      RP_V_LO[l] |= (uint8_t)rp_class(h);
    } else {
      int i = h - (c == '/');
      uint8_t roll = (uint8_t)(RP_B64[c] - c);
      if (set[i] && RP_V_ROLL[i] != roll) return;
      set[i] = 1;
      RP_V_ROLL[i] = roll;
    }
  }
  for (int c = 0; c < 256; c++) {
    int digit = (RP_V_LO[c & 15] & RP_V_HI[c >> 4]) == 0;
    if (digit != (RP_B64[c] < 64)) return;
    if (digit && (uint8_t)(c + RP_V_ROLL[(c >> 4) - (c == '/')]) != RP_B64[c]) return;
  }
  __builtin_cpu_init();
  rp_simd = __builtin_cpu_supports("avx2") ? 1 : 0;
}

/* Decodes whole blocks of 32 digits at b[*q] into out[*w] while out has 32 bytes of room (24 are kept). */
__attribute__((target("avx2"))) static void rp_base64_avx2(const uint8_t *b, int32_t n, int32_t *q_, uint8_t *out, int32_t cap, int32_t *w_) {
  int32_t q = *q_, w = *w_;
  const __m256i lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)RP_V_LO));
  const __m256i hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)RP_V_HI));
  const __m256i roll_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)RP_V_ROLL));
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i slash = _mm256_set1_epi8('/');
  const __m256i join6 = _mm256_set1_epi32(0x01400140);  /* (a << 6) | b per 16 bits */
  const __m256i join12 = _mm256_set1_epi32(0x00011000); /* (ab << 12) | cd per 32 bits */
  const __m256i bytes3 = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
  while (q + 32 <= n && w + 32 <= cap) {
    __m256i in = _mm256_loadu_si256((const __m256i *)(b + q));
    __m256i hi = _mm256_and_si256(_mm256_srli_epi32(in, 4), nibble);
    __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, _mm256_and_si256(in, nibble)), _mm256_shuffle_epi8(hi_t, hi));
    if (!_mm256_testz_si256(bad, bad)) break;
    __m256i v = _mm256_add_epi8(in, _mm256_shuffle_epi8(roll_t, _mm256_add_epi8(hi, _mm256_cmpeq_epi8(in, slash))));
    __m256i joined = _mm256_madd_epi16(_mm256_maddubs_epi16(v, join6), join12);
    _mm256_storeu_si256((__m256i *)(out + w), _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(joined, bytes3), lanes));
    q += 32;
    w += 24;
  }
  *q_ = q;
  *w_ = w;
}
#else
static void rp_simd_init(void) {}
#endif

static void rp_init(void) {
  if (rp_b64_ready) return;
  const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  memset(RP_B64, 255, sizeof RP_B64);
  for (int i = 0; i < 64; i++) RP_B64[(uint8_t)digits[i]] = (uint8_t)i;
  RP_B64['='] = 64;
  RP_B64['"'] = 65;
  for (int c = 0; c < 256; c++) {
    uint32_t v = RP_B64[c];
    int ok = v < 64;
    RP_D0[c] = ok ? v << 18 : RP_BAD;
    RP_D1[c] = ok ? v << 12 : RP_BAD;
    RP_D2[c] = ok ? v << 6 : RP_BAD;
    RP_D3[c] = ok ? v : RP_BAD;
  }
  rp_simd_init();
  rp_b64_ready = 1;
}

typedef struct {
  const uint8_t *b;
  int32_t n;
} RpBody;

static inline int rp_at(const RpBody *s, int32_t p) { return p >= 0 && p < s->n ? s->b[p] : RP_END; }

static inline int32_t rp_ws(const RpBody *s, int32_t p) {
  for (;;) {
    int c = rp_at(s, p);
    if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) p++;
    else return p;
  }
}

/*
 * A string without escapes or control characters starting at its opening quote `p`: returns the
 * index of its closing quote, or -1 (an escape, a control character or the body's end: decline).
 */
static int32_t rp_plain_string(const RpBody *s, int32_t p) {
  if (rp_at(s, p) != '"') return -1;
  const uint8_t *b = s->b;
  int32_t n = s->n;
  for (int32_t q = p + 1; q < n; q++) {
    uint8_t c = b[q];
    if (c == '"') return q;
    if (c == '\\' || c < 0x20) return -1;
  }
  return -1;
}

/* Member codes (records-page.ts: M_*). */
enum { RM_DATA = 0, RM_SEQUENCE, RM_KEY, RM_ARRIVAL, RM_ENCRYPTION, RM_RECORDS, RM_NEXT, RM_MILLIS, RM_CHILDREN, RM_OTHER };
static const char *const RP_NAMES[] = {"Data", "SequenceNumber", "PartitionKey", "ApproximateArrivalTimestamp", "EncryptionType", "Records", "NextShardIterator", "MillisBehindLatest", "ChildShards"};

/* The member name at `*p` (a plain string), its code; `*p` after the closing quote. -1: decline. */
static int rp_name(const RpBody *s, int32_t *p) {
  /*
   * The usual names first, known by their first letter: the name's bytes then its closing quote
   * are exactly what the scan below would find (no escape, no control character), at a quarter of
   * its cost (a byte loop and a memcmp of unknown length per member were a fifth of this reader).
   */
  if (rp_at(s, *p) == '"') {
    const uint8_t *name = s->b + *p + 1;
    int32_t room = s->n - *p - 1; /* bytes after the opening quote */
#define RP_IS(lit, code)                                                              \
  if (room >= (int32_t)sizeof(lit) && memcmp(name, lit "\"", sizeof(lit)) == 0) { \
    *p += (int32_t)sizeof(lit) + 1;                                                   \
    return code;                                                                      \
  }                                                                                   \
  break;
    switch (room > 0 ? name[0] : 0) {
      case 'D': RP_IS("Data", RM_DATA)
      case 'S': RP_IS("SequenceNumber", RM_SEQUENCE)
      case 'P': RP_IS("PartitionKey", RM_KEY)
      case 'A': RP_IS("ApproximateArrivalTimestamp", RM_ARRIVAL)
      case 'E': RP_IS("EncryptionType", RM_ENCRYPTION)
      case 'R': RP_IS("Records", RM_RECORDS)
      case 'N': RP_IS("NextShardIterator", RM_NEXT)
      case 'M': RP_IS("MillisBehindLatest", RM_MILLIS)
      case 'C': RP_IS("ChildShards", RM_CHILDREN)
      default: break;
    }
#undef RP_IS
  }
  int32_t e = rp_plain_string(s, *p);
  if (e < 0) return -1;
  int32_t len = e - *p - 1;
  const uint8_t *name = s->b + *p + 1;
  *p = e + 1;
  int m;
  switch (len) {
    case 4: m = RM_DATA; break;
    case 14: m = name[0] == 'S' ? RM_SEQUENCE : RM_ENCRYPTION; break;
    case 12: m = RM_KEY; break;
    case 27: m = RM_ARRIVAL; break;
    case 7: m = RM_RECORDS; break;
    case 17: m = RM_NEXT; break;
    case 18: m = RM_MILLIS; break;
    case 11: m = RM_CHILDREN; break;
    default: return RM_OTHER;
  }
  return memcmp(RP_NAMES[m], name, (size_t)len) == 0 ? m : RM_OTHER;
}

/*
 * A non-negative JSON number at `*p` read exactly (the JavaScript parser's fast path, and its
 * `Number(text)` where this one computes the same correctly rounded value): at most 15 significant
 * digits' worth of decimal digits and a power of ten within 1e±22, one correctly rounded
 * multiplication or division. `integer`: no fraction or exponent allowed. 0 declines.
 */
static int rp_number(const RpBody *s, int32_t *p, int integer, double *value) {
  int32_t q = *p;
  double mantissa = 0;
  int digits = 0;
  int c = rp_at(s, q);
  if (c == '0') {
    q++;
    c = rp_at(s, q);
    if (c >= '0' && c <= '9') return 0; /* a leading zero: the JavaScript parser refuses it */
  } else if (c >= '1' && c <= '9') {
    while ((c = rp_at(s, q)) >= '0' && c <= '9') {
      if (++digits > 15) return 0;
      mantissa = mantissa * 10 + (c - '0');
      q++;
    }
  } else {
    return 0;
  }
  int fraction = 0;
  if (rp_at(s, q) == '.') {
    if (integer) return 0;
    q++;
    int32_t f0 = q;
    while ((c = rp_at(s, q)) >= '0' && c <= '9') {
      if (++digits > 15) return 0;
      mantissa = mantissa * 10 + (c - '0');
      q++;
    }
    if (q == f0) return 0;
    fraction = q - f0;
  }
  int exponent = 0;
  c = rp_at(s, q);
  if (c == 'e' || c == 'E') {
    if (integer) return 0;
    q++;
    int negative = 0;
    c = rp_at(s, q);
    if (c == '+' || c == '-') {
      negative = c == '-';
      q++;
    }
    int32_t e0 = q;
    while ((c = rp_at(s, q)) >= '0' && c <= '9') {
      if (q - e0 >= 4) return 0;
      exponent = exponent * 10 + (c - '0');
      q++;
    }
    if (q == e0) return 0;
    if (negative) exponent = -exponent;
  }
  int e10 = exponent - fraction;
  if (e10 < -22 || e10 > 22) return 0;
  *value = e10 < 0 ? mantissa / RP_POW10[-e10] : mantissa * RP_POW10[e10];
  *p = q;
  return 1;
}

/* JavaScript's Math.round (halves toward +infinity) for the finite values read here. */
static double rp_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

/*
 * Decodes the base64 string at `*p` (its opening quote) into `out` at `*o`: whole groups, then
 * optionally one padded group (`xx==`, `xxx=`), then the closing quote, as the JavaScript
 * parser's fast loop reads it. 0 declines (anything else, which that parser reads its slow way).
 */
static int rp_base64(const RpBody *s, int32_t *p, uint8_t *out, int32_t cap, int32_t *o) {
  const uint8_t *b = s->b;
  int32_t n = s->n;
  int32_t q = *p + 1;
  int32_t w = *o;
#ifdef RP_SIMD
  if (rp_simd) rp_base64_avx2(b, n, &q, out, cap, &w);
#endif
  /* Whole groups of four digits: one 24-bit value each (the JavaScript parser's table loop), two at a time first. */
  while (q + 8 <= n && w + 6 <= cap) {
    uint32_t x = RP_D0[b[q]] | RP_D1[b[q + 1]] | RP_D2[b[q + 2]] | RP_D3[b[q + 3]];
    uint32_t y = RP_D0[b[q + 4]] | RP_D1[b[q + 5]] | RP_D2[b[q + 6]] | RP_D3[b[q + 7]];
    if ((x | y) & RP_BAD) break;
    out[w] = (uint8_t)(x >> 16);
    out[w + 1] = (uint8_t)(x >> 8);
    out[w + 2] = (uint8_t)x;
    out[w + 3] = (uint8_t)(y >> 16);
    out[w + 4] = (uint8_t)(y >> 8);
    out[w + 5] = (uint8_t)y;
    w += 6;
    q += 8;
  }
  while (q + 4 <= n) {
    uint32_t x = RP_D0[b[q]] | RP_D1[b[q + 1]] | RP_D2[b[q + 2]] | RP_D3[b[q + 3]];
    if (x & RP_BAD) break;
    if (w + 3 > cap) return 0;
    out[w] = (uint8_t)(x >> 16);
    out[w + 1] = (uint8_t)(x >> 8);
    out[w + 2] = (uint8_t)x;
    w += 3;
    q += 4;
  }
  int a = rp_at(s, q);
  if (a != RP_END && RP_B64[a] == 65) {
    *p = q + 1;
    *o = w;
    return 1;
  }
  if (q + 4 < n && b[q + 4] == '"') {
    uint8_t d0 = RP_B64[b[q]], d1 = RP_B64[b[q + 1]], d2 = RP_B64[b[q + 2]], d3 = RP_B64[b[q + 3]];
    if (d0 < 64 && d1 < 64 && d2 == 64 && d3 == 64) {
      if (w + 1 > cap) return 0;
      out[w] = (uint8_t)((d0 << 2) | (d1 >> 4));
      *p = q + 5;
      *o = w + 1;
      return 1;
    }
    if (d0 < 64 && d1 < 64 && d2 < 64 && d3 == 64) {
      if (w + 2 > cap) return 0;
      out[w] = (uint8_t)((d0 << 2) | (d1 >> 4));
      out[w + 1] = (uint8_t)(((d1 & 15) << 4) | (d2 >> 2));
      *p = q + 5;
      *o = w + 2;
      return 1;
    }
  }
  return 0;
}

/* One record (an object at `*p`) into record slot k. 0 declines. */
typedef struct {
  uint8_t *data;
  int32_t data_cap;
  uint8_t *text;
  int32_t text_cap;
  int32_t *ends;
  int32_t *texts;
  int32_t *enc;
  double *arrival;
  uint8_t *flags;
  int32_t rec_cap;
} RpOut;

static int rp_record(const RpBody *s, int32_t *pp, int32_t k, const RpOut *w_, int32_t *o, int32_t *t, int32_t *encrypted) {
  uint8_t *data = w_->data, *text = w_->text;
  int32_t data_cap = w_->data_cap, text_cap = w_->text_cap;
  int32_t p = rp_ws(s, *pp);
  if (rp_at(s, p) != '{') return 0;
  p++;
  int seen = 0;
  int32_t key_s = -1, key_e = -1, enc_s = -1, enc_e = -1, seq_len = 0;
  int32_t t0 = *t;
  double when = 0;
  for (;;) {
    p = rp_ws(s, p);
    int m = rp_name(s, &p);
    if (m < 0 || m >= RM_RECORDS) return 0;
    if (seen & (1 << m)) return 0;
    seen |= 1 << m;
    p = rp_ws(s, p);
    if (rp_at(s, p) != ':') return 0;
    p = rp_ws(s, p + 1);
    switch (m) {
      case RM_DATA:
        if (rp_at(s, p) != '"' || !rp_base64(s, &p, data, data_cap, o)) return 0;
        break;
      case RM_SEQUENCE: {
        /* Digits then the quote, 1 to 128 of them, no leading zero (position.ts's rule). */
        if (rp_at(s, p) != '"') return 0;
        int32_t q = p + 1;
        int c;
        /* Eight digits at a time: no byte below '0', above '9' or with its high bit set. */
        while (q + 8 <= s->n) {
          uint64_t x;
          memcpy(&x, s->b + q, 8);
          if ((x | (x + 0x4646464646464646ULL) | (x - 0x3030303030303030ULL)) & 0x8080808080808080ULL) break;
          q += 8;
        }
        while ((c = rp_at(s, q)) >= '0' && c <= '9') q++;
        int32_t len = q - p - 1;
        if (c != '"' || len < 1 || len > 128 || (len > 1 && s->b[p + 1] == '0')) return 0;
        if (t0 + len > text_cap) return 0;
        /* First in the record's texts, whatever the member order. */
        memcpy(text + t0, s->b + p + 1, (size_t)len);
        seq_len = len;
        p = q + 1;
        break;
      }
      case RM_KEY: {
        int32_t e = rp_plain_string(s, p);
        if (e < 0) return 0;
        key_s = p + 1;
        key_e = e;
        p = e + 1;
        break;
      }
      case RM_ARRIVAL: {
        double v;
        if (!rp_number(s, &p, 0, &v)) return 0;
        when = rp_round(v * 1000);
        /* A time a Date can hold; the JavaScript parser names the error. */
        if (!(fabs(when) <= 8.64e15)) return 0;
        break;
      }
      case RM_ENCRYPTION: {
        int32_t e = rp_plain_string(s, p);
        if (e < 0) return 0;
        enc_s = p + 1;
        enc_e = e;
        p = e + 1;
        break;
      }
      default:
        return 0;
    }
    p = rp_ws(s, p);
    int c = rp_at(s, p);
    p++;
    if (c == ',') continue;
    if (c == '}') break;
    return 0;
  }
  /* The four usual members, each once (a record without one goes the JavaScript way). */
  const int usual = (1 << RM_DATA) | (1 << RM_SEQUENCE) | (1 << RM_KEY) | (1 << RM_ARRIVAL);
  if ((seen & usual) != usual) return 0;
  int32_t w = t0 + seq_len;
  int32_t seq_end = w;
  int32_t key_len = key_e - key_s;
  if (w + key_len > text_cap) return 0;
  memcpy(text + w, s->b + key_s, (size_t)key_len);
  w += key_len;
  w_->ends[k] = *o;
  w_->texts[2 * k] = seq_end;
  w_->texts[2 * k + 1] = w;
  w_->enc[2 * k] = enc_s;
  w_->enc[2 * k + 1] = enc_e;
  if (enc_s >= 0) (*encrypted)++;
  w_->arrival[k] = when;
  w_->flags[k] = (uint8_t)(RP_HAS_SEQ | RP_HAS_DATA | RP_HAS_KEY | RP_HAS_ARRIVAL | (enc_s >= 0 ? RP_HAS_ENCRYPTION : 0));
  *t = w;
  *pp = p;
  return 1;
}

/* The whole body; 1 read (out filled), 0 declined. */
static int records_page_scan(const uint8_t *body, int32_t n, const RpOut *w, double *out) {
  rp_init();
  int32_t encrypted = 0;
  RpBody body_s = {body, n};
  const RpBody *s = &body_s;
  int32_t count = 0, o = 0, t = 0, next_s = -1, next_e = -1;
  int records = 0, children = -1, seen = 0;
  double millis = NAN;
  int32_t p = rp_ws(s, 0);
  if (rp_at(s, p) != '{') return 0;
  p = rp_ws(s, p + 1);
  if (rp_at(s, p) == '}') {
    p++;
  } else {
    for (;;) {
      p = rp_ws(s, p);
      int m = rp_name(s, &p);
      if (m < RM_RECORDS || m == RM_OTHER) return 0;
      if (seen & (1 << m)) return 0;
      seen |= 1 << m;
      p = rp_ws(s, p);
      if (rp_at(s, p) != ':') return 0;
      p = rp_ws(s, p + 1);
      if (m == RM_RECORDS) {
        if (rp_at(s, p) != '[') return 0;
        records = 1;
        p = rp_ws(s, p + 1);
        if (rp_at(s, p) == ']') {
          p++;
        } else {
          for (;;) {
            if (count >= w->rec_cap) return 0;
            if (!rp_record(s, &p, count, w, &o, &t, &encrypted)) return 0;
            count++;
            p = rp_ws(s, p);
            int c = rp_at(s, p);
            p++;
            if (c == ',') continue;
            if (c == ']') break;
            return 0;
          }
        }
      } else if (m == RM_NEXT) {
        int32_t e = rp_plain_string(s, p);
        if (e < 0) return 0;
        next_s = p + 1;
        next_e = e;
        p = e + 1;
      } else if (m == RM_MILLIS) {
        if (!rp_number(s, &p, 1, &millis)) return 0;
      } else {
        /* ChildShards: only an empty list here (a closed shard's children go the JavaScript way). */
        if (rp_at(s, p) != '[') return 0;
        p = rp_ws(s, p + 1);
        if (rp_at(s, p) != ']') return 0;
        p++;
        children = 0;
      }
      p = rp_ws(s, p);
      int c = rp_at(s, p);
      p++;
      if (c == ',') continue;
      if (c == '}') break;
      return 0;
    }
  }
  if (rp_ws(s, p) != n) return 0;
  out[0] = count;
  out[1] = o;
  out[2] = t;
  out[3] = records;
  out[4] = next_s;
  out[5] = next_e;
  out[6] = millis;
  out[7] = children;
  out[8] = encrypted;
  return 1;
}

static int rp_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

/*
 * recordsPage(body: Uint8Array, data: Uint8Array, text: Uint8Array, ends: Int32Array,
 *             texts: Int32Array, enc: Int32Array, arrival: Float64Array, flags: Uint8Array,
 *             out: Float64Array) → boolean
 * True: the body was read into the arrays (see the file comment); false: declined.
 */
static napi_value records_page_js(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_value result;
  int ok = 0;
  void *body, *data, *text, *ends, *texts, *enc, *arrival, *flags, *out;
  size_t body_n, data_n, text_n, ends_n, texts_n, enc_n, arrival_n, flags_n, out_n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 9 && rp_typed(env, argv[0], napi_uint8_array, &body, &body_n) &&
      rp_typed(env, argv[1], napi_uint8_array, &data, &data_n) && rp_typed(env, argv[2], napi_uint8_array, &text, &text_n) &&
      rp_typed(env, argv[3], napi_int32_array, &ends, &ends_n) && rp_typed(env, argv[4], napi_int32_array, &texts, &texts_n) &&
      rp_typed(env, argv[5], napi_int32_array, &enc, &enc_n) && rp_typed(env, argv[6], napi_float64_array, &arrival, &arrival_n) &&
      rp_typed(env, argv[7], napi_uint8_array, &flags, &flags_n) && rp_typed(env, argv[8], napi_float64_array, &out, &out_n) && out_n >= 9 &&
      body_n <= INT32_MAX && data_n <= INT32_MAX && text_n <= INT32_MAX) {
    size_t cap = ends_n;
    if (texts_n / 2 < cap) cap = texts_n / 2;
    if (enc_n / 2 < cap) cap = enc_n / 2;
    if (arrival_n < cap) cap = arrival_n;
    if (flags_n < cap) cap = flags_n;
    if (cap > INT32_MAX) cap = INT32_MAX;
    RpOut w = {data, (int32_t)data_n, text, (int32_t)text_n, ends, texts, enc, arrival, flags, (int32_t)cap};
    ok = records_page_scan(body, (int32_t)body_n, &w, out);
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

/* Adds `recordsPage` to the module's exports (called by record_scan.c's init). */
void records_page_register(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "recordsPage", NAPI_AUTO_LENGTH, records_page_js, NULL, &fn) == napi_ok) napi_set_named_property(env, exports, "recordsPage", fn);
}
