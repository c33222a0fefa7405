import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeHtml, jsonForScript, scriptForInline } from "./index.js";

describe("escapeHtml", () => {
  it("escapes the five HTML-special characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
  it("leaves no raw special character for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(escapeHtml(s)).not.toMatch(/[<>"']/);
        // every & starts one of the entities
        expect(escapeHtml(s).replace(/&(amp|lt|gt|quot|#39);/g, "")).not.toContain("&");
      }),
    );
  });
});

describe("jsonForScript", () => {
  it("round-trips through JSON.parse and never contains <, > or &", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = jsonForScript(v);
        expect(s).not.toMatch(/[<>&\u2028\u2029]/);
        expect(JSON.parse(s)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
    expect(jsonForScript({ a: "</script><!--" })).toBe('{"a":"\\u003c/script\\u003e\\u003c!--"}');
  });
});

describe("scriptForInline", () => {
  it("hides </script and <!-- without changing what string and regex literals mean", () => {
    const code = `var a = "</script>"; var b = /<\\/SCRIPT>/u.test("</SCRIPT>"); var c = '<!--'; r = [a, b, c];`;
    const safe = scriptForInline(code);
    expect(safe).not.toMatch(/<\/script|<!--/i);
    const run = (src: string) => new Function(`let r; ${src} return r;`)() as unknown[];
    expect(run(safe)).toEqual(run(code));
    expect(run(safe)).toEqual(["</script>", true, "<!--"]);
  });
});
