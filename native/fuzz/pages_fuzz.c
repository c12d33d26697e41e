/*
 * Memory-safety fuzzing of the GetRecords body reader (native/records_page.c) under
 * AddressSanitizer and UndefinedBehaviorSanitizer: generated usual bodies (the shape Kinesis and
 * the fast endpoint send) and byte-level mutations of them, each in a buffer of exactly its size,
 * read into arrays of exactly the sizes src/source/kinesis/records-page.ts gives (data and text the
 * body's length, (n / 64) + 2 record slots), so that any read past a body or write past an array
 * stops the run. Run by native/fuzz/pages.sh. What the reader decides is checked against the
 * JavaScript parser by test/source/kinesis-records-page.differential.test.ts; this checks that no
 * input makes it touch memory it does not own, and that what it reads is consistent.
 */
#include <node_api.h>
#include "../records_page.c"

#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x2545f4914f6cdd1dULL;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 16);
}

static const char B64_DIGITS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char *TIMES[] = {"1767885412.123", "1.767885412123E9", "0", "0.0005", "1767885412.9995", "1e22", "1e23", "123456789012345.5", "8.64e12", "1.5e-3", "17678854129995e-4", "1E+9"};
static const uint8_t SPECIAL[] = "{}[]:,\"\\ 0123456789.-+eEnul=/+A\t\n\x00\x1f\x7f\x80\xc3\xff";

/* Appends to a growing text. */
typedef struct {
  char *p;
  size_t n, cap;
} Text;
static void put(Text *t, const char *s, size_t len) {
  if (t->n + len + 1 > t->cap) {
    t->cap = (t->n + len + 1) * 2;
    t->p = realloc(t->p, t->cap);
  }
  memcpy(t->p + t->n, s, len);
  t->n += len;
}
static void puts_(Text *t, const char *s) { put(t, s, strlen(s)); }

