/*
 * Memory-safety fuzzing of the native scanner (native/record_scan.c) under AddressSanitizer and
 * UndefinedBehaviorSanitizer: random records and byte-level mutations of them, each in a buffer of
 * exactly its size, scanned and staged into arrays of exactly their sizes, so that any read past
 * a record or write past a row, stage or region stops the run. Run by native/fuzz/run.sh (not part
 * of `npm test`: it needs gcc's sanitizer runtimes). What the scanner decides is checked against
 * the JavaScript scanner by test/pipeline/record-scan.differential.test.ts; this checks that no
 * input makes it touch memory it does not own.
 */
#include <node_api.h>
/* No module registration here: the N-API glue is compiled but never loaded or called. */
#undef NAPI_MODULE
#define NAPI_MODULE(name, init)
#include "../record_scan.c"

#include <stdio.h>

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 16);
}

static const char *SEEDS[] = {
    "{\"s\":\"hello\",\"rs\":\"x\",\"ts\":\"2026-01-08T15:16:52.123456Z\",\"l\":42,\"i\":-7,\"d\":1.5e3,\"f\":0.25,\"b\":true,\"dt\":\"2026-01-08\"}",
    "{\"rs\":\"r\",\"x\":\"\\u00e9\\n\",\"detail\":{\"user\":{\"id\":\"u1\",\"name\":\"caf\xc3\xa9 \xf0\x9d\x84\x9e\"},\"n\":null},\"other\":[1,2,{\"a\":[[[]]]}]}",
    "  {\"rs\":\"a\",\"s\":null,\"ts\":\"1969-12-31 23:59:59z\",\"dt\":\"0001-01-01\",\"l\":-9007199254740991,\"d\":-0.0000001}\n",
    "{\"rs\":\"a\",\"detail\":null,\"x\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"big\":1e4294967297,\"neg\":-0,\"t\":false}",
    "{\"rs\":\"a\",\"detail\":{\"user\":null},\"l\":123456789012345678901234567890,\"f\":3.5e38}",
};

static const uint8_t ALPHABET[] = "{}[]:,\"\\ 0123456789.-+eEtnulrfaTZz\t\n\x00\x1f\x7f\x80\xc3\xa9\xe2\x9c\x93\xed\xa0\xf0\xf4\x90\xff";

/* The key tree: root (s, rs, ts, tn, l, i, d, f, b, dt, detail) → detail (user, n) → user (id, name). */
static Scanner *make_scanner(int columns) {
  static const struct {
    int level;
    const char *key;
    int index, kind, required, child;
  } spec[] = {
      {0, "s", 0, K_STRING, 0, -1},  {0, "rs", 1, K_STRING, 1, -1},   {0, "ts", 2, K_TIMESTAMP, 0, -1}, {0, "tn", 3, K_TIMESTAMP, 0, -1},
      {0, "l", 4, K_LONG, 0, -1},    {0, "i", 5, K_INT, 0, -1},       {0, "d", 6, K_DOUBLE, 0, -1},     {0, "f", 7, K_FLOAT, 0, -1},
      {0, "b", 8, K_BOOLEAN, 0, -1}, {0, "dt", 9, K_DATE, 0, -1},     {0, "detail", -1, 0, 0, 1},       {1, "user", -1, 0, 0, 2},
      {1, "n", 10, K_DOUBLE, 0, -1}, {2, "id", 11, K_STRING, 0, -1},  {2, "name", 12, K_STRING, 0, -1},
  };
  int count = (int)(sizeof spec / sizeof spec[0]);
  Scanner *s = calloc(1, sizeof(Scanner));
  s->entry_count = count;
  s->level_count = 3;
  s->levels = calloc(3, sizeof(Level));
  s->entries = calloc((size_t)count, sizeof(Entry));
  s->seen = calloc((size_t)count, sizeof(uint32_t));
  for (int k = 0; k < count; k++) {
    Level *l = &s->levels[spec[k].level];
    if (l->count == 0) l->entries = &s->entries[k];
    l->count++;
    Entry *e = &s->entries[k];
    size_t len = strlen(spec[k].key);
    uint8_t *key = malloc(len);
    memcpy(key, spec[k].key, len);
    e->key = key;
    e->len = (int32_t)len;
    e->plain = 1;
    e->slot = k;
    e->index = spec[k].index;
    e->kind = spec[k].kind;
    e->required = spec[k].required;
    e->child = spec[k].child >= 0 ? &s->levels[spec[k].child] : NULL;
  }
  s->tags = malloc((size_t)columns);
  s->from = malloc(sizeof(int32_t) * (size_t)columns);
  s->to = malloc(sizeof(int32_t) * (size_t)columns);
  s->nums = malloc(sizeof(double) * (size_t)columns);
  /* A small stage: it fills often, by rows and by bytes. */
  s->capacity = 8;
  s->region_bytes = 40;
  s->columns = columns;
  s->stage_tags = malloc((size_t)columns * 8);
  s->stage_nums = malloc(sizeof(double) * (size_t)columns * 8);
  s->stage_lengths = malloc(sizeof(int32_t) * (size_t)columns * 8);
  s->stage_bytes = malloc((size_t)columns * 40);
  s->stage_state = calloc((size_t)columns + 1, sizeof(int32_t));
  return s;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 2000000;
  const int columns = 13;
  Scanner *s = make_scanner(columns);
  long accepted = 0, staged = 0, full = 0;
  uint8_t work[4096];
  for (long it = 0; it < iterations; it++) {
    const char *seed = SEEDS[next_random() % (sizeof SEEDS / sizeof SEEDS[0])];
    size_t n = strlen(seed);
    memcpy(work, seed, n);
    int edits = (int)(next_random() % 6);
    for (int e = 0; e < edits; e++) {
      size_t at = next_random() % (n + 1);
      uint8_t b = ALPHABET[next_random() % (sizeof ALPHABET - 1)];
      switch (next_random() % 4) {
        case 0:
          if (at < n) work[at] = b;
          break;
        case 1:
          if (n < sizeof work - 1) {
            memmove(work + at + 1, work + at, n - at);
            work[at] = b;
            n++;
          }
          break;
        case 2:
          if (at < n) {
            memmove(work + at, work + at + 1, n - at - 1);
            n--;
          }
          break;
        default:
          n = at; /* truncated */
      }
    }
    /* Exactly n bytes on the heap: a read at n is caught. */
    uint8_t *data = malloc(n > 0 ? n : 1);
    memcpy(data, work, n);
    /* Every other record with strict keys (transform.unmapped other than ignore). */
    s->strict_keys = (int32_t)(it & 1);
    if (scan(s, data, (int32_t)n)) {
      accepted++;
      int r = stage_row(s);
      if (r == 2) {
        full++;
        memset(s->stage_state, 0, sizeof(int32_t) * ((size_t)columns + 1));
        r = stage_row(s);
      }
      if (r == 1) staged++;
      /* Regions share one allocation: a column may not spill into its neighbour's. */
      for (int c = 0; c < columns; c++)
        if (s->stage_state[1 + c] > s->region_bytes) {
          fprintf(stderr, "scan_fuzz: column %d uses %d bytes of its %d\n", c, s->stage_state[1 + c], s->region_bytes);
          return 2;
        }
    }
    free(data);
  }
  fflush(stderr);
  printf("scan_fuzz: %ld inputs, %ld read by the fast path, %ld staged, %ld full stages\n", iterations, accepted, staged, full);
  return accepted > 0 && staged > 0 ? 0 : 1;
}
