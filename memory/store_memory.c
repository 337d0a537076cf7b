/* The in-memory store: a chained hash table of whole entries under one lock, doubled as
 * it fills. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *next;
    char *task;
    uint8_t key[16];
    unsigned char *head, *value;
    size_t head_size, value_size;
    int64_t last_access_ns;
} node;

typedef struct meta {
    struct meta *next;
    char *task, *name, *value;
} meta;

typedef struct mem_state {
    weft_plat_mutex lock;
    node **buckets;
    size_t n_buckets, n_nodes;
    meta *metas;
} mem_state;

static size_t bucket_of(const mem_state *s, const char *task, const uint8_t key[16]) {
    uint64_t k;
    memcpy(&k, key, 8);
    return (size_t)((k ^ weft__hash64(task, strlen(task))) % s->n_buckets);
}

static int mem_open(void *state, const char *location) {
    (void)location;
    mem_state *s = state;
    s->n_buckets = 1024;
    s->buckets = calloc(s->n_buckets, sizeof *s->buckets);
    if (!s->buckets) return WEFT_ENOMEM;
    weft_plat_mutex_init(&s->lock);
    return 0;
}

static void free_node(node *n) {
    free(n->task);
    free(n->head);
    free(n->value);
    free(n);
}

static void mem_close(void *state) {
    mem_state *s = state;
    for (size_t b = 0; b < s->n_buckets; b++)
        for (node *n = s->buckets[b], *next; n; n = next) {
            next = n->next;
            free_node(n);
        }
    for (meta *m = s->metas, *next; m; m = next) {
        next = m->next;
        free(m->task);
        free(m->name);
        free(m->value);
        free(m);
    }
    free(s->buckets);
    weft_plat_mutex_destroy(&s->lock);
}

static node **find(mem_state *s, const char *task, const uint8_t key[16]) {
    node **link = &s->buckets[bucket_of(s, task, key)];
    while (*link && (memcmp((*link)->key, key, 16) != 0 || strcmp((*link)->task, task) != 0))
        link = &(*link)->next;
    return link;
}

/* Keep chains short: double the table once it holds twice as many entries as buckets.
 * Call with the lock held. */
static void grow(mem_state *s) {
    size_t n = 2 * s->n_buckets;
    node **b = calloc(n, sizeof *b), **old = s->buckets;
    if (!b) return; /* longer chains: slower, still right */
    size_t old_n = s->n_buckets;
    s->buckets = b;
    s->n_buckets = n;
    for (size_t i = 0; i < old_n; i++)
        for (node *x = old[i], *next; x; x = next) {
            next = x->next;
            node **head = &b[bucket_of(s, x->task, x->key)];
            x->next = *head;
            *head = x;
        }
    free(old);
}

static void *dup(const void *p, size_t n) {
    void *q = malloc(n ? n : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

static int mem_get(void *state, const char *task, const uint8_t key[16], weft_bytes *head,
                   weft_bytes *value, int64_t *last_access_ns) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    node *n = *find(s, task, key);
    int rc = WEFT_ENOTFOUND;
    if (n) {
        head->data = dup(n->head, n->head_size);
        value->data = dup(n->value, n->value_size);
        if (head->data && value->data) {
            head->size = n->head_size;
            value->size = n->value_size;
            *last_access_ns = n->last_access_ns;
            rc = 0;
        } else {
            free(head->data);
            free(value->data);
            head->data = value->data = NULL;
            rc = WEFT_ENOMEM;
        }
    }
    weft_plat_mutex_unlock(&s->lock);
    return rc;
}

static int mem_put(void *state, const char *task, const uint8_t key[16], const void *head,
                   size_t head_size, const void *value, size_t value_size, int fsync) {
    (void)fsync;
    mem_state *s = state;
    node *n = calloc(1, sizeof *n);
    if (!n) return WEFT_ENOMEM;
    n->task = dup(task, strlen(task) + 1);
    n->head = dup(head, head_size);
    n->value = dup(value, value_size);
    if (!n->task || !n->head || !n->value) {
        free_node(n);
        return WEFT_ENOMEM;
    }
    memcpy(n->key, key, 16);
    n->head_size = head_size;
    n->value_size = value_size;
    n->last_access_ns = weft_plat_wall_ns();
    weft_plat_mutex_lock(&s->lock);
    node **link = find(s, task, key);
    if (*link) { /* replace: the newer write wins */
        n->next = (*link)->next;
        free_node(*link);
    } else {
        n->next = NULL;
        s->n_nodes++;
    }
    *link = n;
    if (s->n_nodes > 2 * s->n_buckets) grow(s);
    weft_plat_mutex_unlock(&s->lock);
    return 0;
}

static int mem_remove(void *state, const char *task, const uint8_t key[16]) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    node **link = find(s, task, key), *n = *link;
    if (n) {
        *link = n->next;
        s->n_nodes--;
        free_node(n);
    }
    weft_plat_mutex_unlock(&s->lock);
    return n ? 0 : WEFT_ENOTFOUND;
}