static void usual_body(Text *t) {
  t->n = 0;
  int records = (int)(next_random() % 12);
  puts_(t, next_random() % 4 == 0 ? " {\"MillisBehindLatest\":0,\"Records\":[" : "{\"Records\":[");
  for (int r = 0; r < records; r++) {
    if (r) puts_(t, ",");
    char member[4][600];
    char digits[130];
    int len = 1 + (int)(next_random() % 60);
    for (int i = 0; i < len; i++) digits[i] = (char)('0' + (i == 0 ? 1 + next_random() % 9 : next_random() % 10));
    digits[len] = 0;
    snprintf(member[0], sizeof member[0], "\"SequenceNumber\":\"%s\"", digits);
    snprintf(member[1], sizeof member[1], "\"ApproximateArrivalTimestamp\":%s", TIMES[next_random() % 16 ? next_random() % 2 : next_random() % (sizeof TIMES / sizeof TIMES[0])]);
    char data[500];
    int groups = (int)(next_random() % 100);
    int at = 0;
    for (int g = 0; g < groups; g++)
      for (int i = 0; i < 4; i++) data[at++] = B64_DIGITS[next_random() % 64];
    int tail = (int)(next_random() % 3);
    if (tail == 1) {
      data[at++] = B64_DIGITS[next_random() % 64];
      data[at++] = B64_DIGITS[next_random() % 64];
      data[at++] = '=';
      data[at++] = '=';
    } else if (tail == 2) {
      for (int i = 0; i < 3; i++) data[at++] = B64_DIGITS[next_random() % 64];
      data[at++] = '=';
    }
    data[at] = 0;
    snprintf(member[2], sizeof member[2], "\"Data\":\"%s\"", data);
    snprintf(member[3], sizeof member[3], "\"PartitionKey\":\"pk_%u\xc3\xa9\"", next_random() % 100000);
    puts_(t, "{");
    int first = (int)(next_random() % 4);
    for (int m = 0; m < 4; m++) {
      if (m) puts_(t, next_random() % 8 == 0 ? " , " : ",");
      puts_(t, member[(first + m) % 4]);
    }
    if (next_random() % 8 == 0) puts_(t, ",\"EncryptionType\":\"KMS\"");
    puts_(t, "}");
  }
  puts_(t, "]");
  int end = (int)(next_random() % 3);
  if (end == 0) puts_(t, ",\"NextShardIterator\":\"AAAAAAAAAAHx/+==\"");
  else if (end == 1) puts_(t, ",\"ChildShards\":[ ]");
  puts_(t, ",\"MillisBehindLatest\":12345}\n");
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  long read = 0, records = 0, vector_compared = 0;
  Text t = {0};
#ifdef RP_SIMD
  rp_init();
  int simd_supported = rp_simd;
#else
  int simd_supported = 0;
#endif
  for (long it = 0; it < iterations; it++) {
    usual_body(&t);
    size_t n = t.n;
    uint8_t *body = malloc(n ? n : 1);
    memcpy(body, t.p, n);
    int kind = (int)(next_random() % 10);
    if (kind < 7 && n > 0) {
      /* Mutations: a byte replaced, the body cut short, a byte dropped. */
      int edits = 1 + (int)(next_random() % 3);
      for (int e = 0; e < edits && n > 0; e++) {
        size_t at = next_random() % n;
        int how = (int)(next_random() % 3);
        if (how == 0) body[at] = next_random() % 4 ? SPECIAL[next_random() % (sizeof SPECIAL - 1)] : (uint8_t)next_random();
        else if (how == 1) n = at;
        else {
          memmove(body + at, body + at + 1, n - at - 1);
          n--;
        }
      }
      /* Exactly n bytes: the tail beyond n is out of bounds for ASan. */
      uint8_t *exact = malloc(n ? n : 1);
      memcpy(exact, body, n);
      free(body);
      body = exact;
    }
    int32_t cap = (int32_t)(n >> 6) + 2;
    uint8_t *data = malloc(n ? n : 1), *text = malloc(n ? n : 1), *flags = malloc((size_t)cap);
    int32_t *ends = malloc(sizeof(int32_t) * (size_t)cap), *texts = malloc(sizeof(int32_t) * 2 * (size_t)cap), *enc = malloc(sizeof(int32_t) * 2 * (size_t)cap);
    double *arrival = malloc(sizeof(double) * (size_t)cap);
    double out[9];
    RpOut w = {data, (int32_t)n, text, (int32_t)n, ends, texts, enc, arrival, flags, cap};
    int ok = records_page_scan(body, (int32_t)n, &w, out);
#ifdef RP_SIMD
    /* The other base64 way (vector or scalar) reads the same body exactly alike. */
    if (simd_supported) {
      uint8_t *data2 = malloc(n ? n : 1), *text2 = malloc(n ? n : 1), *flags2 = malloc((size_t)cap);
      int32_t *ends2 = malloc(sizeof(int32_t) * (size_t)cap), *texts2 = malloc(sizeof(int32_t) * 2 * (size_t)cap), *enc2 = malloc(sizeof(int32_t) * 2 * (size_t)cap);
      double *arrival2 = malloc(sizeof(double) * (size_t)cap);
      double out2[9];
      RpOut w2 = {data2, (int32_t)n, text2, (int32_t)n, ends2, texts2, enc2, arrival2, flags2, cap};
      rp_simd = !rp_simd;
      int ok2 = records_page_scan(body, (int32_t)n, &w2, out2);
      rp_simd = !rp_simd;
      int same = ok == ok2;
      if (same && ok) {
        int32_t count = (int32_t)out[0];
        same = memcmp(out, out2, 4 * sizeof(double)) == 0 && out[4] == out2[4] && out[5] == out2[5] && out[7] == out2[7] && out[8] == out2[8] &&
               memcmp(data, data2, (size_t)out[1]) == 0 && memcmp(text, text2, (size_t)out[2]) == 0 && memcmp(ends, ends2, sizeof(int32_t) * (size_t)count) == 0 &&
               memcmp(texts, texts2, 2 * sizeof(int32_t) * (size_t)count) == 0 && memcmp(flags, flags2, (size_t)count) == 0;
        vector_compared++;
      }
      free(data2);
      free(text2);
      free(flags2);
      free(ends2);
      free(texts2);
      free(enc2);
      free(arrival2);
      if (!same) {
        fprintf(stderr, "pages_fuzz: input %ld read differently with and without AVX2 base64 (%d vs %d)\n", it, ok, ok2);
        return 1;
      }
    }
    if (it % 2) rp_simd = !rp_simd && simd_supported; /* both ways first, alternately */
#endif
    if (ok) {
      read++;
      int32_t count = (int32_t)out[0];
      records += count;
      /* What was read is consistent: ends in order and within what was written. */
      int32_t prev_d = 0, prev_t = 0;
      for (int32_t k = 0; k < count; k++) {
        if (ends[k] < prev_d || ends[k] > out[1] || texts[2 * k] < prev_t || texts[2 * k + 1] < texts[2 * k] || texts[2 * k + 1] > out[2] ||
            (enc[2 * k] >= 0 && (enc[2 * k + 1] < enc[2 * k] || enc[2 * k + 1] > (int32_t)n))) {
          fprintf(stderr, "pages_fuzz: inconsistent record %d\n", k);
          return 1;
        }
        prev_d = ends[k];
        prev_t = texts[2 * k + 1];
      }
    }
    free(body);
    free(data);
    free(text);
    free(flags);
    free(ends);
    free(texts);
    free(enc);
    free(arrival);
  }
  free(t.p);
  printf("pages_fuzz: %ld inputs, %ld read, %ld records; AVX2 base64 %s, %ld read bodies compared both ways\n", iterations, read, records,
         simd_supported ? "on" : "not available", vector_compared);
  return 0;
}
