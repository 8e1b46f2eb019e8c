// What an operator's sqlite3 shell does to a database file, for tests that look at or tamper with
// MeterHub's storage behind its back: a plain connection of their own, opened per call.
#pragma once

#include <sqlite3.h>

#include <string>

#include <gtest/gtest.h>

namespace mh::testing {

// The first column of the first row as text; "<none>" without a row, "<null>" for NULL,
// "<error>" when the file cannot be opened or the SQL fails to prepare or run.
inline std::string SqliteQueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string text = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_ROW) {
        const unsigned char* value = sqlite3_column_text(statement, 0);
        text = value != nullptr ? reinterpret_cast<const char*>(value) : "<null>";
      } else if (rc == SQLITE_DONE) {
        text = "<none>";
      }
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return text;
}

// Runs `sql` (any number of statements); a failure is a test failure naming SQLite's error.
inline void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK) << path;
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "") << " in: " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
}

}  // namespace mh::testing
