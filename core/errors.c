/* The error table's names and messages, and the calling thread's last error record. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *weft_error_name(int code) {
    switch (code) {
    case WEFT_OK: return "WEFT_OK";
#define WEFT__NAME(name, num, msg) \
    case num: return "WEFT_" #name;
        WEFT_ERROR_MAP(WEFT__NAME)
#undef WEFT__NAME
    default: return "WEFT_UNKNOWN";
    }
}

const char *weft_strerror(int code) {
    switch (code) {
    case WEFT_OK: return "success";
#define WEFT__MSG(name, num, msg) \
    case num: return msg;
        WEFT_ERROR_MAP(WEFT__MSG)
#undef WEFT__MSG
    default: return "unknown error";
    }
}

static _Thread_local weft_error last_error = {0, 0, -1, "", ""};

const weft_error *weft_last_error(void) { return &last_error; }

void weft__clear_error(void) {
    last_error.code = WEFT_OK;
    last_error.task_status = 0;
    last_error.task_index = -1;
    last_error.task_name[0] = '\0';
    last_error.message[0] = '\0';
}

int weft__set_error(int code, const char *fmt, ...) {
    weft__clear_error();
    last_error.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof last_error.message, fmt, ap);
    va_end(ap);
    return code;
}

int weft__set_task_error(const weft__failure *f, const char *task_name) {
    weft__clear_error();
    last_error.code = f->code;
    last_error.task_status = f->status;
    last_error.task_index = f->index;
    snprintf(last_error.task_name, sizeof last_error.task_name, "%s", task_name ? task_name : "");
    memcpy(last_error.message, f->message, sizeof last_error.message);
    return f->code;
}
