// Which store errors are "the database is not there right now" (a 503 the caller retries) and which
// are a fault of the server (a 500 with a request id to quote).

import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreUnavailable } from "./db.js";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test("connection failures, PostgreSQL shutting down and SQLite's lasting lock are the store being unavailable", () => {
  for (const err of [
    withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
    withCode("terminating connection due to administrator command", "57P01"),
    withCode("the database system is starting up", "57P03"),
    withCode("sorry, too many clients already", "53300"),
    withCode("connection failure", "08006"),
    withCode("database is locked", "SQLITE_BUSY"),
    new Error("Connection terminated unexpectedly"),
    new Error("timeout exceeded when trying to connect"),
  ]) {
    assert.equal(isStoreUnavailable(err), true, err.message);
  }
});

test("a wrong query, a broken constraint or anything else is not", () => {
  for (const err of [
    withCode('relation "vms" does not exist', "42P01"),
    withCode("duplicate key value violates unique constraint", "23505"),
    withCode("UNIQUE constraint failed: vms.id", "SQLITE_CONSTRAINT_PRIMARYKEY"),
    new TypeError("Cannot read properties of undefined"),
    "a string thrown",
  ]) {
    assert.equal(isStoreUnavailable(err), false, String(err));
  }
});
