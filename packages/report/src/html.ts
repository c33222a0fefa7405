// Escaping for the three places text goes in the report: HTML text and attributes, JSON inside
// a <script> element, and code inlined into a <script> element.

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` become \u
 * escapes so no `</script>` or `<!--` can end or confuse the element, and U+2028/U+2029 are
 * escaped too. JSON.parse gives back the original value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Makes JavaScript source safe to inline in a `<script>` element: the HTML parser ends a script
 * at `</script` and treats `<!--` specially, so the `<` of both becomes `\x3C`. That escape means
 * the same `<` inside string, template and regular-expression literals (the only places such
 * text occurs in real code), unicode-mode regular expressions included.
 */
export function scriptForInline(code: string): string {
  return code.replace(/<(\/script|!--)/gi, "\\x3C$1");
}
