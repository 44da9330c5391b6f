// Small JSON helpers, and Go's encoding/json error texts for a bad body.

export function isObj(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

// --- Go encoding/json error texts, for .dockerconfigjson validation (json.Unmarshal into map[string]interface{}) ---

function goQuoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const s = JSON.stringify(c);
  return `'${s.slice(1, -1)}'`;
}

/** Returns Go's json.Unmarshal(data, &map[string]interface{}{}) error text, or undefined. */
export function goJsonMapError(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  class E extends Error {}
  const fail = (msg: string): never => {
    throw new E(msg);
  };
  const eof = (): never => fail("unexpected end of JSON input");
  const ws = (): void => {
    while (i < n && " \t\r\n".includes(text[i]!)) i++;
  };
  const lit = (word: string): void => {
    for (let k = 0; k < word.length; k++) {
      if (i >= n) eof();
      if (text[i] !== word[k])
        fail(`invalid character ${goQuoteChar(text[i]!)} in literal ${word} (expecting ${goQuoteChar(word[k]!)})`);
      i++;
    }
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) eof();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < " ") fail(`invalid character ${goQuoteChar(c)} in string literal`);
      if (c === "\\") {
        i++;
        if (i >= n) eof();
        const e = text[i]!;
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= n) eof();
            if (!/[0-9a-fA-F]/.test(text[i + k]!))
              fail(`invalid character ${goQuoteChar(text[i + k]!)} in \\u hexadecimal character escape`);
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) fail(`invalid character ${goQuoteChar(e)} in string escape code`);
      }
      i++;
    }
  };
  const num = (): void => {
    if (text[i] === "-") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) fail(`invalid character ${goQuoteChar(text[i]!)} in numeric literal`);
    }
    if (text[i] === "0") i++;
    else while (i < n && /[0-9]/.test(text[i]!)) i++;
    if (text[i] === ".") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!))
        fail(`invalid character ${goQuoteChar(text[i]!)} after decimal point in numeric literal`);
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) fail(`invalid character ${goQuoteChar(text[i]!)} in exponent of numeric literal`);
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
  };
  const value = (): string => {
    ws();
    if (i >= n) eof();
    const c = text[i]!;
    if (c === "{") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "}") {
        i++;
        return "object";
      }
      for (;;) {
        ws();
        if (i >= n) eof();
        if (text[i] !== '"')
          fail(`invalid character ${goQuoteChar(text[i]!)} looking for beginning of object key string`);
        str();
        ws();
        if (i >= n) eof();
        if (text[i] !== ":") fail(`invalid character ${goQuoteChar(text[i]!)} after object key`);
        i++;
        value();
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return "object";
        }
        fail(`invalid character ${goQuoteChar(text[i]!)} after object key:value pair`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "]") {
        i++;
        return "array";
      }
      for (;;) {
        value();
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return "array";
        }
        fail(`invalid character ${goQuoteChar(text[i]!)} after array element`);
      }
    }
    if (c === '"') {
      str();
      return "string";
    }
    if (c === "t") {
      lit("true");
      return "bool";
    }
    if (c === "f") {
      lit("false");
      return "bool";
    }
    if (c === "n") {
      lit("null");
      return "null";
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      num();
      return "number";
    }
    return fail(`invalid character ${goQuoteChar(c)} looking for beginning of value`);
  };
  try {
    const t = value();
    ws();
    if (i < n) fail(`invalid character ${goQuoteChar(text[i]!)} after top-level value`);
    if (t !== "object" && t !== "null")
      return `json: cannot unmarshal ${t} into Go value of type map[string]interface {}`;
    return undefined;
  } catch (e) {
    if (e instanceof E) return e.message;
    throw e;
  }
}
