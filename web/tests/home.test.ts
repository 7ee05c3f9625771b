import { describe, expect, it } from "vitest";
import type { Me, Role } from "../src/api/types";
import { answersContacts, homePath } from "../src/lib/home";

function me(roles: Role[], mustChange = false): Me {
  return {
    user: { id: "u1", username: "u", name: "U", roles, department: null, must_change_password: mustChange, language: "en" },
    csrf_token: "t",
  };
}

describe("homePath", () => {
  it("takes agents and department specialists to the agent desktop", () => {
    expect(homePath(me(["agent"]))).toBe("/agent");
    expect(homePath(me(["department_specialist"]))).toBe("/agent");
  });

  it("takes the other roles to their own pages", () => {
    expect(homePath(me(["supervisor"]))).toBe("/wallboard");
    expect(homePath(me(["admin"]))).toBe("/admin");
    expect(homePath(me(["field_worker"]))).toBe("/field");
    expect(homePath(me([]))).toBe("/");
  });

  it("sends whoever must choose a new password there first", () => {
    expect(homePath(me(["department_specialist"], true))).toBe("/password");
  });
});

describe("answersContacts", () => {
  it("is true for agents and department specialists only", () => {
    expect(answersContacts(["department_specialist"])).toBe(true);
    expect(answersContacts(["agent", "supervisor"])).toBe(true);
    expect(answersContacts(["supervisor", "admin", "field_worker"])).toBe(false);
  });
});
