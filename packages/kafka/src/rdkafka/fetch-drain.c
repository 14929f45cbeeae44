/*
 * Serves a librdkafka consumer queue in one call from JS (compiled at load by Bun's built-in C
 * compiler, bun:ffi `cc`; see fetch-drain.ts).
 *
 * Taken one by one from JS, each fetched message cost about eight foreign calls (poll, type, message,
 * headers, timestamp, copy, destroy...), and those calls were most of the consumer's time. Here one
 * call polls up to `max` events: a fetched message is copied (value, key, headers) into the caller's
 * arena, its fields are written to a row of `rows`, and its event is destroyed at once; any other event
 * (rebalance, commit result, error, log) is handed back alive in its row, for JS to serve and destroy,
 * and ends the batch so events keep their order. A message that does not fit in what is left of the
 * arena, or that carries an error, is handed back alive too, with its event (JS copies it the slow way).
 *
 * No header is included: the compiler has none of its own, and the few types needed are librdkafka's
 * stable public ABI (rd_kafka_message_t is documented as a public struct).
 */

typedef unsigned long size_t;
typedef long long int64_t;

typedef struct {
  int err;
  void *rkt;
  int partition;
  void *payload;
  size_t len;
  void *key;
  size_t key_len;
  int64_t offset;
  void *private_;
} rd_kafka_message_t;

extern void *dlopen(const char *path, int flags);
extern void *dlsym(void *handle, const char *name);
extern void *memcpy(void *dest, const void *src, size_t n);

#define RTLD_NOW 2
#define RTLD_NOLOAD 4
#define EVENT_FETCH 2
#define ERR_NO_ERROR 0

/*
 * Row layout, in doubles (JS reads them as numbers without a BigInt each; offsets, timestamps and
 * pointers all stay below 2^53 on 64-bit Linux); fetch-drain.ts reads the same offsets.
 */
#define ROW_WORDS 13
enum {
  ROW_KIND,      /* 1: message copied; 2: another event, handed back (ROW_EVENT); 3: a message not
                    copied (an error, or too big for the arena), handed back with its event */
  ROW_EVENT,     /* the live event, for kind 2 */
  ROW_PARTITION,
  ROW_OFFSET,
  ROW_TIMESTAMP,
  ROW_TOPIC,     /* the rd_kafka_topic_t, to name the topic */
  ROW_VALUE_AT,  /* arena offset of the value; its length follows */
  ROW_VALUE_LEN,
  ROW_KEY_AT,    /* arena offset of the key; its length follows, -1 for no key */
  ROW_KEY_LEN,
  ROW_HEADERS_AT, /* arena offset of the headers; their count follows */
  ROW_HEADERS,
  ROW_MESSAGE,    /* the live message of a kind 3 row */
};
#define KIND_MESSAGE 1
#define KIND_EVENT 2
#define KIND_NATIVE_MESSAGE 3

static void *(*queue_poll)(void *queue, int timeout_ms);
static int (*event_type)(void *event);
static void (*event_destroy)(void *event);
static rd_kafka_message_t *(*event_message_next)(void *event);
static int64_t (*message_timestamp)(const rd_kafka_message_t *message, int *type);
static int (*message_headers)(const rd_kafka_message_t *message, void **headers);
static int (*header_get_all)(const void *headers, size_t index, const char **name, const void **value,
                             size_t *size);

/* Binds the functions of the librdkafka already loaded from `path`; 0 when all were found. */
int drain_bind(const char *path) {
  void *library = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (library == 0) return -1;
  queue_poll = dlsym(library, "rd_kafka_queue_poll");
  event_type = dlsym(library, "rd_kafka_event_type");
  event_destroy = dlsym(library, "rd_kafka_event_destroy");
  event_message_next = dlsym(library, "rd_kafka_event_message_next");
  message_timestamp = dlsym(library, "rd_kafka_message_timestamp");
  message_headers = dlsym(library, "rd_kafka_message_headers");
  header_get_all = dlsym(library, "rd_kafka_header_get_all");
  if (!queue_poll || !event_type || !event_destroy || !event_message_next || !message_timestamp ||
      !message_headers || !header_get_all)
    return -2;
  return 0;
}

