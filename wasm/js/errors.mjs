// WeftError: a failure reported by the C side, with the task's index and message.
// Codes come from the module's own error table (weft_js_info), never from a JS copy.

export class WeftError extends Error {
  /**
   * @param {string} message  the task's message, or weft's explanation
   * @param {{code: string, errno: number, index: number, task?: string, status?: number}} f
   */
  constructor(message, { code, errno, index, task = '', status = 0 }) {
    super(message);
    this.name = 'WeftError';
    this.code = code;     // 'WEFT_ETASK', ...
    this.errno = errno;   // the C code, negative
    this.index = index;   // the failing item's index in the whole call, or -1
    this.task = task;
    this.status = status; // what the task returned
  }

  /** Plain data, to cross a worker boundary (Error subclasses lose their fields). */
  toJSON() {
    const { message, code, errno, index, task, status } = this;
    return { message, code, errno, index, task, status };
  }

  static fromJSON(j) {
    return new WeftError(j.message, j);
  }
}