static int mem_touch(void *state, const char *task, const uint8_t key[16], int64_t now_ns) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    node *n = *find(s, task, key);
    if (n) n->last_access_ns = now_ns;
    weft_plat_mutex_unlock(&s->lock);
    return n ? 0 : WEFT_ENOTFOUND;
}

/* Items are copied out first: the callback may remove entries. */
static int mem_list(void *state, const char *task, weft__store_list_fn fn, void *user) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    size_t n = 0;
    weft__store_item *items = malloc((s->n_nodes ? s->n_nodes : 1) * sizeof *items);
    char **names = malloc((s->n_nodes ? s->n_nodes : 1) * sizeof *names);
    int rc = items && names ? 0 : WEFT_ENOMEM;
    for (size_t b = 0; !rc && b < s->n_buckets; b++)
        for (node *x = s->buckets[b]; x && !rc; x = x->next) {
            if (task && strcmp(task, x->task) != 0) continue;
            names[n] = dup(x->task, strlen(x->task) + 1);
            if (!names[n]) {
                rc = WEFT_ENOMEM;
                break;
            }
            weft__store_item *it = &items[n++];
            memset(it, 0, sizeof *it);
            it->task = names[n - 1];
            memcpy(it->key, x->key, 16);
            it->size = (int64_t)(x->head_size + x->value_size);
            it->last_access_ns = x->last_access_ns;
        }
    weft_plat_mutex_unlock(&s->lock);
    for (size_t i = 0; !rc && i < n; i++) rc = fn(&items[i], user);
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(items);
    free(names);
    return rc;
}

static int mem_clear(void *state, const char *task) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    for (size_t b = 0; b < s->n_buckets; b++)
        for (node **link = &s->buckets[b]; *link;) {
            node *n = *link;
            if (task && strcmp(task, n->task) != 0) {
                link = &n->next;
                continue;
            }
            *link = n->next;
            s->n_nodes--;
            free_node(n);
        }
    weft_plat_mutex_unlock(&s->lock);
    return 0;
}

static meta *find_meta(mem_state *s, const char *task, const char *name) {
    for (meta *m = s->metas; m; m = m->next)
        if (strcmp(m->task, task) == 0 && strcmp(m->name, name) == 0) return m;
    return NULL;
}

static int mem_get_meta(void *state, const char *task, const char *name, char *buf, size_t size) {
    mem_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    meta *m = find_meta(s, task, name);
    if (m) snprintf(buf, size, "%s", m->value);
    weft_plat_mutex_unlock(&s->lock);
    return m ? 0 : WEFT_ENOTFOUND;
}

static int mem_put_meta(void *state, const char *task, const char *name, const char *value) {
    mem_state *s = state;
    char *v = dup(value, strlen(value) + 1);
    if (!v) return WEFT_ENOMEM;
    weft_plat_mutex_lock(&s->lock);
    meta *m = find_meta(s, task, name);
    int rc = 0;
    if (m) {
        free(m->value);
        m->value = v;
    } else if ((m = calloc(1, sizeof *m)) && (m->task = dup(task, strlen(task) + 1)) &&
               (m->name = dup(name, strlen(name) + 1))) {
        m->value = v;
        m->next = s->metas;
        s->metas = m;
    } else {
        if (m) free(m->task);
        free(m);
        free(v);
        rc = WEFT_ENOMEM;
    }
    weft_plat_mutex_unlock(&s->lock);
    return rc;
}

const weft_store weft__store_memory = {
    .version = WEFT_STORE_VERSION,
    .name = "memory",
    .state_size = sizeof(mem_state),
    .open = mem_open,
    .close = mem_close,
    .get = mem_get,
    .put = mem_put,
    .remove = mem_remove,
    .touch = mem_touch,
    .list = mem_list,
    .remove_temp = NULL,
    .clear = mem_clear,
    .get_meta = mem_get_meta,
    .put_meta = mem_put_meta,
};