static void put_u32(unsigned char *at, size_t value) {
  at[0] = value & 0xff;
  at[1] = (value >> 8) & 0xff;
  at[2] = (value >> 16) & 0xff;
  at[3] = (value >> 24) & 0xff;
}

/* Header `index`: its name and the name's length, its value (a null value as an empty one); 0 past the end. */
static int header_at(const void *headers, size_t index, const char **name, size_t *name_len,
                     const void **value, size_t *size) {
  if (header_get_all(headers, index, name, value, size) != ERR_NO_ERROR) return 0;
  size_t length = 0;
  while ((*name)[length] != 0) length++;
  *name_len = length;
  if (*value == 0) *size = 0;
  return 1;
}

/* Bytes the message needs in the arena: value, key, and each header as u32 lengths then bytes. */
static size_t needed(const rd_kafka_message_t *m, const void *headers) {
  /* The value and the end are each aligned to 8 bytes: up to 7 bytes of padding each. */
  size_t total = m->len + m->key_len + 16;
  const char *name;
  const void *value;
  size_t name_len, size;
  for (size_t i = 0; headers != 0 && header_at(headers, i, &name, &name_len, &value, &size); i++)
    total += 8 + name_len + size;
  return total;
}

static size_t copy_headers(const void *headers, unsigned char *arena, size_t used, int64_t *count_out) {
  const char *name;
  const void *value;
  size_t name_len, size;
  int64_t copied = 0;
  for (size_t i = 0; header_at(headers, i, &name, &name_len, &value, &size); i++) {
    put_u32(arena + used, name_len);
    memcpy(arena + used + 4, name, name_len);
    used += 4 + name_len;
    put_u32(arena + used, size);
    if (size > 0) memcpy(arena + used + 4, value, size);
    used += 4 + size;
    copied++;
  }
  *count_out = copied;
  return used;
}

/*
 * Polls `queue` without waiting, up to `max` rows; returns how many rows were written. `*arena_used`
 * is where copying starts and is advanced past what was copied.
 */
int drain_fetch(void *queue, int max, double *rows, unsigned char *arena, size_t arena_size,
                size_t *arena_used) {
  int written = 0;
  size_t used = *arena_used;
  while (written < max) {
    void *event = queue_poll(queue, 0);
    if (event == 0) break;
    double *row = rows + (size_t)written * ROW_WORDS;
    written++;
    rd_kafka_message_t *m = event_type(event) == EVENT_FETCH ? event_message_next(event) : 0;
    void *headers = 0;
    if (m != 0 && m->err == ERR_NO_ERROR && message_headers(m, &headers) != ERR_NO_ERROR) headers = 0;
    if (m == 0) {
      row[ROW_KIND] = KIND_EVENT;
      row[ROW_EVENT] = (double)(size_t)event;
      break;
    }
    if (m->err != ERR_NO_ERROR || used + needed(m, headers) > arena_size) {
      /* The event's message iterator has moved past `m`: the message itself is handed back with it. */
      row[ROW_KIND] = KIND_NATIVE_MESSAGE;
      row[ROW_EVENT] = (double)(size_t)event;
      row[ROW_MESSAGE] = (double)(size_t)m;
      break;
    }
    row[ROW_KIND] = KIND_MESSAGE;
    row[ROW_PARTITION] = m->partition;
    row[ROW_OFFSET] = m->offset;
    row[ROW_TIMESTAMP] = message_timestamp(m, 0);
    row[ROW_TOPIC] = (double)(size_t)m->rkt;
    row[ROW_VALUE_AT] = used;
    size_t value_len = m->payload == 0 ? 0 : m->len;
    row[ROW_VALUE_LEN] = value_len;
    if (value_len > 0) memcpy(arena + used, m->payload, value_len);
    used += (value_len + 7) & ~7;
    row[ROW_KEY_AT] = used;
    row[ROW_KEY_LEN] = m->key == 0 ? -1 : (double)m->key_len;
    if (m->key != 0 && m->key_len > 0) memcpy(arena + used, m->key, m->key_len);
    if (m->key != 0) used += m->key_len;
    row[ROW_HEADERS_AT] = used;
    int64_t header_count = 0;
    if (headers != 0) used = copy_headers(headers, arena, used, &header_count);
    row[ROW_HEADERS] = (double)header_count;
    used = (used + 7) & ~7;
    event_destroy(event);
  }
  *arena_used = used;
  return written;
}
