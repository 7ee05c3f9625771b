// The administration pages' pure logic: diffs, problems on lines, prompt names, the printed
// credentials sheet (escaped), CSV quoting, and which tab an /admin path shows.

import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api/client";
import type { Credentials } from "../src/components/admin/adminApi";
import {
  credentialsCsv,
  credentialsSheet,
  diffStats,
  draftProblems,
  escapeHtml,
  formatBytes,
  importProblems,
  isPromptName,
  isStale,
  lineOffset,
  parseDiff,
  problemsByLine,
  promptNameFor,
} from "../src/components/admin/logic";
import { adminTab } from "../src/pages/AdminPage";

const DIFF = `--- city version 1
+++ city draft
@@ -5,4 +5,5 @@
   menu:
-    options: {"1": medical}
+    options: {"1": medical, "2": info}
+  info:
     fallback: medical
`;

describe("parseDiff", () => {
  it("numbers each side from the hunk header and keeps the text without its sign", () => {
    const lines = parseDiff(DIFF);
    expect(lines.map((l) => [l.kind, l.oldLine, l.newLine])).toEqual([
      ["file", null, null],
      ["file", null, null],
      ["hunk", null, null],
      ["same", 5, 5],
      ["del", 6, null],
      ["add", null, 6],
      ["add", null, 7],
      ["same", 7, 8],
    ]);
    expect(lines[5]?.text).toBe('    options: {"1": medical, "2": info}');
    expect(diffStats(lines)).toEqual({ added: 2, removed: 1 });
  });

  it("gives nothing for no differences", () => {
    expect(parseDiff("")).toEqual([]);
  });
});

describe("problems", () => {
  const problems = [
    { line: 3, path: "steps.a", message: "one" },
    { line: 3, path: "steps.b", message: "two" },
    { line: null, path: "queues", message: "no line" },
    { line: 9, path: "start", message: "three" },
  ];

  it("are grouped by line, leaving out those about no line", () => {
    const byLine = problemsByLine(problems);
    expect([...byLine.keys()]).toEqual([3, 9]);
    expect(byLine.get(3)?.map((p) => p.message)).toEqual(["one", "two"]);
  });

  it("are found where a line starts", () => {
    const text = "a\nbb\nccc\n";
    expect([1, 2, 3, 4].map((n) => lineOffset(text, n))).toEqual([0, 2, 5, 9]);
    expect(lineOffset(text, 99)).toBe(text.length);
  });

  it("come out of a refused publish, and a stale base is told apart", () => {
    const refused = new ApiError(422, "invalid_configuration", "bad", {
      problems: [{ file: "city.yaml", line: 12, path: "steps.x.queue", message: "unknown queue" }],
    });
    expect(draftProblems(refused)).toEqual([{ line: 12, path: "steps.x.queue", message: "unknown queue" }]);
    expect(draftProblems(new ApiError(409, "stale_version", "stale"))).toBeNull();
    expect(isStale(new ApiError(409, "stale_version", "stale"))).toBe(true);
    expect(isStale(new ApiError(409, "conflict", "other"))).toBe(false);
  });

  it("of an import come by row, and other invalid input is not taken for them", () => {
    const rows = new ApiError(422, "invalid_input", "2 problems", {
      problems: [{ loc: ["csv", 3, "skills"], row: 3, field: "skills", message: "no skill 'x'" }],
    });
    expect(importProblems(rows)).toEqual([
      { loc: ["csv", 3, "skills"], row: 3, field: "skills", message: "no skill 'x'" },
    ]);
    const fields = new ApiError(422, "invalid_input", "bad", { problems: [{ loc: ["body", "csv"], message: "x" }] });
    expect(importProblems(fields)).toBeNull();
  });
});

describe("prompt names", () => {
  it("are what a flow can name", () => {
    expect(["greeting", "menu-2", "a_b", "0night"].every(isPromptName)).toBe(true);
    expect(["", "Greeting", "-x", "a b", "a.wav", "x".repeat(65)].some(isPromptName)).toBe(false);
  });

  it("are suggested from a file's name", () => {
    expect(promptNameFor("Greeting Final.MP3")).toBe("greeting-final");
    expect(promptNameFor("__Ночь 2.wav")).toBe("2");
    expect(isPromptName(promptNameFor("Меню (new).ogg"))).toBe(true);
  });

  it("have sizes people read", () => {
    expect([980, 12_345, 4_100_000].map(formatBytes)).toEqual(["980 B", "12.3 KB", "4.1 MB"]);
  });
});

describe("the credentials sheet", () => {
  const created: Credentials[] = [
    { username: "vol01", name: "<script>alert(1)</script>", roles: ["agent"], password: "p&ss", sip_password: "s1p" },
    { username: "sv01", name: 'Olga "O" Lebedeva, senior', roles: ["supervisor"], password: "x", sip_password: null },
  ];
  const labels = {
    title: "First <sign-in>",
    intro: "Keep it",
    username: "Username",
    name: "Name",
    roles: "Roles",
    password: "Password",
    sipPassword: "SIP password",
  };

  it("prints every value escaped, a card per user", () => {
    const sheet = credentialsSheet(created, labels, "en");
    expect(sheet).not.toContain("<script>");
    expect(sheet).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(sheet).toContain("p&amp;ss");
    expect(sheet).toContain("<title>First &lt;sign-in&gt;</title>");
    expect(sheet.match(/class="card"/g)).toHaveLength(2);
    expect(sheet.match(/SIP password/g)).toHaveLength(1);
    expect(escapeHtml(`'"`)).toBe("&#39;&quot;");
  });

  it("saves as CSV with cells quoted where they must be", () => {
    expect(credentialsCsv(created)).toBe(
      "username,name,roles,password,sip_password\r\n" +
        "vol01,<script>alert(1)</script>,agent,p&ss,s1p\r\n" +
        'sv01,"Olga ""O"" Lebedeva, senior",supervisor,x,\r\n',
    );
  });
});

describe("adminTab", () => {
  it("reads the tab from the path, the first for /admin itself or an unknown one", () => {
    expect(adminTab("/admin")).toBe("flows");
    expect(adminTab("/admin/users")).toBe("users");
    expect(adminTab("/admin/config")).toBe("config");
    expect(adminTab("/admin/nothing")).toBe("flows");
  });
});
